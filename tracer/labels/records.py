"""Label records and label sources: what a parser returns and what a stored source says about itself.

A *source* is one named list of labels with its provenance (where it came from, its sha256, as of when,
under which licence, for which tenant). Sources are the unit of import: re-importing a source replaces
its labels and nothing else (tracer.labels.guard decides when a replacement is refused).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chains.addresses import normalize
from chains.errors import AddressError
from chains.model import Chain
from tracer.errors import InputError, InvalidAddress, UnsupportedChain
from tracer.risk.categories import Category

PUBLIC_TENANT = "public"  # labels every tenant's screens see
_TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_SOURCE_NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class LabelRecord:
    chain: Chain
    address: str  # normalised (chains.addresses.normalize)
    label: str
    categories: tuple[Category, ...]  # ours, most severe first (at least one)
    source_categories: tuple[str, ...]  # as the source wrote them
    actor: str | None = None  # the source's name or id for who controls the address
    confidence: str | None = None
    reference: str | None = None  # where the source says the claim comes from
    attributes: Mapping[str, Any] = field(default_factory=dict)
    actor_key: str | None = None  # ActorRecord.key of that actor, when the source identifies one


@dataclass(frozen=True, slots=True)
class Designation:
    """An authority's designation of an actor (e.g. an OFAC SDN listing). Fields a source does not state
    stay None; nothing is filled in from general knowledge."""

    authority: str  # "OFAC"
    date: date | None
    legal_basis: str | None  # e.g. an executive order, as the source states it
    source_url: str | None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ActorRecord:
    """Who controls addresses: an entity some shipped source names, with its designations."""

    key: str  # stable across imports: "<source family>:<the source's id>", e.g. "graphsense:lazarusgroup"
    name: str
    category: Category  # one of tracer.risk.categories.ACTOR_CATEGORIES
    aliases: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()  # ISO 3166 codes, as the source gives them
    uri: str | None = None
    designations: tuple[Designation, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LabelSet:
    """What a format parser makes of one file: bytes in, records out, no I/O."""

    title: str  # what a screening reason names, e.g. "OFAC SDN list (XBT)"
    format: str
    records: tuple[LabelRecord, ...]
    skipped: Counter[str]  # reason -> count: invalid addresses, unsupported chains
    as_of: date | None = None  # the date the list itself states (snapshot date, TagPack lastmod)
    licence: str | None = None  # the licence the content itself states (per-row licences of a CSV)
    actors: tuple[ActorRecord, ...] = ()  # actors the file describes (ActorPack, scam-centre table)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A label source's identity and provenance, as stored in ``label_sources``."""

    name: str  # unique within a tenant; the key re-imports and --replace refer to
    title: str
    format: str
    origin: str  # absolute file path or URL the labels were read from
    sha256: str  # of the bytes read (for record-level imports: of the canonical records)
    as_of: date | None = None
    licence: str | None = None
    tenant: str = PUBLIC_TENANT


def check_tenant(tenant: str) -> str:
    if not _TENANT_NAME.match(tenant):
        raise InputError(
            f"invalid tenant {tenant[:80]!r}: use 1-63 lower-case letters, digits, '_', '.', '-'"
        )
    return tenant


def check_source_name(name: str) -> str:
    if not name.strip() or len(name) > _SOURCE_NAME_MAX or any(ch in name for ch in "\n\r\t\0"):
        raise InputError(f"invalid source name {name[:80]!r}: 1-{_SOURCE_NAME_MAX} printable characters")
    return name


def parse_address(chain: str, address: str) -> tuple[Chain, str]:
    """Any chain labels can name (not only screenable ones), validated and normalised."""
    try:
        parsed = Chain(chain.strip().lower())
    except ValueError:
        raise UnsupportedChain(
            f"unsupported chain {chain[:40]!r}", supported=[c.value for c in Chain]
        ) from None
    try:
        return parsed, normalize(parsed, address)
    except AddressError as exc:
        raise InvalidAddress(str(exc), chain=parsed.value, address=address[:120]) from exc
