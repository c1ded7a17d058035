"""Label sources on real PostgreSQL with the real bundled lists: no import silently empties or replaces one.

Real files used (tests/fixtures/labels, see its README for provenance):
- ofac/sanctioned_addresses_XBT.txt / .json: the OFAC SDN XBT list, 435 entries (434 BTC + 1 TRON).
- ofac/sanctioned_addresses_ETH.txt: the OFAC SDN ETH list.
- scam-centres/scam_centre_addresses.csv: 11 curated rows (Prince Group / CHEN Zhi, Funnull, LuBian).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import asyncpg
import pytest

from tracer.errors import ImportRefused, InputError, MalformedInput
from tracer.jobs.labels import ImportOptions, import_labels
from tracer.risk.screening import ScreeningOptions, screen, tenants_for

LABELS = Path(__file__).parents[1] / "fixtures" / "labels"
PRINCE_GROUP = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"  # OFAC 2025-10-14, in the scam-centre CSV


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT s.name, count(l.id) AS n FROM label_sources s LEFT JOIN labels l ON l.source_id = s.id"
        " GROUP BY s.name"
    )
    return {r["name"]: r["n"] for r in rows}


@pytest.fixture
def ofac_dir(tmp_path: Path) -> Path:
    """A copy of the bundled OFAC lists, so a test may rewrite a file in place."""
    target = tmp_path / "ofac"
    shutil.copytree(LABELS / "ofac", target)
    return target


async def test_txt_and_json_lists_are_separate_sources_and_all_imported_labels_are_stored(
    pool: asyncpg.Pool, ofac_dir: Path
) -> None:
    report = await import_labels(pool, ofac_dir)
    stored = await counts(pool)
    assert stored["sanctioned_addresses_XBT.txt"] == stored["sanctioned_addresses_XBT.json"] == 435
    assert sum(stored.values()) == report.labels == await pool.fetchval("SELECT count(*) FROM labels")
    # Lists of chains tracer does not index (XMR, LTC, ...) are reported, not stored as empty sources.
    assert str(ofac_dir / "sanctioned_addresses_XMR.txt") in {f["file"] for f in report.ignored_files}


async def test_provenance_of_a_source(pool: asyncpg.Pool) -> None:
    path = LABELS / "scam-centres/ofac-bitcoin/addresses.2025-10-22.json"
    await import_labels(pool, path)
    row = await pool.fetchrow("SELECT * FROM label_sources")
    assert row is not None
    assert (row["name"], row["title"], row["format"]) == (
        "addresses.2025-10-22.json",
        "OFAC SDN list (XBT, snapshot 2025-10-22)",
        "ofac-list",
    )
    assert row["origin"] == str(path.resolve())
    assert row["as_of"].isoformat() == "2025-10-22"
    assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["entries"] == 489
    assert row["tenant"] == "public"


async def test_licence_is_read_from_the_licence_file_beside_the_list(pool: asyncpg.Pool) -> None:
    await import_labels(pool, LABELS / "ofac/sanctioned_addresses_XBT.txt")
    assert await pool.fetchval("SELECT licence FROM label_sources") == "MIT License"


async def test_an_empty_file_with_a_bundled_name_is_refused_and_the_list_kept(
    pool: asyncpg.Pool, ofac_dir: Path, tmp_path: Path
) -> None:
    await import_labels(pool, ofac_dir)
    before = await counts(pool)
    empty = tmp_path / "elsewhere" / "sanctioned_addresses_XBT.txt"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    with pytest.raises(ImportRefused, match="yields no labels"):
        await import_labels(pool, empty)
    # Even rewriting the imported file itself to nothing is refused.
    (ofac_dir / "sanctioned_addresses_XBT.txt").write_bytes(b"\n")
    with pytest.raises(ImportRefused, match="yields no labels"):
        await import_labels(pool, ofac_dir)
    assert await counts(pool) == before


async def test_a_binary_file_is_refused(pool: asyncpg.Pool, ofac_dir: Path) -> None:
    await import_labels(pool, ofac_dir)
    before = await counts(pool)
    (ofac_dir / "sanctioned_addresses_ETH.txt").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(MalformedInput, match="binary"):
        await import_labels(pool, ofac_dir / "sanctioned_addresses_ETH.txt")
    with pytest.raises(MalformedInput, match="binary"):
        await import_labels(pool, ofac_dir)  # a directory import writes nothing at all
    assert await counts(pool) == before


async def test_reimport_replaces_only_its_own_source(pool: asyncpg.Pool, ofac_dir: Path) -> None:
    await import_labels(pool, ofac_dir)
    await import_labels(pool, LABELS / "scam-centres/scam_centre_addresses.csv")
    other_ids = await pool.fetch(
        "SELECT l.id FROM labels l JOIN label_sources s ON s.id = l.source_id"
        " WHERE s.name <> 'sanctioned_addresses_XBT.txt' ORDER BY l.id"
    )
    xbt = ofac_dir / "sanctioned_addresses_XBT.txt"
    lines = xbt.read_text().splitlines()
    xbt.write_text("\n".join(lines[:400]) + "\n")  # OFAC delisted some: a smaller, but not far smaller list
    report = await import_labels(pool, xbt)
    assert [s["source"] for s in report.sources] == ["sanctioned_addresses_XBT.txt"]
    assert (await counts(pool))["sanctioned_addresses_XBT.txt"] == 400
    after = await pool.fetch(
        "SELECT l.id FROM labels l JOIN label_sources s ON s.id = l.source_id"
        " WHERE s.name <> 'sanctioned_addresses_XBT.txt' ORDER BY l.id"
    )
    assert after == other_ids  # the very same rows: untouched


async def test_a_far_smaller_reimport_is_refused_unless_asked(pool: asyncpg.Pool, ofac_dir: Path) -> None:
    xbt = ofac_dir / "sanctioned_addresses_XBT.txt"
    await import_labels(pool, xbt)
    xbt.write_text("\n".join(xbt.read_text().splitlines()[:10]) + "\n")
    with pytest.raises(ImportRefused, match="far fewer than the 435"):
        await import_labels(pool, xbt)
    assert (await counts(pool))["sanctioned_addresses_XBT.txt"] == 435
    await import_labels(pool, xbt, ImportOptions(replace="sanctioned_addresses_XBT.txt"))
    assert (await counts(pool))["sanctioned_addresses_XBT.txt"] == 10


async def test_another_file_never_replaces_a_source_unless_asked(pool: asyncpg.Pool, tmp_path: Path) -> None:
    bundled = LABELS / "scam-centres/scam_centre_addresses.csv"
    await import_labels(pool, bundled)
    # A user's CSV in the scam-centre format with the bundled file's name: refused, it is another file.
    mine = tmp_path / "scam_centre_addresses.csv"
    rows = bundled.read_text().splitlines()
    mine.write_text("\n".join([rows[0], rows[5]]) + "\n")  # the Funnull ETH row only
    with pytest.raises(ImportRefused, match="already exists from"):
        await import_labels(pool, mine)
    # Under a name of its own it is a new source, and the bundled one keeps Prince Group / CHEN Zhi.
    await import_labels(pool, mine, ImportOptions(source="my-list"))
    assert await counts(pool) == {"scam_centre_addresses.csv": 11, "my-list": 1}
    # ... unless the caller says to replace it.
    await import_labels(
        pool, mine, ImportOptions(source="scam_centre_addresses.csv", replace="scam_centre_addresses.csv")
    )
    assert (await counts(pool))["scam_centre_addresses.csv"] == 1


async def test_replace_of_an_unknown_source_and_options_for_a_directory_are_errors(
    pool: asyncpg.Pool, ofac_dir: Path
) -> None:
    with pytest.raises(ImportRefused, match="no label source 'nope'"):
        await import_labels(pool, ofac_dir / "sanctioned_addresses_XBT.txt", ImportOptions(replace="nope"))
    with pytest.raises(InputError, match="give a file"):
        await import_labels(pool, ofac_dir, ImportOptions(source="x"))
    assert await counts(pool) == {}


async def test_tenant_labels_are_seen_by_that_tenant_only(pool: asyncpg.Pool, tmp_path: Path) -> None:
    csv = LABELS / "scam-centres/scam_centre_addresses.csv"
    await import_labels(pool, csv, ImportOptions(tenant="acme"))
    acme = await screen(pool, "bitcoin", PRINCE_GROUP, ScreeningOptions(tenants=tenants_for("acme")))
    public = await screen(pool, "bitcoin", PRINCE_GROUP)
    other = await screen(pool, "bitcoin", PRINCE_GROUP, ScreeningOptions(tenants=("public", "globex")))
    assert [lb["actor"] for lb in acme["labels"]] == ["Prince Group TCO / CHEN Zhi"]  # type: ignore[attr-defined]
    assert public["labels"] == other["labels"] == []
    assert acme["risk"]["level"] == "severe"  # type: ignore[index]
    assert public["risk"]["level"] == other["risk"]["level"] == "none"  # type: ignore[index]
