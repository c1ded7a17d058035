"""Actor records from the formats that name one: STIX 2.1 threat actors tied to indicators, and the plain
CSV's ``actor`` column. Parsing only (pure); tests/integration/test_actor_sources.py stores them.

Real facts only: tests/fixtures/stix/lazarus_group_ofac.json restates GraphSense's Lazarus Group ActorPack
entry and two of its TagPack wallets (see tests/fixtures/stix/README.md); the CSV rows name the Prince
Group address OFAC designated (tests/fixtures/labels/scam-centres) and real Binance / SatoshiDice wallets of
the bundled GraphSense packs (binance.yaml, walletexplorer.yaml.gz).
"""

from __future__ import annotations

from pathlib import Path

import orjson

from chains.model import Chain
from tracer.labels.actors import LOCAL_KEY, scope_local_keys
from tracer.labels.formats import parse_label_file
from tracer.risk.categories import Category

STIX = Path(__file__).parents[1] / "fixtures" / "stix" / "lazarus_group_ofac.json"
LAZARUS = "threat-actor--0c7e3a4e-7b0b-4a55-8c55-4c7f7d1b2a10"
PRINCE_GROUP = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"


def test_stix_threat_actor_tied_to_an_indicator_is_an_actor_record() -> None:
    labels = parse_label_file(STIX.name, STIX.read_bytes())
    (actor,) = labels.actors
    assert actor.key == f"{LOCAL_KEY}stix:{LAZARUS}"
    assert (actor.name, actor.category) == ("Lazarus Group", Category.SANCTIONED)
    assert actor.aliases == ("Guardians of Peace", "Whois Team", "Hidden Cobra", "Zinc")
    assert actor.uri == "https://home.treasury.gov/news/press-releases/sm774"
    assert [(r.chain, r.address, r.actor, r.actor_key) for r in labels.records] == [
        (Chain.ETHEREUM, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "Lazarus Group", actor.key),
        (Chain.BITCOIN, "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak", "Lazarus Group", actor.key),
    ]
    scoped = scope_local_keys(labels, "public", "lazarus.json")
    assert scoped.actors[0].key == f"stix:public/lazarus.json:{LAZARUS}"
    assert {r.actor_key for r in scoped.records} == {scoped.actors[0].key}


def test_stix_malware_names_the_label_but_makes_no_actor_record() -> None:
    doc = orjson.loads(STIX.read_bytes())
    for obj in doc["objects"]:
        if obj["type"] == "threat-actor":
            obj["type"] = "malware"  # an indicator of a malware family: a name, not who controls it
    labels = parse_label_file("feed.json", orjson.dumps(doc))
    assert labels.actors == ()
    assert {(r.actor, r.actor_key) for r in labels.records} == {("Lazarus Group", None)}


def test_csv_actor_column_makes_one_actor_per_name_within_the_source() -> None:
    csv = (
        "address,label,category,actor\n"
        f"{PRINCE_GROUP},Prince Group wallet,sanctioned,Prince Group\n"
        "bc1qw4fxztd5u3sl7vrcqwk2a8v5zh5dllvckx3tlt,Prince Group wallet,sanctioned,PRINCE GROUP\n"
        "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s,Binance hot wallet,exchange,Binance\n"
        "16ZtFbC6dMcHtM8ebYkiZ1yhx9yoWrg1mq,SatoshiDice.com,gambling,SatoshiDice\n"
    ).encode()
    labels = parse_label_file("mine.csv", csv)
    assert [(a.key, a.name, a.category) for a in labels.actors] == [
        (f"{LOCAL_KEY}csv:prince-group", "Prince Group", Category.SANCTIONED),
        (f"{LOCAL_KEY}csv:binance", "Binance", Category.EXCHANGE),
    ]  # a gambling site is outside the actor taxonomy: the name stays on its label
    assert all(a.aliases == () for a in labels.actors)  # the CSV says no two names are one actor
    keys = [r.actor_key for r in labels.records]
    assert keys == [f"{LOCAL_KEY}csv:prince-group"] * 2 + [f"{LOCAL_KEY}csv:binance", None]
    scoped = scope_local_keys(labels, "acme", "mine.csv")
    assert [a.key for a in scoped.actors] == ["csv:acme/mine.csv:prince-group", "csv:acme/mine.csv:binance"]
