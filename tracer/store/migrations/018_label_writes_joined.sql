-- A label import's INSERT (tracer.store.labels.write_labels) takes every key from its own joins: address ids
-- from addresses, source ids of sources upserted (and so locked) in the same transaction. The statement-level
-- check of 015 probed addresses and label_sources again for every row it wrote (measured: ~0.2 s of the
-- 79,281-label import). That INSERT now says so, for itself only (tracer.label_keys = 'joined', set just
-- before it and cleared just after), and is not checked again; every other write to labels still is.

CREATE OR REPLACE FUNCTION labels_check_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('tracer.label_keys', true) = 'joined' THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM written w WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE a.id = w.address_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'a label names an address id that does not exist',
            TABLE = 'labels', CONSTRAINT = 'labels_address_id_fkey';
    END IF;
    IF EXISTS (SELECT 1 FROM written w
               WHERE NOT EXISTS (SELECT 1 FROM label_sources s WHERE s.id = w.source_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'a label names a label source that does not exist',
            TABLE = 'labels', CONSTRAINT = 'labels_source_id_fkey';
    END IF;
    RETURN NULL;
END $$;

-- An actor record lives as long as the source that describes it (actors.source_id): deleting the source
-- (`tracer labels delete`, or another import's --replace) deletes its actors instead of leaving them
-- without provenance. Labels of other sources that linked to them keep the actor's key and name, and link
-- again when a source describes the actor again. Row-level and BEFORE: the foreign key's ON DELETE SET
-- NULL would otherwise clear actors.source_id before a statement-level trigger could read it.
CREATE FUNCTION label_sources_delete_actors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM actors WHERE source_id = OLD.id;
    RETURN OLD;
END $$;

CREATE TRIGGER label_sources_deleting BEFORE DELETE ON label_sources
    FOR EACH ROW EXECUTE FUNCTION label_sources_delete_actors();
