-- Migration 024 changed addresses.address's collation. PostgreSQL drops a column's statistics when its type
-- or collation changes, and autovacuum analyses a table only after rows change, so on a database migrated
-- with rows in it the planner had no statistics for address: it took an address lookup on the (chain,
-- address) key for 0.5 % of the table (13,937 rows on the 1M-tx bench chain), planned a parallel hash join
-- over address_clusters, and every screening read took ~35 ms instead of < 1 ms. Fresh databases were not
-- affected (their statistics come with their first rows).
ANALYZE addresses;
