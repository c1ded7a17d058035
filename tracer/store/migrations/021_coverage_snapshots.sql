-- What a screening answer covered, by id (tracer/store/coverage.py): the label sources with their dates and
-- the exposure run's parameters, stored once per distinct content (the id is its hash) so every answer can
-- carry a short reference instead of the whole block, and an old answer's id still resolves.
CREATE TABLE coverage_snapshots (
    id text PRIMARY KEY,
    body json NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now()
);
