"""Label vocabulary and the risk score: each level, each relation, and the words of each reason."""

from __future__ import annotations

import pytest

from tracer.risk.categories import Category, classify
from tracer.risk.scoring import Finding, Level, Relation, assess, level_for


@pytest.mark.parametrize(
    ("explicit", "context", "expected"),
    [
        # GraphSense ofac.yaml tags sanctioned addresses with the generic category "user".
        (["user"], ["Asset listed under US Treasury OFAC Sanctions List"], Category.SANCTIONED),
        (["mixing_service"], ["Blender.io"], Category.MIXER),
        (["coinjoin"], ["Samourai Wallet"], Category.COINJOIN),
        (["exchange"], ["binance.com"], Category.EXCHANGE),
        (["miner"], ["Poolin"], Category.MINING),
        ([], ["Ransomware Tagpack", "Locky"], Category.RANSOMWARE),
        ([], ["Plus Token Scam"], Category.SCAM),
        (["black_list"], ["USDT_blacklisted"], Category.BLACKLISTED),
        # Our scam-centre CSV: several categories; the most severe leads.
        (["sanctioned", "scam_centre", "pig_butchering"], ["Prince Group TCO"], Category.SANCTIONED),
        ([], ["something nobody categorised"], Category.OTHER),
    ],
)
def test_classify_maps_source_words_to_our_vocabulary(
    explicit: list[str], context: list[str], expected: Category
) -> None:
    assert classify(explicit, context)[0] is expected


def finding(relation: Relation, category: Category, **extra: object) -> Finding:
    return Finding(
        relation=relation,
        labelled_address="1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d",
        label="OFAC SDN listed address",
        category=category,
        source="OFAC SDN list (XBT)",
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("relation", "category", "score", "level"),
    [
        (Relation.SELF, Category.SANCTIONED, 100, Level.SEVERE),
        (Relation.CLUSTER, Category.SANCTIONED, 90, Level.SEVERE),
        (Relation.COUNTERPARTY, Category.SANCTIONED, 60, Level.HIGH),
        (Relation.COUNTERPARTY_CLUSTER, Category.SANCTIONED, 55, Level.HIGH),
        (Relation.SELF, Category.SCAM_CENTRE, 75, Level.HIGH),
        (Relation.COUNTERPARTY, Category.SCAM, 45, Level.MEDIUM),
        (Relation.SELF, Category.GAMBLING, 40, Level.MEDIUM),
        (Relation.COUNTERPARTY, Category.GAMBLING, 24, Level.LOW),
    ],
)
def test_score_is_severity_times_relation_weight(
    relation: Relation, category: Category, score: int, level: Level
) -> None:
    assessment = assess([finding(relation, category)])
    assert (assessment.score, assessment.level) == (score, level)


def test_informational_labels_give_no_reason_and_no_risk() -> None:
    assessment = assess([finding(Relation.SELF, Category.EXCHANGE)])
    assert assessment.level is Level.NONE
    assert assessment.reasons == ()


def test_the_worst_finding_decides_and_reasons_come_worst_first() -> None:
    assessment = assess(
        [
            finding(
                Relation.COUNTERPARTY,
                Category.SCAM,
                counterparty="1A",
                direction="sent_to",
                amount=5,
                tx_count=1,
            ),
            finding(Relation.CLUSTER, Category.SANCTIONED),
        ]
    )
    assert assessment.score == 90
    assert [r.finding.relation for r in assessment.reasons] == [Relation.CLUSTER, Relation.COUNTERPARTY]


def test_every_reason_names_label_list_address_and_relation() -> None:
    reason = (
        assess(
            [
                finding(
                    Relation.COUNTERPARTY,
                    Category.SANCTIONED,
                    counterparty="1A",
                    direction="received_from",
                    amount=50_000,
                    tx_count=2,
                    unit="sat",
                )
            ]
        )
        .reasons[0]
        .as_dict()
    )
    assert reason["relation"] == "counterparty"
    assert reason["source"] == "OFAC SDN list (XBT)"
    assert reason["address"] == "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
    assert reason["amount"] == 50_000
    assert "received from 1A (50,000 sat in 2 tx)" in str(reason["explanation"])
    assert "OFAC SDN list (XBT)" in str(reason["explanation"])


def test_levels_at_their_boundaries() -> None:
    assert [level_for(s) for s in (0, 1, 24, 25, 54, 55, 84, 85, 100)] == [
        Level.NONE,
        Level.LOW,
        Level.LOW,
        Level.MEDIUM,
        Level.MEDIUM,
        Level.HIGH,
        Level.HIGH,
        Level.SEVERE,
        Level.SEVERE,
    ]
