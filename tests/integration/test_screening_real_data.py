"""Clustering and screening on the whole bundled real data set (see tests/fixtures/README.md).

Real cases used:
- 1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d: OFAC SDN-listed; receives 0.38796959 BTC in block 574200
  (tx 41f366c2...).
- 3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng: one of the two payers of that tx (a direct counterparty).
- 343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb: OFAC SDN-listed; spends together with other addresses in block
  540107, so common-input puts it in a 3,804-address cluster owned, by that evidence, by the same entity.
- bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m: Prince Group / CHEN Zhi (OFAC 2025-10-14); listed, no tx.
- 1ELfFwRo5jJZtv2VmPJ2Jwsbo6B9dtp52h (block 210000): received 0.85554780 BTC two hops from
  14ChPPM8rPYJeHnw6kMVUDnNNKx1KnjYW4, labelled gambling by GraphSense's WalletExplorer pack, through
  17k43b2m48SSfeTxY2qhPvWViMpQfvpSUj (indirect exposure).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from tracer.risk.screening import screen
from tracer.store.actors import actor_id_of
from tracer.store.coverage import load_snapshot

SANCTIONED_RECEIVER = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
OFAC_LISTS = {"OFAC SDN list (XBT)", "OFAC SDN list (XBT, snapshot 2025-10-22)",
              "GraphSense TagPack: US Treasury OFAC Sanctions List (ofac.yaml)"}  # fmt: skip
PAYER_OF_SANCTIONED = "3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng"
SANCTIONED_SPENDER = "343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb"
PRINCE_GROUP = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"
PRINCE_GROUP_LISTS = {"Scam-centre actors (curated)", "OFAC SDN list (XBT, snapshot 2025-10-22)"}
TWO_HOPS_FROM_GAMBLING = "1ELfFwRo5jJZtv2VmPJ2Jwsbo6B9dtp52h"


def reasons(result: dict[str, object]) -> list[dict[str, object]]:
    risk = result["risk"]
    assert isinstance(risk, dict)
    return list(risk["reasons"])


def level(result: dict[str, object]) -> str:
    risk = result["risk"]
    assert isinstance(risk, dict)
    return str(risk["level"])


async def test_sanctioned_address_screens_severe_with_one_reason_naming_every_list(
    loaded_pool: asyncpg.Pool,
) -> None:
    # The address is on three lists (two OFAC snapshots and GraphSense's OFAC pack), none naming an actor:
    # the lists name one address, so one actor and one reason, which lists all three sources.
    result = await screen(loaded_pool, "bitcoin", SANCTIONED_RECEIVER)
    assert result["known"] is True
    assert level(result) == "severe"
    [reason] = reasons(result)
    assert (reason["relation"], reason["address"], reason["hops"], reason["score"]) == (
        "self", SANCTIONED_RECEIVER, 0, 100)  # fmt: skip
    assert set(reason["sources"]) == OFAC_LISTS  # type: ignore[call-overload]
    assert {lb["source"] for lb in result["labels"]} == OFAC_LISTS  # type: ignore[attr-defined]
    assert result["activity"] == {
        "tx_count": 1, "received": 38_796_959, "sent": 0, "sent_known": 0, "inputs_value_unknown": 0,
        "first_block": 574200, "last_block": 574200,
    }  # fmt: skip


async def test_payer_of_a_sanctioned_address_has_direct_outgoing_exposure(loaded_pool: asyncpg.Pool) -> None:
    result = await screen(loaded_pool, "bitcoin", PAYER_OF_SANCTIONED)
    assert level(result) == "high"
    [top] = reasons(result)  # one actor: the listed address, whichever list names it
    assert (top["relation"], top["exposure"], top["hops"], top["direction"]) == (
        "counterparty", "direct", 1, "outgoing")  # fmt: skip
    assert (top["address"], top["amount"], top["score"]) == (SANCTIONED_RECEIVER, 38_796_959, 60)
    assert set(top["sources"]) == OFAC_LISTS  # type: ignore[call-overload]
    # The payer's wallet sent only this payment outside itself: the whole of its outgoing value.
    assert top["share"] == 1.0
    assert top["txids"] == ["41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"]
    assert top["path"][-1] == SANCTIONED_RECEIVER  # type: ignore[index]
    # Its spend's value is unknown (the spent output is in a block we do not hold): sent is unknown, not 0.
    activity = result["activity"]
    assert isinstance(activity, dict)
    assert (activity["sent"], activity["sent_known"], activity["inputs_value_unknown"]) == (None, 0, 1)


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
    assert (top["relation"], top["address"], top["score"], top["hops"]) == (
        "cluster",
        SANCTIONED_SPENDER,
        90,
        0,
    )


async def test_listed_address_without_transactions_is_still_severe(loaded_pool: asyncpg.Pool) -> None:
    result = await screen(loaded_pool, "bitcoin", PRINCE_GROUP)
    assert level(result) == "severe"
    assert result["cluster"] == {"id": result["cluster"]["id"], "size": 1}  # type: ignore[index]
    actors = {lb["actor"] for lb in result["labels"]}  # type: ignore[attr-defined]
    assert "Prince Group TCO / CHEN Zhi" in actors


async def test_an_actor_on_several_lists_gets_one_reason_naming_it(loaded_pool: asyncpg.Pool) -> None:
    # The scam-centre table names Prince Group TCO / CHEN Zhi for this address; the OFAC snapshot of
    # 2025-10-22 lists it without a name and resolves to the same actor record (labels.actor_id): one
    # actor, so one reason, named from the actor record and listing every list that supports it.
    actor_id = await actor_id_of(loaded_pool, "scam-centres:prince-group-tco-chen-zhi")
    result = await screen(loaded_pool, "bitcoin", PRINCE_GROUP)
    [reason] = reasons(result)
    assert (reason["actor"], reason["actor_id"], reason["actor_category"]) == (
        "Prince Group TCO / CHEN Zhi", actor_id, "sanctioned")  # fmt: skip
    assert (reason["relation"], reason["address"], reason["score"]) == ("self", PRINCE_GROUP, 100)
    assert set(reason["sources"]) == PRINCE_GROUP_LISTS  # type: ignore[call-overload]
    assert {lb["source"] for lb in result["labels"]} == PRINCE_GROUP_LISTS  # type: ignore[attr-defined]
    assert "Prince Group TCO / CHEN Zhi" in str(reason["explanation"])


async def test_unknown_valid_address_is_none_and_not_known(loaded_pool: asyncpg.Pool) -> None:
    # A valid mainnet address (BIP173 test vector) that appears in no bundled block or list.
    result = await screen(loaded_pool, "bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
    assert result["address"] == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # normalised at the edge
    assert result["known"] is False
    assert level(result) == "none"


async def test_indirect_exposure_two_hops_from_a_labelled_actor(loaded_pool: asyncpg.Pool) -> None:
    result = await screen(loaded_pool, "bitcoin", TWO_HOPS_FROM_GAMBLING)
    exposure = result["exposure"]
    assert isinstance(exposure, list)
    [gambling] = exposure
    assert (gambling["exposure"], gambling["hops"], gambling["direction"]) == ("indirect", 2, "incoming")
    # The path carries at most its smallest hop: tx 554c91d5... paid 17k43b2m..., which paid this address
    # 85,554,780 sat in tx 0140c556...; that is 41.74% of the 204,968,170 sat it received.
    assert (gambling["amount"], gambling["share"]) == (85_554_780, 0.417405)
    via = ["14ChPPM8rPYJeHnw6kMVUDnNNKx1KnjYW4", "17k43b2m48SSfeTxY2qhPvWViMpQfvpSUj"]
    assert [p["address"] for p in gambling["path"]] == [*via, TWO_HOPS_FROM_GAMBLING]
    assert gambling["path_txids"] == [
        "554c91d5ba983113bb8ad4b4e82278afb2993fc3b7409c8e9845900947242a6d",
        "0140c5563fc1bb4fa0193d47fd5a846e9d3c89332cee2c1f268b3eaf917ee21c",
    ]
    # Gambling weighs 40, a counterparty 0.6, the second hop halves it: 40 * 0.6 * 0.5 = 12 -> low.
    [reason] = reasons(result)
    assert (reason["score"], reason["hops"], reason["exposure"], level(result)) == (12, 2, "indirect", "low")


async def test_every_answer_states_its_coverage(loaded_pool: asyncpg.Pool) -> None:
    result = await screen(loaded_pool, "bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
    ref = result["coverage"]
    assert isinstance(ref, dict)
    assert ref["chains"]["bitcoin"] == 757753  # the newest raito block file
    assert ref["as_of"] and ref["truncated"] is False
    assert ref["href"] == f"/v1/coverage/{ref['id']}"
    async with loaded_pool.acquire() as conn:  # the label sources and their dates, by the answer's id
        coverage: Any = await load_snapshot(conn, ref["id"])
    assert coverage is not None
    names = {s["name"] for s in coverage["label_sources"]}
    assert names >= OFAC_LISTS
    assert all(s["imported_at"] for s in coverage["label_sources"])
    assert coverage["exposure"]["max_hops"] == 3
    assert coverage["exposure"]["as_of"] == ref["as_of"]
