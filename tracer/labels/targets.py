"""Where a listed address lives: its chain and normalised form, decided once per distinct string."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from datetime import date

from chains.addresses import normalize
from chains.errors import AddressError
from chains.model import Chain
from tracer.labels.records import LabelRecord

# Currency / asset codes in label sources whose chains we index. The address format then decides the
# chain (tokens such as USDT live on several). Anything else (LTC, XMR, ...) is counted and skipped.
SUPPORTED_ASSETS = frozenset({"BTC", "XBT", "ETH", "TRX", "USDT", "USDC"})
CHAIN_NAMES = {"BITCOIN": Chain.BITCOIN, "ETHEREUM": Chain.ETHEREUM, "TRON": Chain.TRON}
UNSUPPORTED_ASSET = "unsupported asset"  # skip reason prefix: a chain tracer does not index
INVALID_ADDRESS = "invalid address"


def locate(asset: str, address: str, skipped: Counter[str]) -> tuple[Chain, str] | None:
    """(chain, normalised address) for a listed address, or None (counted in ``skipped``).

    ``asset`` is the source's currency code or chain name ("" if it gives none). The address format
    decides the chain: OFAC lists one TRON address under XBT, and tokens (USDT) live on several chains.
    """
    if asset and asset not in SUPPORTED_ASSETS and asset not in CHAIN_NAMES:
        skipped[f"{UNSUPPORTED_ASSET} {asset}"] += 1
        return None
    found = detect_cached(address.strip())
    if found is None or (asset in CHAIN_NAMES and found[0] is not CHAIN_NAMES[asset]):
        skipped[INVALID_ADDRESS] += 1
        return None
    return found


# Lists overlap (OFAC .txt and .json, GraphSense ofac.yaml): each distinct string is validated once.
@functools.lru_cache(maxsize=1 << 18)
def detect_cached(text: str) -> tuple[Chain, str] | None:
    """As chains.addresses.detect, trying the likelier chain first (TRON addresses start with T)."""
    if text.startswith("0x"):
        order: tuple[Chain, ...] = (Chain.ETHEREUM,)
    elif text.startswith("T"):
        order = (Chain.TRON, Chain.BITCOIN)
    else:
        order = (Chain.BITCOIN, Chain.TRON)
    for chain in order:
        try:
            return chain, normalize(chain, text)
        except AddressError:
            continue
    return None


def dedupe(records: Iterable[LabelRecord]) -> tuple[LabelRecord, ...]:
    """First record of each (chain, address, label), in input order."""
    seen: dict[tuple[Chain, str, str], LabelRecord] = {}
    for record in records:
        seen.setdefault((record.chain, record.address, record.label), record)
    return tuple(seen.values())


def as_date(value: object) -> date | None:
    """A date from YAML (a date, or a string when quoted) or CSV text; None if it is neither."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
