-- Height ranges shared by several indexer workers on one database (tracer index --workers N / --shared).
-- A worker takes a free or expired range with FOR UPDATE SKIP LOCKED, moves next_height in the same
-- transaction as the rows it writes (only while it still owns the lease), and renews expires_at as it goes;
-- a worker killed -9 stops renewing, and another takes its range over from next_height.
CREATE TABLE index_leases (
    chain         text        NOT NULL,
    source        text        NOT NULL,
    chunk         integer     NOT NULL,  -- first_height / range size: ranges of every job line up
    first_height  integer     NOT NULL,
    last_height   integer     NOT NULL,
    next_height   integer     NOT NULL,
    owner         text,                  -- the worker holding the lease; NULL when free
    expires_at    timestamptz,
    PRIMARY KEY (chain, source, chunk),
    CHECK (first_height <= last_height)
);
CREATE INDEX index_leases_open ON index_leases (chain, source, chunk) WHERE next_height <= last_height;
