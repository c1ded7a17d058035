-- wallet_labels is derived data that the exposure refresh brings up to date by difference
-- (tracer/store/exposure_labels.py). Its foreign key to labels cost a trigger call per row written
-- (measured on the bundled lists: 221 ms of the 530 ms writing their 67,584 Bitcoin rows) and, through
-- ON DELETE CASCADE, a trigger call and an index probe per label a re-import deleted. Its readers join
-- labels, so rows of a deleted label are never seen; the next refresh deletes them in one statement.
ALTER TABLE wallet_labels DROP CONSTRAINT IF EXISTS wallet_labels_label_id_fkey;
DROP INDEX IF EXISTS wallet_labels_label;  -- served only that cascade (010_actors.sql)
-- Read only by whole-chain scans, which take most of the table (one chain holds most labels): a sequential
-- scan either way, and one index fewer to write per row.
DROP INDEX IF EXISTS wallet_labels_chain;
