"""Clustering and screening on the whole bundled real data set (see tests/fixtures/README.md).

Real cases used:
- 1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d: OFAC SDN-listed; receives 0.38796959 BTC in block 574200
  (tx 41f366c2...).
- 3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng: one of the two payers of that tx (a direct counterparty).
- 343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb: OFAC SDN-listed; spends together with other addresses in block
  540107, so common-input puts it in a 3,804-address cluster owned, by that evidence, by the same entity.
- bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m: Prince Group / CHEN Zhi (OFAC 2025-10-14); listed, no tx.
"""

from __future__ import annotations

import asyncpg

from tracer.risk.screening import screen

SANCTIONED_RECEIVER = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
PAYER_OF_SANCTIONED = "3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng"
SANCTIONED_SPENDER = "343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb"
PRINCE_GROUP = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"


def reasons(result: dict[str, object]) -> list[dict[str, object]]:
    risk = result["risk"]
    assert isinstance(risk, dict)
    return list(risk["reasons"])


def level(result: dict[str, object]) -> str:
    risk = result["risk"]
    assert isinstance(risk, dict)
    return str(risk["level"])


async def test_sanctioned_address_screens_severe_naming_the_lists(loaded_pool: asyncpg.Pool) -> None:
    result = await screen(loaded_pool, "bitcoin", SANCTIONED_RECEIVER)
    assert result["known"] is True
    assert level(result) == "severe"
    sources = {r["source"] for r in reasons(result)}
    assert {"OFAC SDN list (XBT)", "OFAC SDN list (XBT, snapshot 2025-10-22)"} <= sources
    assert all(r["relation"] == "self" and r["address"] == SANCTIONED_RECEIVER for r in reasons(result))
    assert result["activity"] == {
        "tx_count": 1, "received": 38_796_959, "sent": 0, "inputs_value_unknown": 0,
        "first_block": 574200, "last_block": 574200,
    }  # fmt: skip


async def test_payer_of_a_sanctioned_address_is_high_through_the_counterparty(
    loaded_pool: asyncpg.Pool,
) -> None:
    result = await screen(loaded_pool, "bitcoin", PAYER_OF_SANCTIONED)
    assert level(result) == "high"
    top = reasons(result)[0]
    assert top["relation"] == "counterparty"
    assert top["counterparty"] == SANCTIONED_RECEIVER
    assert top["direction"] == "sent_to"
    assert top["amount"] == 38_796_959
    assert top["source"] in {"OFAC SDN list (XBT)", "OFAC SDN list (XBT, snapshot 2025-10-22)",
                             "GraphSense TagPack: US Treasury OFAC Sanctions List (ofac.yaml)"}  # fmt: skip


async def test_cluster_mates_of_a_sanctioned_address_are_severe_by_ownership(
    loaded_pool: asyncpg.Pool,
) -> None:
    own = await screen(loaded_pool, "bitcoin", SANCTIONED_SPENDER)
    cluster = own["cluster"]
    assert isinstance(cluster, dict)
    assert cluster["size"] == 3804
    mate = await loaded_pool.fetchval(
        """SELECT a.address FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
           WHERE ac.cluster_id = $1 AND a.address <> $2 ORDER BY a.id LIMIT 1""",
        cluster["id"],
        SANCTIONED_SPENDER,
    )
    result = await screen(loaded_pool, "bitcoin", mate)
    assert level(result) == "severe"
    top = reasons(result)[0]
    assert (top["relation"], top["address"], top["score"]) == ("cluster", SANCTIONED_SPENDER, 90)


async def test_listed_address_without_transactions_is_still_severe(loaded_pool: asyncpg.Pool) -> None:
    result = await screen(loaded_pool, "bitcoin", PRINCE_GROUP)
    assert level(result) == "severe"
    assert result["cluster"] == {"id": result["cluster"]["id"], "size": 1}  # type: ignore[index]
    actors = {lb["actor"] for lb in result["labels"]}  # type: ignore[attr-defined]
    assert "Prince Group TCO / CHEN Zhi" in actors


async def test_unknown_valid_address_is_none_and_not_known(loaded_pool: asyncpg.Pool) -> None:
    # A valid mainnet address (BIP173 test vector) that appears in no bundled block or list.
    result = await screen(loaded_pool, "bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
    assert result["address"] == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # normalised at the edge
    assert result["known"] is False
    assert level(result) == "none"
