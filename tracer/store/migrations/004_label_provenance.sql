-- Every label source is a named list with its provenance: what a screening reason calls it (title),
-- as of when the list says it is, and its licence. Sources are keyed by (tenant, name); an import
-- replaces only its own source (tracer.labels.guard).

ALTER TABLE label_sources
    ADD COLUMN title    text,
    ADD COLUMN as_of    date,
    ADD COLUMN licence  text;
UPDATE label_sources SET title = name;
ALTER TABLE label_sources ALTER COLUMN title SET NOT NULL;

-- Replacing or deleting one source touches only its rows.
CREATE INDEX labels_source ON labels (source_id);
