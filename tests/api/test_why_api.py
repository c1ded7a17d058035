"""``GET /v1/why/{chain}/{a}/{b}`` and ``tracer why`` on the bundled real blocks: the path of merges that
links two members of the largest common-input cluster (3,804 addresses, block 277647 and neighbours)."""

from __future__ import annotations

import itertools

import aiohttp
import asyncpg
import pytest

UNKNOWN = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # valid (BIP173 vector), in no block


async def far_apart(pool: asyncpg.Pool) -> tuple[str, str, int]:
    """The smallest and the largest member of the largest cluster, and the cluster id."""
    row = await pool.fetchrow(
        """SELECT c.id, (SELECT address FROM addresses WHERE id = c.id) AS a,
                  (SELECT a.address FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
                   WHERE ac.cluster_id = c.id ORDER BY ac.address_id DESC LIMIT 1) AS b
           FROM clusters c ORDER BY c.size DESC LIMIT 1"""
    )
    assert row is not None
    return row["a"], row["b"], row["id"]


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def test_path_links_a_to_b_through_stored_merges(
    api: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool
) -> None:
    a, b, cluster_id = await far_apart(loaded_pool)
    status, body = await get(http, f"{api}/v1/why/bitcoin/{a}/{b}")
    assert status == 200
    assert set(body) == {"linked", "cluster", "path"}
    assert body["linked"] is True
    assert body["cluster"] == {"id": cluster_id, "size": 3804}
    path = body["path"]
    assert isinstance(path, list) and path
    assert path[0]["from"] == a and path[-1]["to"] == b
    for before, after in itertools.pairwise(path):
        assert before["to"] == after["from"]
    for step in path:
        assert set(step) == {"from", "to", "heuristic", "txid", "block", "confidence", "conditions"}
        # both addresses of the step are merged by that step's transaction
        merged = await loaded_pool.fetchval(
            """SELECT count(*) FROM merge_evidence e
               WHERE e.txid = decode($1, 'hex') AND e.block_height = $2 AND e.heuristic = $3
                 AND e.address_ids @> ARRAY(SELECT id FROM addresses WHERE address = ANY($4::text[]))""",
            step["txid"],
            step["block"],
            step["heuristic"],
            [step["from"], step["to"]],
        )
        assert merged == 1


async def test_addresses_in_different_clusters_are_not_linked(
    api: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool
) -> None:
    a, _, cluster_id = await far_apart(loaded_pool)
    other = await loaded_pool.fetchval(
        """SELECT a.address FROM addresses a LEFT JOIN address_clusters ac ON ac.address_id = a.id
           WHERE a.chain = 'bitcoin' AND COALESCE(ac.cluster_id, a.id) <> $1 ORDER BY a.id LIMIT 1""",
        cluster_id,
    )
    status, body = await get(http, f"{api}/v1/why/bitcoin/{a}/{other}")
    assert (status, body) == (200, {"linked": False, "cluster": None, "path": []})


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("bitcoin/{a}/1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53e", (400, "invalid_address")),  # bad checksum
        ("litecoin/{a}/" + UNKNOWN, (400, "unsupported_chain")),
        ("bitcoin/{a}/" + UNKNOWN, (404, "not_found")),
    ],
)
async def test_bad_input_gets_a_clear_error(
    api: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool, target: str, expected: tuple[int, str]
) -> None:
    a, _, _ = await far_apart(loaded_pool)
    got, body = await get(http, f"{api}/v1/why/" + target.format(a=a))
    assert (got, body["error"]["code"]) == expected  # type: ignore[index]
