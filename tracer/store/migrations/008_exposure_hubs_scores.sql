-- How many wallets each wallet exchanged value with, so the exposure search can leave hubs (unlabelled
-- services, through which everyone is two hops from everyone) unexpanded. Rebuilt with wallet_totals.
ALTER TABLE wallet_totals
    ADD COLUMN senders    integer NOT NULL DEFAULT 0,   -- wallets that paid it
    ADD COLUMN receivers  integer NOT NULL DEFAULT 0;   -- wallets it paid

-- Each exposure's score under the risk rules (tracer/risk/rules.toml) when it was computed, so screening
-- reads a wallet's riskiest exposures first and a bounded number of them.
ALTER TABLE wallet_exposure ADD COLUMN score integer NOT NULL DEFAULT 0;
