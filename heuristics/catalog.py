"""What each heuristic is: the chains it reads, whether it shows ownership, how strong it is, and its source.

``ownership``: the merge follows from control of keys (co-signing inputs); collapse guards never hold such a
merge back. Every other heuristic infers control from behaviour, so the engine refuses its merges of clusters
whose labels name different owners, and holds back ``weak`` ones that would grow a cluster past a set size.
``default``: switched on when ``tracer cluster`` is run without ``--heuristics``.
"""

from __future__ import annotations

from dataclasses import dataclass

from chains.model import Chain
from heuristics import change
from heuristics.evidence import Heuristic


@dataclass(frozen=True, slots=True)
class HeuristicInfo:
    heuristic: Heuristic
    chains: frozenset[Chain]
    ownership: bool
    weak: bool
    default: bool
    source: str  # where it is published
    precision: str = "not applicable: ownership, not inference"  # as published (heuristics.change)


_NOT_FOUND = f"{change.NO_FIGURE_FOUND} (in the text available to us)"
_UTXO = frozenset({Chain.BITCOIN})
_ACCOUNT = frozenset({Chain.ETHEREUM, Chain.TRON})

CATALOG: dict[Heuristic, HeuristicInfo] = {
    info.heuristic: info
    for info in (
        HeuristicInfo(
            Heuristic.COMMON_INPUT, _UTXO, ownership=True, weak=False, default=True,
            source="Nakamoto 2008 s.10; Meiklejohn et al. 2013 heuristic 1; CoinJoins vetoed "
            "(heuristics.coinjoin)",
            precision="not applicable: co-signing shows control of keys; wrong only for CoinJoins (vetoed "
            "where a detector matches) and PayJoins (indistinguishable by design)",
        ),
        HeuristicInfo(
            Heuristic.CHANGE_FRESH_ADDRESS, _UTXO, ownership=False, weak=True, default=False,
            source=change.FRESH_ADDRESS_PUBLISHED.source,
            precision=change.FRESH_ADDRESS_PUBLISHED.precision,
        ),
        HeuristicInfo(
            Heuristic.CHANGE_OPTIMAL, _UTXO, ownership=False, weak=True, default=False,
            source=change.OPTIMAL_CHANGE_PUBLISHED.source,
            precision=change.OPTIMAL_CHANGE_PUBLISHED.precision,
        ),
        HeuristicInfo(
            Heuristic.CHANGE_ADDRESS_TYPE, _UTXO, ownership=False, weak=True, default=False,
            source=change.ADDRESS_TYPE_PUBLISHED.source,
            precision=change.ADDRESS_TYPE_PUBLISHED.precision,
        ),
        HeuristicInfo(
            Heuristic.CHANGE_FINGERPRINT, _UTXO, ownership=False, weak=True, default=False,
            source=change.FINGERPRINT_PUBLISHED.source,
            precision=change.FINGERPRINT_PUBLISHED.precision,
        ),
        HeuristicInfo(
            Heuristic.DEPOSIT_ADDRESS, _ACCOUNT, ownership=False, weak=False, default=True,
            source="Victor 2020, 'Address clustering heuristics for Ethereum' (FC 2020), s.4.1",
            precision=_NOT_FOUND,
        ),
        HeuristicInfo(
            Heuristic.AIRDROP, _ACCOUNT, ownership=False, weak=True, default=False,
            source="Victor 2020 s.4.2 (airdrop multi-participation)",
            precision=_NOT_FOUND,
        ),
        HeuristicInfo(
            Heuristic.SELF_AUTHORIZATION, _ACCOUNT, ownership=False, weak=False, default=True,
            source="Victor 2020 s.4.3 (self-authorization: ERC-20 approve)",
            precision=_NOT_FOUND,
        ),
    )
}  # fmt: skip


def defaults(chain: Chain) -> tuple[Heuristic, ...]:
    return tuple(h for h, info in CATALOG.items() if info.default and chain in info.chains)


def for_chain(chain: Chain, names: tuple[str, ...] | None) -> tuple[Heuristic, ...]:
    """The heuristics to run on ``chain``: ``names`` (those that apply to the chain), or the defaults.
    Raises ValueError naming an unknown heuristic."""
    if names is None:
        return defaults(chain)
    chosen = []
    for name in names:
        try:
            chosen.append(Heuristic(name))
        except ValueError:
            raise ValueError(
                f"unknown heuristic {name!r}; known: {', '.join(h.value for h in CATALOG)}"
            ) from None
    return tuple(h for h in CATALOG if h in chosen and chain in CATALOG[h].chains)
