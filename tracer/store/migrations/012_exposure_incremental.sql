-- Incremental exposure refresh (tracer/store/exposure_refresh.py): what the last refresh of each chain saw,
-- so the next one recomputes only what changed since. Everything here is derived data: a full refresh
-- (`refresh_exposure(..., full=True)`) rebuilds it.

-- Where the last refresh of a chain stood: blocks above last_height are new; another block at last_height
-- (a reorg), other bounds, or input values resolved since (pending_inputs changed) mean a full rebuild.
CREATE TABLE exposure_state (
    chain           text        PRIMARY KEY,
    parameters      jsonb       NOT NULL,
    last_height     integer     NOT NULL,   -- -1: no blocks yet
    last_hash       bytea,
    pending_inputs  bigint      NOT NULL,   -- inputs of value unknown at heights <= last_height
    refreshed_at    timestamptz NOT NULL DEFAULT now()
);

-- Each clustered address's wallet as the last refresh saw it: a clustering run's regrouped wallets are
-- the difference with address_clusters.
CREATE TABLE exposure_wallets (
    address_id  bigint PRIMARY KEY,
    chain       text   NOT NULL,
    wallet      bigint NOT NULL
);
CREATE INDEX exposure_wallets_chain ON exposure_wallets (chain);

-- Each actor's wallets and weight as searched (tracer/store/exposure_search.py): actors whose seeds differ
-- next time are searched again.
CREATE TABLE exposure_seeds (
    chain      text   NOT NULL,
    tenant     text   NOT NULL,
    actor_key  text   NOT NULL,
    wallet     bigint NOT NULL,
    weight     real   NOT NULL,
    PRIMARY KEY (chain, tenant, actor_key, wallet)
);
CREATE INDEX exposure_seeds_wallet ON exposure_seeds (wallet);

-- Actors whose search a bound cut short (exposure_runs.truncated is whether any did).
CREATE TABLE exposure_cuts (
    chain      text NOT NULL,
    tenant     text NOT NULL,
    actor_key  text NOT NULL,
    PRIMARY KEY (chain, tenant, actor_key)
);

-- An actor's rows are replaced together when it is searched again.
CREATE INDEX wallet_exposure_actor ON wallet_exposure (chain, tenant, actor_key);

ALTER TABLE exposure_runs
    ADD COLUMN mode    text   NOT NULL DEFAULT 'full' CHECK (mode IN ('full', 'incremental')),
    ADD COLUMN actors  bigint;   -- actors searched (NULL: before this column)
