-- A txid can occur in more than one block. Bitcoin mainnet has two pairs of identical coinbases from before
-- BIP34 put the height in the coinbase: block 91,812's d5d27987...d88599 again in block 91,842, and block
-- 91,722's e3bf3d07...585fb468 again in block 91,880 (Bitcoin Core, src/validation.cpp: ConnectBlock's
-- fEnforceBIP30 exempts exactly those two blocks, IsBIP30Repeat in later versions). Both blocks are
-- complete with their coinbase, so the key on (chain, txid) made the chain unindexable at block 91,842.
--
-- The key is now (chain, txid, block_height): one transaction per txid and block, still a unique key (a
-- block written twice fails as before), and its (chain, txid) prefix serves every lookup by txid as the old
-- one did. Inputs and outputs stay keyed by the transaction's row id, so each block keeps its own coinbase
-- and its outputs, and a reorg deleting one block's rows leaves the other's intact. A spend names only
-- (txid, vout): both copies' outputs are identical (same txid, same serialization), so an input resolves to
-- the same address and value whichever it matches; reads that pick one transaction by txid take the latest
-- (Core's coinbase overwrite in its UTXO set: AddCoins overwrites the earlier, unspent one).
ALTER TABLE transactions DROP CONSTRAINT IF EXISTS transactions_chain_txid_key;
-- A killed first pass may have recorded the old key as deferred: the new one replaces it.
DELETE FROM bulk_load_dropped WHERE table_name = 'transactions' AND name = 'transactions_chain_txid_key';
ALTER TABLE transactions ADD CONSTRAINT transactions_chain_txid_height_key UNIQUE (chain, txid, block_height);
