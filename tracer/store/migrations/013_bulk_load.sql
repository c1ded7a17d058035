-- The first pass over a long range writes without per-row foreign-key checks and without the secondary
-- indexes on address ids, and builds them once at the end (tracer.store.bulkload). What was dropped is
-- recorded here in the same transaction as the drop, so a process killed -9 at any moment leaves either
-- the full schema or these rows, from which the next run rebuilds it exactly.
CREATE TABLE bulk_load_dropped (
    name        text        PRIMARY KEY,  -- the index or constraint name
    table_name  text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('index', 'constraint')),
    definition  text        NOT NULL,     -- pg_get_indexdef / pg_get_constraintdef, replayed as is
    dropped_at  timestamptz NOT NULL DEFAULT now()
);
