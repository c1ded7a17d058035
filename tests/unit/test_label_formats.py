"""Label files: the real bundled lists parse into normalised, categorised records; bad files fail clearly."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
import yaml

from chains.model import Chain
from tracer.errors import MalformedInput, UnsupportedFormat
from tracer.labels.formats import parse_label_file
from tracer.labels.tagpack import parse_tagpack, parse_tagpack_text
from tracer.risk.categories import Category

LABELS = Path(__file__).parents[1] / "fixtures" / "labels"


def test_ofac_xbt_text_list_is_all_sanctioned_bitcoin() -> None:
    labels = parse_label_file(
        "sanctioned_addresses_XBT.txt", (LABELS / "ofac/sanctioned_addresses_XBT.txt").read_bytes()
    )
    assert labels.title == "OFAC SDN list (XBT)"
    # 435 lines; one of them is the TRON address OFAC lists under XBT (TUCsTq7Tof...), kept under TRON.
    by_chain = {c: [r for r in labels.records if r.chain is c] for c in Chain}
    assert len(by_chain[Chain.BITCOIN]) == 434
    assert [r.address for r in by_chain[Chain.TRON]] == ["TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"]
    assert all(r.categories == (Category.SANCTIONED,) for r in labels.records)
    assert not labels.skipped


def test_ofac_usdt_list_splits_ethereum_and_omni_bitcoin_addresses() -> None:
    labels = parse_label_file(
        "sanctioned_addresses_USDT.txt", (LABELS / "ofac/sanctioned_addresses_USDT.txt").read_bytes()
    )
    chains = {r.chain for r in labels.records}
    assert chains == {Chain.ETHEREUM, Chain.BITCOIN, Chain.TRON}  # USDT on Ethereum, Omni and TRON
    assert len(labels.records) == 26
    eth = [r.address for r in labels.records if r.chain is Chain.ETHEREUM]
    assert "0x19Aa5Fe80D33a56D56c78e82eA5E50E5d80b4Dff" in eth  # EIP-55 form of a lower-case entry


def test_ofac_list_for_an_asset_we_do_not_index_is_counted_not_stored() -> None:
    labels = parse_label_file(
        "sanctioned_addresses_XMR.txt", (LABELS / "ofac/sanctioned_addresses_XMR.txt").read_bytes()
    )
    assert labels.records == ()
    assert labels.skipped == {"unsupported asset XMR": 3}


def test_nhamilton_snapshot_json_has_its_date_in_the_list_name() -> None:
    path = LABELS / "scam-centres/ofac-bitcoin/addresses.2025-10-22.json"
    labels = parse_label_file(path.name, path.read_bytes())
    assert labels.title == "OFAC SDN list (XBT, snapshot 2025-10-22)"
    assert len(labels.records) == 489  # 488 BTC + the TRON-format entry
    prince_group = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"
    assert prince_group in {r.address for r in labels.records}


def test_graphsense_ofac_pack_header_defaults_and_categories() -> None:
    path = LABELS / "graphsense-tagpacks/packs/ofac.yaml"
    labels = parse_label_file(path.name, path.read_bytes())
    assert labels.title == "GraphSense TagPack: US Treasury OFAC Sanctions List (ofac.yaml)"
    record = labels.records[0]
    assert record.label == "Asset listed under US Treasury OFAC Sanctions List"  # from the header
    assert record.categories[0] is Category.SANCTIONED
    assert record.source_categories == ("user",)
    assert record.reference == "https://www.treasury.gov/ofac/downloads/sdnlist.txt"


def test_gzipped_tagpack_and_tag_level_overrides() -> None:
    path = LABELS / "graphsense-tagpacks/packs/ransomware.yaml.gz"
    labels = parse_label_file(path.name, path.read_bytes())
    assert len(labels.records) > 1000
    assert {r.categories[0] for r in labels.records} == {Category.RANSOMWARE}


def test_scam_centre_csv_rows_keep_actor_and_provenance() -> None:
    path = LABELS / "scam-centres/scam_centre_addresses.csv"
    labels = parse_label_file(path.name, path.read_bytes())
    assert len(labels.records) == 11
    prince = [r for r in labels.records if r.actor == "Prince Group TCO / CHEN Zhi"]
    assert len(prince) == 4
    assert prince[0].categories[:2] == (Category.SANCTIONED, Category.SCAM_CENTRE)
    assert prince[0].attributes["source_repo"] == "nhamilton1/bitcoin-ofac-addresses"
    funnull = {r.chain for r in labels.records if "Funnull" in (r.actor or "")}
    assert funnull == {Chain.ETHEREUM, Chain.TRON}


def test_invalid_addresses_are_counted_never_stored() -> None:
    text = b"1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d\n1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53e\nnot-an-address\n"
    labels = parse_label_file("sanctioned_addresses_XBT.txt", text)
    assert [r.address for r in labels.records] == ["1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"]
    assert labels.skipped["invalid address"] == 2


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("notes.txt", b"hello", UnsupportedFormat),
        ("pack.yaml", b"tags: [unclosed", MalformedInput),
        ("pack.yaml", b"- just\n- a list\n", UnsupportedFormat),
        ("sanctioned_addresses_XBT.json", b'{"not": "a list"}', MalformedInput),
        ("sanctioned_addresses_XBT.json", b"[1, 2]", MalformedInput),
        ("pack.yaml.gz", b"not gzip at all", MalformedInput),
        ("labels.csv", b"", MalformedInput),
        ("bundle.json", b'{"type": "bundle"}', MalformedInput),
        ("bundle.json", b'{"type": "bundle", "objects": {}}', MalformedInput),
        ("other.json", b'{"type": "report"}', UnsupportedFormat),
        ("sanctioned_addresses_XBT.txt", b"\x00\x01binary", MalformedInput),
    ],
)
def test_bad_files_fail_with_a_clear_error(name: str, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_label_file(name, data)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (b"address,chain,actor", "label"),  # neither a label CSV nor the scam-centre table
        (b"Address,Name Tag,Balance", "label"),  # Etherscan's export
        (b"wallet,label", "address"),
        (b"name", "address, label"),
    ],
)
def test_a_csv_without_the_needed_columns_is_named(header: bytes, missing: str) -> None:
    with pytest.raises(
        UnsupportedFormat, match=f"CSV lacks columns: {missing} \\(a label CSV needs address,label"
    ):
        parse_label_file("mine.csv", header + b"\n1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d,x,y\n")


# The README's example of a plain label CSV: real addresses from the bundled lists (OFAC SDN XBT;
# Funnull ETH from the scam-centre table; a TRON address OFAC lists under XBT).
PLAIN_CSV = b"""address,label,chain,category,actor,source,confidence,reference
1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d,OFAC SDN listed,bitcoin,sanctioned,,OFAC,high,https://sanctionssearch.ofac.treas.gov/
0xd5ed34b52ac4ab84d8fa8a231a3218bbf01ed510,Funnull scam infra,ETH,scam,Funnull Technology Inc.,OFAC,high,
TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq,listed under XBT,,,,,,
1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d,,bitcoin,,,,,
not-an-address,x,,,,,,
0xd5ed34b52ac4ab84d8fa8a231a3218bbf01ed510,wrong chain,bitcoin,,,,,
"""


def test_plain_csv_with_optional_columns() -> None:
    labels = parse_label_file("mine.csv", PLAIN_CSV)
    assert labels.format == "label-csv"
    assert labels.title == "Labels (mine.csv)"
    first, funnull, tron = labels.records
    assert (first.chain, first.categories[0], first.confidence) == (
        Chain.BITCOIN,
        Category.SANCTIONED,
        "high",
    )
    assert first.attributes == {"source": "OFAC"}
    assert funnull.address == "0xd5ED34b52AC4ab84d8FA8A231a3218bbF01Ed510"  # EIP-55
    assert (funnull.actor, funnull.categories[0]) == ("Funnull Technology Inc.", Category.SCAM)
    assert (tron.chain, tron.categories) == (Chain.TRON, (Category.OTHER,))
    assert labels.skipped == {"row without label": 1, "invalid address": 2}


def test_minimal_csv_and_bom() -> None:
    labels = parse_label_file(
        "x.csv", b"\xef\xbb\xbfAddress,Label\n1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d,ransomware payments\n"
    )
    assert [(r.address, r.categories[0]) for r in labels.records] == [
        ("1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d", Category.RANSOMWARE)
    ]


def test_stix_bundle_indicators_with_wallet_patterns_and_their_actor() -> None:
    bundle = {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {
                "type": "indicator", "id": "indicator--1", "name": "Ransom wallet",
                "indicator_types": ["malicious-activity"], "pattern_type": "stix", "confidence": 85,
                "modified": "2024-05-01T00:00:00Z",
                "pattern": "[cryptocurrency-wallet:value = '1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d'] OR "
                "[x-crypto-wallet:address = '0xd5ed34b52ac4ab84d8fa8a231a3218bbf01ed510']",
                "external_references": [{"source_name": "report", "url": "https://example.org/r"}],
            },
            {"type": "indicator", "id": "indicator--2", "pattern": "[domain-name:value = 'x.org']"},
            {"type": "indicator", "id": "indicator--3", "name": "no pattern"},
            {"type": "threat-actor", "id": "threat-actor--1", "name": "LockBit"},
            {"type": "relationship", "id": "relationship--1", "relationship_type": "indicates",
             "source_ref": "indicator--1", "target_ref": "threat-actor--1"},
        ],
    }  # fmt: skip
    labels = parse_label_file("feed.json", orjson.dumps(bundle))
    assert labels.format == "stix-2.1"
    assert [(r.chain, r.actor, r.categories[0]) for r in labels.records] == [
        (Chain.BITCOIN, "LockBit", Category.RANSOMWARE),
        (Chain.ETHEREUM, "LockBit", Category.RANSOMWARE),
    ]
    assert labels.records[0].reference == "https://example.org/r"
    assert labels.records[0].confidence == "85"
    assert labels.skipped == {"indicator naming no cryptocurrency wallet": 1, "indicator without pattern": 1}
    assert labels.as_of is not None and labels.as_of.isoformat() == "2024-05-01"


def test_gzip_wrapping_is_transparent() -> None:
    raw = (LABELS / "graphsense-tagpacks/packs/sinbad_io.yaml").read_bytes()
    plain = parse_label_file("sinbad_io.yaml", raw)
    zipped = parse_label_file("sinbad_io.yaml.gz", gzip.compress(raw))
    assert plain == zipped


TAGPACKS = sorted((Path(__file__).parents[1] / "fixtures" / "labels").rglob("*.yaml*"))


@pytest.mark.parametrize("path", [p for p in TAGPACKS if "actorpack" not in p.name], ids=lambda p: p.name)
def test_tagpack_read_the_fast_way_gives_the_labels_pyyaml_gives(path: Path) -> None:
    """tracer.labels.tagpack.parse_tagpack_text (fields read once per distinct tag text) against the
    reference: the whole document loaded by PyYAML, then parse_tagpack."""
    data = path.read_bytes()
    text = gzip.decompress(data) if path.name.endswith(".gz") else data
    fast = parse_tagpack_text(text, path.name)
    assert fast is not None
    assert fast == parse_tagpack(yaml.load(text, Loader=yaml.CSafeLoader), path.name)
