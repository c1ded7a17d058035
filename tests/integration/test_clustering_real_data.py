"""Common-input clustering on real blocks: what merges, what is vetoed, and the evidence for each merge.

Real cases used:
- f1b00d5c... (block 277647): an ordinary payment spending outputs of 44 distinct addresses.
- 1d0beced... (block 757753, raito file full_757752): a Samourai Whirlpool 0.05 BTC mix, 5 inputs / 5 outputs.
- 8d34c368... (block 574200): a 2-input batch payout with 40 equal 10 BTC outputs: not a CoinJoin.
"""

from __future__ import annotations

import asyncpg

from tracer.jobs.cluster import ClusterOptions, run_clustering

ORDINARY_MULTI_INPUT = "f1b00d5cc08e9804d8312cd736a7b3057ebbaae84e785617ddb34317f1fb0ae6"
WHIRLPOOL_MIX = "1d0becedc76680493f098504dd24139a546228c15b13430d7b9128e648180535"
BATCH_PAYOUT_PREFIX = "8d34c368"


async def input_clusters(pool: asyncpg.Pool, txid: str) -> list[int]:
    rows = await pool.fetch(
        """SELECT DISTINCT COALESCE(ac.cluster_id, i.address_id) AS cluster
           FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
           LEFT JOIN address_clusters ac ON ac.address_id = i.address_id
           WHERE t.txid = decode($1, 'hex') AND i.address_id IS NOT NULL""",
        txid,
    )
    return [r["cluster"] for r in rows]


async def test_ordinary_multi_input_tx_merges_all_its_input_addresses(loaded_pool: asyncpg.Pool) -> None:
    assert len(await input_clusters(loaded_pool, ORDINARY_MULTI_INPUT)) == 1
    evidence = await loaded_pool.fetchrow(
        """SELECT e.heuristic, e.confidence, cardinality(e.address_ids) AS n, e.block_height, e.conditions
           FROM merge_evidence e JOIN transactions t ON t.id = e.tx_id WHERE t.txid = decode($1, 'hex')""",
        ORDINARY_MULTI_INPUT,
    )
    assert evidence is not None
    assert (evidence["heuristic"], evidence["confidence"], evidence["n"], evidence["block_height"]) == (
        "common_input", "high", 44, 277647,
    )  # fmt: skip
    assert any("44" in condition for condition in evidence["conditions"])


async def test_whirlpool_coinjoin_is_vetoed_and_does_not_merge(loaded_pool: asyncpg.Pool) -> None:
    veto = await loaded_pool.fetchrow(
        """SELECT v.reason, v.detail FROM heuristic_vetoes v JOIN transactions t ON t.id = v.tx_id
           WHERE t.txid = decode($1, 'hex')""",
        WHIRLPOOL_MIX,
    )
    assert veto is not None
    assert veto["reason"] == "coinjoin_whirlpool"
    assert "5000000" in veto["detail"]
    merged_by_mix = await loaded_pool.fetchval(
        """SELECT count(*) FROM merge_evidence e JOIN transactions t ON t.id = e.tx_id
           WHERE t.txid = decode($1, 'hex')""",
        WHIRLPOOL_MIX,
    )
    assert merged_by_mix == 0
    assert len(await input_clusters(loaded_pool, WHIRLPOOL_MIX)) == 5  # five participants stay apart


async def test_batch_payout_with_many_equal_outputs_is_not_mistaken_for_a_coinjoin(
    loaded_pool: asyncpg.Pool,
) -> None:
    row = await loaded_pool.fetchrow(
        """SELECT encode(t.txid, 'hex') AS txid,
                  EXISTS (SELECT 1 FROM merge_evidence e WHERE e.tx_id = t.id) AS merged,
                  EXISTS (SELECT 1 FROM heuristic_vetoes v WHERE v.tx_id = t.id) AS vetoed
           FROM transactions t WHERE encode(t.txid, 'hex') LIKE $1 || '%'""",
        BATCH_PAYOUT_PREFIX,
    )
    assert row is not None
    assert (row["merged"], row["vetoed"]) == (True, False)


async def test_every_clustered_address_is_explained_by_stored_evidence(loaded_pool: asyncpg.Pool) -> None:
    unexplained = await loaded_pool.fetchval(
        """SELECT count(*) FROM address_clusters ac
           WHERE NOT EXISTS (SELECT 1 FROM merge_evidence e JOIN address_clusters anchor
                             ON anchor.address_id = e.anchor_id AND anchor.cluster_id = ac.cluster_id
                             WHERE e.address_ids @> ARRAY[ac.address_id])"""
    )
    assert unexplained == 0


async def test_cluster_id_is_the_smallest_member_and_size_is_exact(loaded_pool: asyncpg.Pool) -> None:
    wrong = await loaded_pool.fetchval(
        """SELECT count(*) FROM clusters c
           JOIN (SELECT cluster_id, min(address_id) AS low, count(*) AS n FROM address_clusters GROUP BY 1) m
             ON m.cluster_id = c.id
           WHERE m.low <> c.id OR m.n <> c.size"""
    )
    assert wrong == 0


async def test_clustering_again_is_idempotent(loaded_pool: asyncpg.Pool) -> None:
    before = await loaded_pool.fetch("SELECT address_id, cluster_id FROM address_clusters ORDER BY 1")
    evidence_before = await loaded_pool.fetchval("SELECT count(*) FROM merge_evidence")
    again = await run_clustering(loaded_pool)  # nothing new indexed: an incremental run with nothing to do
    assert (again.mode, again.txs_examined, again.merges) == ("incremental", 0, 0)
    full = await run_clustering(loaded_pool, options=ClusterOptions(full=True))
    after = await loaded_pool.fetch("SELECT address_id, cluster_id FROM address_clusters ORDER BY 1")
    assert before == after
    assert full.merges == evidence_before == await loaded_pool.fetchval("SELECT count(*) FROM merge_evidence")
    assert (full.mode, full.vetoes, full.largest_cluster) == ("full", 1, 3804)


async def test_cluster_aggregates_match_the_members_history(loaded_pool: asyncpg.Pool) -> None:
    """The precomputed summary of the largest cluster that received in the indexed blocks equals what its
    members' transactions add up to (spends whose spent output is not indexed carry no value)."""
    from tracer.store.views import cluster_summary

    cid = await loaded_pool.fetchval(
        """SELECT c.id FROM clusters c WHERE EXISTS (SELECT 1 FROM address_clusters ac JOIN tx_outputs o
           ON o.address_id = ac.address_id WHERE ac.cluster_id = c.id) ORDER BY c.size DESC, c.id LIMIT 1"""
    )
    direct = await loaded_pool.fetchrow(
        """WITH m AS (SELECT address_id FROM address_clusters WHERE cluster_id = $1)
           SELECT (SELECT sum(o.value) FROM tx_outputs o JOIN m USING (address_id)) AS received,
                  (SELECT COALESCE(sum(i.value), 0) FROM tx_inputs i JOIN m USING (address_id)) AS sent,
                  (SELECT min(t.block_height) FROM transactions t WHERE t.id IN (
                      SELECT tx_id FROM tx_outputs JOIN m USING (address_id)
                      UNION SELECT tx_id FROM tx_inputs JOIN m USING (address_id))) AS first_height,
                  (SELECT count(*) FROM m) AS size""",
        cid,
    )
    async with loaded_pool.acquire() as conn:
        summary = await cluster_summary(conn, cid)
    assert summary is not None and summary.size == direct["size"]
    (native,) = summary.assets
    assert (native.asset, native.received, native.sent) == ("", direct["received"], direct["sent"])
    assert summary.first_height == direct["first_height"]
    assert summary.last_height is not None and summary.last_height >= direct["first_height"]
