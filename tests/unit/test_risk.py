"""Label vocabulary and the risk score: each level, relation and hop count, one reason per actor, the rules
file's checks, and monotonicity in hops (property tests)."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracer.errors import ConfigError
from tracer.risk.categories import Category, classify
from tracer.risk.rules import default_rules, parse_rules
from tracer.risk.scoring import Direction, Finding, Level, Relation, assess

RULES_TEXT = resources.files("tracer.risk").joinpath("rules.toml").read_text(encoding="utf-8")


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
    values: dict[str, object] = {
        "actor_key": "address:1",
        "actor": "OFAC SDN listed address",
        "relation": relation,
        "category": category,
        "label": "OFAC SDN listed address",
        "source": "OFAC SDN list (XBT)",
        "labelled_address": "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d",
        "hops": 0 if relation is not Relation.COUNTERPARTY else 1,
    }
    values.update(extra)
    return Finding(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("relation", "category", "hops", "score", "level"),
    [
        (Relation.SELF, Category.SANCTIONED, 0, 100, Level.SEVERE),
        (Relation.CLUSTER, Category.SANCTIONED, 0, 90, Level.SEVERE),
        (Relation.COUNTERPARTY, Category.SANCTIONED, 1, 60, Level.HIGH),
        (Relation.COUNTERPARTY, Category.SANCTIONED, 2, 30, Level.MEDIUM),  # 100 * 0.6 * 0.5
        (Relation.COUNTERPARTY, Category.SANCTIONED, 3, 15, Level.LOW),  # 100 * 0.6 * 0.25
        (Relation.SELF, Category.SCAM_CENTRE, 0, 75, Level.HIGH),
        (Relation.COUNTERPARTY, Category.SCAM, 1, 45, Level.MEDIUM),
        (Relation.SELF, Category.GAMBLING, 0, 40, Level.MEDIUM),
        (Relation.COUNTERPARTY, Category.GAMBLING, 1, 24, Level.LOW),
    ],
)
def test_score_is_category_times_relation_decayed_by_hops(
    relation: Relation, category: Category, hops: int, score: int, level: Level
) -> None:
    assessment = assess([finding(relation, category, hops=hops, direction=Direction.INCOMING)])
    assert (assessment.score, assessment.level) == (score, level)


def test_informational_labels_give_no_reason_and_no_risk() -> None:
    assessment = assess([finding(Relation.SELF, Category.EXCHANGE)])
    assert assessment.level is Level.NONE
    assert assessment.reasons == ()


def test_one_reason_per_actor_listing_every_source() -> None:
    # One address on three lists, none naming an actor (one actor: whoever controls the address), and a
    # scam-centre actor met through a counterparty: two reasons, the worst first.
    lists = [
        "OFAC SDN list (XBT)",
        "OFAC SDN list (XBT, snapshot 2025-10-22)",
        "GraphSense TagPack: ofac.yaml",
    ]
    findings = [finding(Relation.SELF, Category.SANCTIONED, source=s) for s in lists]
    findings.append(
        finding(
            Relation.COUNTERPARTY,
            Category.SCAM_CENTRE,
            actor_key="actor:Prince Group",
            actor="Prince Group",
            source="scam centres",
            direction=Direction.OUTGOING,
            amount=5,
            tx_count=1,
        )
    )
    assessment = assess(findings)
    assert [r.finding.actor for r in assessment.reasons] == ["OFAC SDN listed address", "Prince Group"]
    assert assessment.reasons[0].sources == tuple(sorted(lists))
    assert assessment.score == 100


def test_the_strongest_finding_of_an_actor_speaks_for_it() -> None:
    # The same actor directly (1 hop) and through a wallet (2 hops): the reason is the direct one.
    near = finding(Relation.COUNTERPARTY, Category.SANCTIONED, hops=1, direction=Direction.INCOMING, amount=7)
    far = finding(Relation.COUNTERPARTY, Category.SANCTIONED, hops=2, direction=Direction.INCOMING, amount=9)
    for order in ([near, far], [far, near]):  # the same inputs in any order give the same answer
        [reason] = assess(order).reasons
        assert (reason.finding.hops, reason.score) == (1, 60)


def test_every_reason_names_actor_category_relation_direction_hops_amount_and_path() -> None:
    reason = (
        assess(
            [
                finding(
                    Relation.COUNTERPARTY,
                    Category.SANCTIONED,
                    hops=2,
                    direction=Direction.INCOMING,
                    amount=50_000,
                    tx_count=2,
                    unit="sat",
                    path=("1A", "1B", "1C"),
                    txids=("ab",),
                )
            ]
        )
        .reasons[0]
        .as_dict()
    )
    assert reason["actor"] == "OFAC SDN listed address"
    assert (reason["category"], reason["relation"], reason["direction"], reason["hops"]) == (
        "sanctioned", "counterparty", "incoming", 2)  # fmt: skip
    assert (reason["amount"], reason["path"], reason["txids"]) == (50_000, ["1A", "1B", "1C"], ["ab"])
    assert reason["sources"] == ["OFAC SDN list (XBT)"]
    assert "received 50,000 sat from OFAC SDN listed address" in str(reason["explanation"])
    assert "2 hops away, via 1A -> 1B -> 1C" in str(reason["explanation"])


def test_an_unknown_amount_is_said_to_be_unknown() -> None:
    [reason] = assess([finding(Relation.COUNTERPARTY, Category.SCAM, direction=Direction.OUTGOING)]).reasons
    assert reason.as_dict()["amount"] is None
    assert "sent an unknown amount to" in reason.explanation


@given(
    category=st.sampled_from(list(Category)),
    direction=st.sampled_from(list(Direction)),
    hops=st.integers(min_value=1, max_value=12),
    more=st.integers(min_value=1, max_value=12),
)
def test_more_hops_never_scores_higher(
    category: Category, direction: Direction, hops: int, more: int
) -> None:
    rules = default_rules()
    near = rules.score(category, Relation.COUNTERPARTY, hops, direction)
    far = rules.score(category, Relation.COUNTERPARTY, hops + more, direction)
    assert far <= near <= rules.score(category, Relation.CLUSTER) <= rules.score(category, Relation.SELF)


@given(decay=st.floats(min_value=0.01, max_value=1.0), hops=st.integers(1, 8), more=st.integers(1, 8))
def test_any_valid_rules_file_keeps_hops_monotone(decay: float, hops: int, more: int) -> None:
    text = RULES_TEXT.replace("decay = 0.5", f"decay = {decay!r}")
    rules = parse_rules(text)
    for category in Category:
        assert rules.score(category, Relation.COUNTERPARTY, hops + more) <= rules.score(
            category, Relation.COUNTERPARTY, hops
        )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("decay = 0.5", "decay = 1.5"), "more hops may never score higher"),
        (("decay = 0.5", "decay = 0"), "more hops may never score higher"),
        (("sanctioned = 100", "sanctioned = 100\nnot_a_category = 3"), "unknown ['not_a_category']"),
        (("mixer = 75\n", ""), "missing ['mixer']"),
        (("high = 55", "high = 95"), "must descend"),
        (("[levels]", "[levels"), "TOMLDecodeError"),
    ],
)
def test_a_bad_rules_file_fails_loudly(change: tuple[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_rules(RULES_TEXT.replace(*change))


def test_levels_at_their_boundaries() -> None:
    level_for = default_rules().level
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
