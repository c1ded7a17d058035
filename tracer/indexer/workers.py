"""One worker of a shared index: take leased chunks of a height range until none is left (chain-agnostic).

Several processes (``tracer index ... --workers N`` starts N, ``--shared`` joins one more) run this on one
database. Each takes the lowest free chunk, indexes it through its own ``Indexer`` (pipeline, caches), and
moves on; when only chunks others hold are left it waits, so that a worker killed -9 has its chunk taken
over once that lease expires. No double work: a batch commits only while its lease is still held.

Inputs whose spent output lies in another worker's chunk are written unresolved and filled when the output's
batch commits; the writer serialises batches per chain from the moment they draw transaction ids (see
``tracer.store.chaindata``), so the rows end the same as one worker's and ids follow commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from tracer.indexer.adapter import ParsedT, RawT
from tracer.indexer.leases import (
    DEFAULT_LEASE_SECONDS,
    LeaseLost,
    LeasePosition,
    claim,
    heartbeat,
    open_chunks,
    release,
)
from tracer.indexer.pipeline import Indexer
from tracer.indexer.report import IndexReport

log = logging.getLogger(__name__)


def worker_name() -> str:
    """host:pid:random — unique across machines, restarts and pid reuse."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def work_shared(
    indexer: Indexer[RawT, ParsedT],
    *,
    owner: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> IndexReport:
    """Take chunks of ``indexer.adapter``'s (chain, source) until every chunk is done or ``stop`` is set."""
    owner = owner or worker_name()
    chain, source = indexer.adapter.chain, indexer.adapter.source
    report = IndexReport()
    while not indexer.stop.is_set():
        lease = await claim(indexer.pool, chain, source, owner, lease_seconds)
        if lease is None:
            if await open_chunks(indexer.pool, chain, source) == 0:
                break
            with contextlib.suppress(TimeoutError):  # others hold the rest; one may die
                await asyncio.wait_for(indexer.stop.wait(), min(lease_seconds / 3, 1.0))
            continue
        position = LeasePosition(lease, lease_seconds)
        log.info("took a range", extra={"owner": owner, "from": lease.next_height, "to": lease.last_height})
        try:
            async with heartbeat(indexer.pool, position):
                report.merge(await indexer.run(lease.next_height, lease.last_height, position))
        except LeaseLost:
            log.warning("lease taken over; moving on", extra={"owner": owner, "chunk": lease.chunk})
        finally:
            await release(indexer.pool, lease)
    return report
