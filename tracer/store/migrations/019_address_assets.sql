-- Per address and asset on account chains (Ethereum, TRON): what screening reports as an address's
-- activity per asset (native coin, ERC-20/TRC-20 contracts, TRC-10 assets), maintained with address_stats
-- by the exposure refresh (tracer.store.flows). asset_id 0 is the native coin, else tokens.id.
CREATE TABLE address_assets (
    address_id     bigint        NOT NULL,
    chain          text          NOT NULL,
    asset_id       bigint        NOT NULL,
    received       numeric(78,0) NOT NULL,
    sent           numeric(78,0) NOT NULL,
    transfers_in   integer       NOT NULL,
    transfers_out  integer       NOT NULL,
    PRIMARY KEY (address_id, asset_id)
);
CREATE INDEX address_assets_chain ON address_assets (chain);
