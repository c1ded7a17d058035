"""Address validation at the edge, for every chain: one call, one error type (AddressError)."""

from __future__ import annotations

from collections.abc import Callable

from chains.bitcoin import address as bitcoin
from chains.errors import AddressError
from chains.evm import address as evm
from chains.model import Chain
from chains.tron import address as tron

_NORMALISERS: dict[Chain, Callable[[str], str]] = {
    Chain.BITCOIN: bitcoin.normalize_address,
    Chain.ETHEREUM: evm.normalize_address,
    Chain.TRON: tron.normalize_address,
}


def normalize(chain: Chain, text: str) -> str:
    """The canonical form of ``text`` on ``chain``; raises AddressError if it is not a valid address."""
    return _NORMALISERS[chain](text)


def detect(text: str) -> tuple[Chain, str] | None:
    """The chain whose address format ``text`` has, with the normalised address; None if no chain we know."""
    stripped = text.strip()
    candidates = (Chain.ETHEREUM,) if stripped.startswith("0x") else (Chain.TRON, Chain.BITCOIN)
    for chain in candidates:
        try:
            return chain, _NORMALISERS[chain](stripped)
        except AddressError:
            continue
    return None
