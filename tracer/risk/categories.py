"""Our label vocabulary and how source categories map onto it: the one taxonomy of labels and actors.

Sources speak different taxonomies (GraphSense concepts, OFAC lists, research CSVs). Screening needs one:
each ``Category`` has a severity, and a source label maps to the most severe category it supports.
An actor (tracer.labels.actors) takes its category from ``ACTOR_CATEGORIES``, a subset of the same enum.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from enum import IntEnum, StrEnum


class Severity(IntEnum):
    NONE = 0  # informational: exchanges, miners, services
    MEDIUM = 1
    HIGH = 2
    SEVERE = 3


class Category(StrEnum):
    SANCTIONED = "sanctioned"
    TERRORISM_FINANCING = "terrorism_financing"
    SCAM_CENTRE = "scam_centre"  # forced-labour scam compounds and their money movers
    SCAM = "scam"  # pig butchering, Ponzi, phishing, sextortion, fraud
    MONEY_LAUNDERING = "money_laundering"  # laundering services, guarantee (escrow) marketplaces
    RANSOMWARE = "ransomware"
    HACK = "hack"  # stolen funds, exploits
    DARKNET_MARKET = "darknet_market"
    MIXER = "mixer"
    BLACKLISTED = "blacklisted"  # frozen by an issuer (USDT/USDC blacklists)
    COINJOIN = "coinjoin"
    GAMBLING = "gambling"
    VICTIM_REPORTED = "victim_reported"  # reported by victims, not confirmed by an authority
    EXCHANGE = "exchange"
    PAYMENT_PROCESSOR = "payment_processor"
    MINING = "mining"
    SERVICE = "service"
    OTHER = "other"


SEVERITY: dict[Category, Severity] = {
    Category.SANCTIONED: Severity.SEVERE,
    Category.TERRORISM_FINANCING: Severity.SEVERE,
    Category.SCAM_CENTRE: Severity.HIGH,
    Category.SCAM: Severity.HIGH,
    Category.MONEY_LAUNDERING: Severity.HIGH,
    Category.RANSOMWARE: Severity.HIGH,
    Category.HACK: Severity.HIGH,
    Category.DARKNET_MARKET: Severity.HIGH,
    Category.MIXER: Severity.HIGH,
    Category.BLACKLISTED: Severity.HIGH,
    Category.COINJOIN: Severity.MEDIUM,
    Category.GAMBLING: Severity.MEDIUM,
    Category.VICTIM_REPORTED: Severity.MEDIUM,
    Category.EXCHANGE: Severity.NONE,
    Category.PAYMENT_PROCESSOR: Severity.NONE,
    Category.MINING: Severity.NONE,
    Category.SERVICE: Severity.NONE,
    Category.OTHER: Severity.NONE,
}

# Source words -> our category. Checked against explicit category fields first, then (for sources whose
# category is generic, e.g. GraphSense "user") against the label and pack title. Order: most severe first.
_KEYWORDS: tuple[tuple[Category, re.Pattern[str]], ...] = tuple(
    (category, re.compile(pattern, re.IGNORECASE))
    for category, pattern in (
        (Category.SANCTIONED, r"\b(ofac|sanction\w*|sdn)\b"),
        (Category.TERRORISM_FINANCING, r"terror"),
        (Category.SCAM_CENTRE, r"scam[_ -]?cent(re|er)|forced[_ -]labou?r|scam compound"),
        (Category.RANSOMWARE, r"ransom"),
        (Category.HACK, r"\b(hack\w*|stolen|exploit\w*|theft|heist|lazarus)\b"),
        (Category.SCAM, r"scam|ponzi|phish|fraud|pyramid|sextortion|plustoken|forsage|pig[_ -]?butcher"),
        (Category.MONEY_LAUNDERING, r"launder|guarantee[_ -]?(market|marketplace|platform)"),
        (Category.DARKNET_MARKET, r"\b(market|darknet|dark[_ -]?web|hydra)\b"),
        (Category.MIXER, r"mix(er|ing)|tornado|blender|sinbad"),
        (Category.BLACKLISTED, r"black[_ -]?list|blocked|frozen"),
        (Category.COINJOIN, r"coinjoin|samourai|wasabi|whirlpool|joinmarket"),
        (Category.GAMBLING, r"gambl|casino|betting"),
        (Category.VICTIM_REPORTED, r"victim[_ -]?report|reported by (a )?victim"),
        (Category.PAYMENT_PROCESSOR, r"payment[_ -]?processor"),
        (Category.EXCHANGE, r"exchange|reserve wallet"),
        (Category.MINING, r"\b(miner|mining|pool)\b"),
        (Category.SERVICE, r"service|wallet"),
    )
)


# The actor taxonomy: what an actor record may be (sanctioned entity, scam centre / pig-butchering
# operation, money-laundering service or guarantee marketplace, mixer, ransomware, darknet market,
# exchange, payment processor, victim-reported), most severe first.
ACTOR_CATEGORIES: tuple[Category, ...] = (
    Category.SANCTIONED,
    Category.SCAM_CENTRE,
    Category.MONEY_LAUNDERING,
    Category.MIXER,
    Category.RANSOMWARE,
    Category.DARKNET_MARKET,
    Category.VICTIM_REPORTED,
    Category.EXCHANGE,
    Category.PAYMENT_PROCESSOR,
)


def actor_category(explicit: Iterable[str], context: Iterable[str] = ()) -> Category | None:
    """The actor-taxonomy category a source's categories support (most severe), or None if none."""
    return next((c for c in classify(explicit, context) if c in ACTOR_CATEGORIES), None)


def classify(explicit: Iterable[str], context: Iterable[str] = ()) -> list[Category]:
    """Our categories for a source label, most severe first (at least one: OTHER).

    ``explicit`` are the source's category fields; ``context`` its label text, actor and list title, used
    only when the explicit fields say nothing we know (GraphSense tags OFAC addresses as "user").
    """
    return list(_classify(tuple(explicit), tuple(context)))


@functools.lru_cache(maxsize=4096)  # tag packs repeat the same label and title for thousands of tags
def _classify(explicit: tuple[str, ...], context: tuple[str, ...]) -> tuple[Category, ...]:
    found = _match(explicit)
    if not found or found == [Category.SERVICE]:
        found = sorted(set(found) | set(_match(context)), key=_rank)
    return tuple(found) or (Category.OTHER,)


def _match(texts: Iterable[str]) -> list[Category]:
    hits: set[Category] = set()
    for raw in texts:
        text = raw.replace("_", " ")
        for category, pattern in _KEYWORDS:
            if category.value.replace("_", " ") == text.lower() or pattern.search(text):
                hits.add(category)
    return sorted(hits, key=_rank)


def _rank(category: Category) -> tuple[int, int]:
    """Most severe first; among equals, the order of ``Category`` (never set or hash order)."""
    return -SEVERITY[category], _ORDER[category]


_ORDER = {category: i for i, category in enumerate(Category)}
