"""Actor records from a STIX bundle and a plain CSV, stored: labels link to them, screening answers carry
the actor id on every label, a tenant's actors stay the tenant's, one name in two sources is two actors.

Files: tests/fixtures/stix/lazarus_group_ofac.json (GraphSense's Lazarus Group facts restated as STIX, see
its README); CSV rows name the Prince Group address of the scam-centre table (OFAC, 2025-10-14).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from tracer.jobs.labels import ImportOptions, import_labels
from tracer.risk.screening import ScreeningOptions, screen, tenants_for
from tracer.store.actors import actor_detail, list_actors

STIX = Path(__file__).parents[1] / "fixtures" / "stix" / "lazarus_group_ofac.json"
RONIN_EXPLOITER = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
PRINCE_GROUP = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"
CSV = f"address,label,category,actor\n{PRINCE_GROUP},Prince Group wallet,sanctioned,Prince Group\n"


async def test_stix_actor_is_stored_linked_and_named_in_screening(pool: asyncpg.Pool) -> None:
    report = await import_labels(pool, STIX)
    assert (report.labels, report.actors) == (2, 1)
    (actor,) = await list_actors(pool, query="lazarus")
    assert (
        actor["key"]
        == "stix:public/lazarus_group_ofac.json:threat-actor--0c7e3a4e-7b0b-4a55-8c55-4c7f7d1b2a10"
    )
    assert (actor["name"], actor["category"], actor["labels"]) == ("Lazarus Group", "sanctioned", 2)
    assert actor["aliases"] == ["Guardians of Peace", "Whois Team", "Hidden Cobra", "Zinc"]
    result: dict[str, Any] = await screen(pool, "ethereum", RONIN_EXPLOITER)
    (label,) = result["labels"]
    assert (label["actor"], label["actor_id"]) == ("Lazarus Group", actor["id"])


async def test_csv_actors_are_the_tenants_and_per_source(pool: asyncpg.Pool, tmp_path: Path) -> None:
    for name in ("mine.csv", "theirs.csv"):
        (tmp_path / name).write_text(CSV)
        await import_labels(pool, tmp_path / name, ImportOptions(tenant="acme"))
    acme = await list_actors(pool, tenants=tenants_for("acme"), query="prince")
    assert [a["key"] for a in acme] == ["csv:acme/mine.csv:prince-group", "csv:acme/theirs.csv:prince-group"]
    assert await list_actors(pool, query="prince") == []  # the public sees no tenant's actors
    assert await list_actors(pool, tenants=("public", "globex"), query="prince") == []
    assert await actor_detail(pool, acme[0]["id"], tenants=["public"]) is None
    seen: dict[str, Any] = await screen(
        pool, "bitcoin", PRINCE_GROUP, ScreeningOptions(tenants=tenants_for("acme"))
    )
    assert {lb["actor_id"] for lb in seen["labels"]} == {a["id"] for a in acme}
