"""Record-level label imports (what the EVM indexer calls): issuer freezes and whole-source records.

The accounts and transactions are real USDT blacklistings on Ethereum, as the bundled GraphSense
usdt_blacklist TagPack records them (address + the AddedBlackList transaction in its context); block
numbers and log indexes here only order the events.
"""

from __future__ import annotations

from collections import Counter

import asyncpg
import pytest

from chains.model import Chain
from tracer.errors import ImportRefused
from tracer.jobs.labels import apply_freeze_events, import_records
from tracer.labels.freeze import StablecoinFreeze, fold, source_name
from tracer.labels.records import LabelRecord, SourceSpec
from tracer.risk.categories import Category
from tracer.store.labels import LabelFilter, find_labels, source_named

USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
FIRST = ("0x008fe40574e881e7247b50b991c0cc057d66647f",
         "0x348a042dfedaf64400bf6660fe0ed523b373f172b7914985600d882ac09e0631")  # fmt: skip
SECOND = ("0x0000000000000000000000000000000000000018",
          "0xe66cbc64165b8ae47ebc936739c1b4047d96934496884001897bdb8cb5cb6d7f")  # fmt: skip


def event(name: str, who: tuple[str, str], block: int, amount: int | None = None) -> StablecoinFreeze:
    return StablecoinFreeze(Chain.ETHEREUM, "USDT", USDT, name, who[0], who[1], block, 0, amount)


def test_fold_the_last_event_of_an_account_decides() -> None:
    changes = fold(
        [
            event("AddedBlackList", FIRST, 10),
            event("AddedBlackList", SECOND, 11),
            event("RemovedBlackList", SECOND, 12),
            event("DestroyedBlackFunds", FIRST, 13, amount=2**200),
        ]
    )
    [(frozen, label)] = changes.frozen.items()
    assert frozen.lower() == FIRST[0] and changes.unfrozen == {SECOND[0]}
    assert label.categories == (Category.BLACKLISTED,)
    assert label.attributes["frozen_in_tx"] == FIRST[1]
    assert label.attributes["destroyed_amount"] == str(2**200)  # uint256, exact
    with pytest.raises(ValueError, match="not a freeze event"):
        fold([event("Transfer", FIRST, 1)])


async def test_freezes_and_unfreezes_change_only_their_accounts(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await apply_freeze_events(
            conn, [event("AddedBlackList", FIRST, 10), event("Blacklisted", SECOND, 11)]
        )
        [stored] = await apply_freeze_events(conn, [event("RemovedBlackList", SECOND, 12)])
    assert stored.entries == 1
    assert stored.name == source_name(Chain.ETHEREUM, "USDT", USDT)
    assert (stored.origin, stored.format) == (f"ethereum:{USDT}", "stablecoin-freeze-events")
    rows = await find_labels(pool, LabelFilter(tenants=["public"]))
    checksummed = "0x008fe40574e881E7247b50b991c0Cc057D66647F"  # EIP-55 of FIRST
    assert [(r["address"], r["category"]) for r in rows] == [(checksummed, "blacklisted")]


async def test_freezes_join_the_callers_transaction(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await apply_freeze_events(conn, [event("AddedBlackList", FIRST, 10)])
                raise RuntimeError("the indexer failed before moving its cursor")
    assert await find_labels(pool, LabelFilter(tenants=["public"])) == []


async def test_import_records_follows_the_file_rules(pool: asyncpg.Pool) -> None:
    spec = SourceSpec(name="feed", title="A feed", format="records", origin="https://example.org/feed",
                      sha256="0" * 64)  # fmt: skip
    record = LabelRecord(Chain.ETHEREUM, FIRST[0], "a label", (Category.SCAM,), ("scam",))
    async with pool.acquire() as conn:
        await import_records(conn, spec, [record])
        with pytest.raises(ImportRefused, match="yields no labels"):
            await import_records(conn, spec, [], skipped=Counter({"invalid address": 1}))
        source = await source_named(conn, "public", "feed")
    assert source is not None and source.entries == 1
