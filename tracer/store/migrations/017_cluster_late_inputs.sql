-- Inputs resolved after the transaction that spends them was written (the spent output was indexed later:
-- parallel workers, blocks indexed out of order). The clustering job reads this queue so that an
-- incremental run re-decides those transactions and adds the values to its aggregates without --full; it
-- deletes what it consumed in the same transaction. Rows cascade with their transaction (reorgs).
CREATE TABLE cluster_late_inputs (
    chain  text    NOT NULL,
    tx_id  bigint  NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    vin    integer NOT NULL,
    PRIMARY KEY (chain, tx_id, vin)
);
