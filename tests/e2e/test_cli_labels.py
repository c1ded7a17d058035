"""`tracer labels` and `tracer screen --tenant` as scripts use them: real processes, a real database."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import FIXTURES, run

XBT = FIXTURES / "labels/ofac/sanctioned_addresses_XBT.txt"
SCAM_CENTRES = FIXTURES / "labels/scam-centres/scam_centre_addresses.csv"
PRINCE_GROUP = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"  # OFAC 2025-10-14, Prince Group / CHEN Zhi


def ok(*args: str, db: str, home: Path) -> dict[str, object]:
    result = run(*args, database_url=db, home=home)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_import_sources_list_show_delete(fresh_db: str, tmp_path: Path) -> None:
    imported = ok("labels", "import", str(XBT), db=fresh_db, home=tmp_path)
    assert imported["labels"] == 435
    sources = ok("labels", "sources", db=fresh_db, home=tmp_path)["sources"]
    assert isinstance(sources, list)
    assert [(s["name"], s["title"], s["labels"]) for s in sources] == [
        ("sanctioned_addresses_XBT.txt", "OFAC SDN list (XBT)", 435)
    ]
    listed = ok("labels", "list", "--chain", "tron", db=fresh_db, home=tmp_path)
    assert [lb["address"] for lb in listed["labels"]] == ["TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"]  # type: ignore[attr-defined]
    shown = ok("labels", "show", "bitcoin", "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d", db=fresh_db, home=tmp_path)
    assert [lb["category"] for lb in shown["labels"]] == ["sanctioned"]  # type: ignore[attr-defined]
    deleted = ok("labels", "delete", "sanctioned_addresses_XBT.txt", db=fresh_db, home=tmp_path)
    assert deleted["labels"] == 435
    assert ok("labels", "sources", db=fresh_db, home=tmp_path)["count"] == 0


def test_refused_imports_exit_2_with_one_line(fresh_db: str, tmp_path: Path) -> None:
    ok("labels", "import", str(XBT), db=fresh_db, home=tmp_path)
    empty = tmp_path / "sanctioned_addresses_XBT.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "sanctioned_addresses_ETH.txt"
    binary.write_bytes(bytes(range(256)))
    for args, message in (
        ((str(empty),), "import_refused"),
        ((str(binary),), "binary file"),
        ((str(SCAM_CENTRES), "--source", "sanctioned_addresses_XBT.txt"), "already exists from"),
        ((str(XBT), "--tenant", "Not A Tenant"), "invalid tenant"),
    ):
        result = run("labels", "import", *args, database_url=fresh_db, home=tmp_path)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not result.stderr.lstrip().startswith("{")
    missing = run("labels", "delete", "no-such-source", database_url=fresh_db, home=tmp_path)
    assert (missing.returncode, "no label source" in missing.stderr) == (2, True)
    assert ok("labels", "sources", db=fresh_db, home=tmp_path)["sources"][0]["labels"] == 435  # type: ignore[index]


def test_screen_with_a_tenant_sees_its_private_labels(fresh_db: str, tmp_path: Path) -> None:
    ok("labels", "import", str(SCAM_CENTRES), "--tenant", "acme", db=fresh_db, home=tmp_path)
    mine = ok("screen", "bitcoin", PRINCE_GROUP, "--json", "--tenant", "acme", db=fresh_db, home=tmp_path)
    public = ok("screen", "bitcoin", PRINCE_GROUP, "--json", db=fresh_db, home=tmp_path)
    other = ok("screen", "bitcoin", PRINCE_GROUP, "--json", "--tenant", "globex", db=fresh_db, home=tmp_path)
    assert mine["risk"]["level"] == "severe"  # type: ignore[index]
    assert public["labels"] == other["labels"] == []


def test_actors_list_and_show(fresh_db: str, tmp_path: Path) -> None:
    ok("labels", "import", str(SCAM_CENTRES), db=fresh_db, home=tmp_path)
    listed = ok("actors", "list", "--category", "sanctioned", db=fresh_db, home=tmp_path)
    names = [a["name"] for a in listed["actors"]]  # type: ignore[attr-defined]
    assert names == ["Funnull Technology Inc. (FUNNULL CDN)", "Prince Group TCO / CHEN Zhi"]
    shown = ok("actors", "show", "scam-centres:prince-group-tco-chen-zhi", db=fresh_db, home=tmp_path)
    assert shown["address_count"] == 4
    assert shown["designations"][0]["date"] == "2025-10-14"  # type: ignore[index]
    missing = run("actors", "show", "nobody", database_url=fresh_db, home=tmp_path)
    assert (missing.returncode, len(missing.stderr.splitlines())) == (2, 1)
    bad = run("actors", "list", "--category", "nope", database_url=fresh_db, home=tmp_path)
    assert bad.returncode == 2 and "unknown actor category" in bad.stderr
