"""What a chain plugs into the indexer core: the ``ChainAdapter`` protocol and the records it exchanges.

The core (``tracer.indexer.pipeline``) knows heights, batches, transactions, cursors, leases, progress and
metrics; it knows nothing of blocks' insides. A chain gives it one adapter object that:

- talks to its node (``tip_height``, ``fetch``): I/O, runs on the event loop;
- names a *picklable, module-level* parse function (``parser``) that turns one raw payload into whatever the
  adapter's ``write`` wants: it runs in a worker process, so keep its result compact (tuples of primitives
  pickle several times faster than dataclass trees);
- reads a header (height, hash, parent hash) from a raw payload without parsing its transactions
  (``raw_header``), so blocks already stored are recognised before any parse work, and parent hashes
  can be checked for reorgs;
- writes parsed blocks inside a transaction the core opened (``write``), and drops blocks from a height up
  when the node's chain no longer extends ours (``rollback``); both run in the same transaction as the
  cursor move;
- may prepare the batch it will write next while the current one waits on the database (``upcoming``);
- is told when that transaction committed or rolled back (``committed`` / ``aborted``), so in-process caches
  (address ids, unspent outputs) only ever hold what is really in the database.

Lifecycle: the core calls ``tip_height`` and ``fetch`` concurrently (several batches in flight), ``parser()``
once, and ``stored_hashes`` / ``write`` / ``rollback`` one batch at a time, in height order, from one task.
See ``tracer.indexer.bitcoin.BitcoinAdapter`` for the first implementation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import asyncpg

RawT = TypeVar("RawT")  # one block as fetched: hex text, bytes, a JSON object... must pickle
ParsedT = TypeVar("ParsedT")  # one block as ``parser()`` returns it, as ``write`` takes it; must pickle


@dataclass(frozen=True, slots=True)
class Header:
    """Where a block sits in its chain: enough to recognise it and to check it extends its parent."""

    height: int
    hash: str  # lower-case hex, the chain's display form
    prev_hash: str


@dataclass(frozen=True, slots=True)
class BatchStats:
    """What one ``write`` stored. ``rows`` holds chain-specific counts (``outputs``, ``inputs``, ``logs``...)
    that reports and metrics sum by name."""

    blocks: int
    txs: int
    rows: Mapping[str, int] = field(default_factory=dict)


class ChainAdapter(Protocol[RawT, ParsedT]):
    """A chain's side of the indexer. Methods taking ``conn`` run inside the core's open transaction."""

    @property
    def chain(self) -> str:
        """The chain's name as stored (``chains.model.Chain`` value): the key of cursors and leases."""
        ...

    @property
    def source(self) -> str:
        """Which kind of source feeds the index (``rpc``, ``esplora``, ``blk``...): cursors are per source."""
        ...

    async def tip_height(self) -> int:
        """The node's best height."""
        ...

    async def block_hash(self, height: int) -> str:
        """The node's block hash at ``height`` (cheap: no block body). Follow mode compares it with ours
        to notice a reorg that replaced the tip without making the chain longer."""
        ...

    async def fetch(self, heights: Sequence[int]) -> list[RawT]:
        """Raw payloads for ``heights``, in that order (batched requests). Raise ``chains.errors.NodeError``
        (after the client's own retries) when the node fails; the core counts it by class and stops."""
        ...

    def parser(self) -> Callable[[RawT, int], ParsedT]:
        """A module-level function ``(raw, height) -> parsed``, run in a worker process (must pickle).
        Raise ``chains.errors.ParseError`` on bad data."""
        ...

    def raw_header(self, raw: RawT, height: int) -> Header:
        """The header of a raw payload, read without parsing its transactions (cheap; runs on the loop)."""
        ...

    def tx_count(self, parsed: ParsedT) -> int:
        """Transactions in one parsed block (for progress and the ``txs`` metric)."""
        ...

    @property
    def keeps_caches(self) -> bool:
        """Whether the adapter keeps large in-process caches across batches (Bitcoin: unspent outputs,
        address ids). The core then moves what each batch leaves alive beyond the cyclic garbage
        collector's reach (``pipeline._freeze_survivors``); without such caches that pass costs more than
        it saves."""
        ...

    async def stored_hashes(self, conn: asyncpg.Connection, first: int, last: int) -> dict[int, str]:
        """``{height: hash}`` of the blocks stored at ``first..last`` (heights missing when not stored)."""
        ...

    async def write(
        self, conn: asyncpg.Connection, blocks: Sequence[ParsedT], *, replace: Sequence[int]
    ) -> BatchStats:
        """Store ``blocks`` (height order, contiguous or not) in the caller's transaction. ``replace`` lists
        heights stored with another hash (or ``--reindex``): delete those first. Nothing is committed here."""
        ...

    def upcoming(self, parsed: asyncio.Future[list[ParsedT | None]]) -> None:
        """The batch the core writes after the one it writes next (one per height, None: not to write; the
        parse may still run): an adapter may prepare it while that one waits on the database. The core
        then passes ``write`` those blocks (the same objects) unless some were stored meanwhile."""
        ...

    async def rollback(self, conn: asyncpg.Connection, from_height: int) -> int:
        """Delete every stored block at ``from_height`` and above (a reorg); return how many went."""
        ...

    def committed(self) -> None:
        """The transaction of the last ``write``/``rollback`` committed: make its cache entries visible."""
        ...

    def aborted(self) -> None:
        """The transaction of the last ``write``/``rollback`` rolled back: forget its cache entries."""
        ...

    async def before_run(self, conn: asyncpg.Connection, *, heights: int, bulk: bool | None) -> None:
        """Before a run of ``heights`` blocks: e.g. defer checks and indexes for a first pass (``bulk``
        True, or None and the adapter finds the range long enough), or rebuild what a killed one deferred."""
        ...

    async def after_run(self, pool: asyncpg.Pool) -> None:
        """Once a run ends (range done, or stopped): housekeeping such as refreshing planner statistics, or
        rebuilding what a first pass deferred (on as many of the pool's connections as it likes)."""
        ...


def headers_chain(headers: Sequence[Header]) -> int | None:
    """The index of the first header that does not extend the one before it, or None if they chain."""
    for i in range(1, len(headers)):
        if headers[i].height == headers[i - 1].height + 1 and headers[i].prev_hash != headers[i - 1].hash:
            return i
    return None
