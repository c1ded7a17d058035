-- A reorg deletes its blocks' transactions (tracer.store.chaindata.delete_blocks). Each deleted transaction
-- fires the ON DELETE CASCADE of every table that references it, one lookup per table and transaction: a
-- referencing column without an index makes each lookup a sequential scan. Measured on a clustered chain
-- of 1M transactions (410,199 merge_evidence rows), deleting its top block (1,999 transactions): 290.8 s,
-- 290.2 s of it merge_evidence's cascade by tx_id; with these indexes 0.13 s (EXPLAIN ANALYZE, load 6).
CREATE INDEX merge_evidence_tx ON merge_evidence (tx_id);
CREATE INDEX refused_merges_tx ON refused_merges (tx_id);
CREATE INDEX refused_merges_block ON refused_merges (chain, block_height);
CREATE INDEX cluster_late_inputs_tx ON cluster_late_inputs (tx_id);
