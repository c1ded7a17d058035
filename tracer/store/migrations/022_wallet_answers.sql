-- Each wallet's screening answer parts, built by the exposure refresh (tracer/store/wallet_answers.py) from
-- the rows screening would otherwise read and assemble per request: the labels, counterparties, exposure
-- and risk reasons as JSON, with the screened address left as a placeholder. One row serves every member
-- of the wallet without a label of its own (address_id 0), one more each labelled member (its labels are
-- 'self', the others 'cluster'). A screening reads one row and passes the JSON through.
CREATE TABLE wallet_answers (
    wallet          bigint  NOT NULL,   -- wallet ids are address ids: unique across chains
    address_id      bigint  NOT NULL,   -- 0: any member without a label of its own
    chain           text    NOT NULL,
    score           integer NOT NULL,
    level           text    NOT NULL,
    labels          bytea   NOT NULL,
    counterparties  bytea   NOT NULL,
    exposure        bytea   NOT NULL,
    reasons         bytea   NOT NULL,
    PRIMARY KEY (wallet, address_id)
);
CREATE INDEX wallet_answers_chain ON wallet_answers (chain);

-- What the answer parts show of each actor (its labels, their sources' titles, its actor records) and of
-- each token (contract, symbol, decimals), as digests: a refresh rebuilds the parts of wallets exposed to
-- an actor or token whose digest changed, even when its exposure rows did not.
CREATE TABLE answer_digests (
    chain      text   NOT NULL,
    tenant     text   NOT NULL,   -- '' for a token
    actor_key  text   NOT NULL,   -- '' for a token
    asset_id   bigint NOT NULL,   -- -1 for an actor
    digest     text   NOT NULL,
    PRIMARY KEY (chain, tenant, actor_key, asset_id)
);

-- The chains whose parts a full refresh built: until then screening answers the reference way. Existing
-- databases get theirs at their next refresh, made a full one here.
CREATE TABLE answer_chains (chain text PRIMARY KEY);
DELETE FROM exposure_state;
