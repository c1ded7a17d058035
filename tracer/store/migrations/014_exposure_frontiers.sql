-- The wallets each actor's exposure search expanded (its frontiers, hops 1 .. hops-1; its seeds are in
-- exposure_seeds): an incremental refresh searches an actor again when one of these changed its flows.
-- Derived data, rebuilt by a full refresh.
CREATE TABLE exposure_frontiers (
    chain      text   NOT NULL,
    tenant     text   NOT NULL,
    actor_key  text   NOT NULL,
    wallet     bigint NOT NULL,
    PRIMARY KEY (chain, tenant, actor_key, wallet)
);
CREATE INDEX exposure_frontiers_wallet ON exposure_frontiers (wallet);

-- Refreshes made before this table existed stored no frontiers: the next refresh of every chain is full.
DELETE FROM exposure_state;
