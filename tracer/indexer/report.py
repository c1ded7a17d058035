"""What an indexer run did: counts, time, heights. Chain-specific row counts are summed by name."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tracer.indexer.adapter import BatchStats


@dataclass(slots=True)
class IndexReport:
    blocks: int = 0  # blocks written (new, or rewritten)
    txs: int = 0
    unchanged: int = 0  # blocks found already stored with the same hash, skipped before parsing
    seconds: float = 0.0
    heights: list[int] = field(default_factory=list)  # heights written, in order
    rows: Counter[str] = field(default_factory=Counter)  # chain-specific: outputs, inputs, ...
    reorgs: int = 0  # times a stored block was found off the node's chain and dropped

    def add(self, stats: BatchStats, heights: list[int], unchanged: int = 0) -> None:
        self.blocks += stats.blocks
        self.txs += stats.txs
        self.unchanged += unchanged
        self.rows.update(stats.rows)
        self.heights.extend(heights)

    def merge(self, other: IndexReport) -> None:
        self.blocks += other.blocks
        self.txs += other.txs
        self.unchanged += other.unchanged
        self.rows.update(other.rows)
        self.heights.extend(other.heights)
        self.reorgs += other.reorgs

    @property
    def outputs(self) -> int:
        return self.rows["outputs"]

    @property
    def inputs(self) -> int:
        return self.rows["inputs"]

    @property
    def inputs_resolved(self) -> int:
        return self.rows["inputs_resolved"]

    def summary(self) -> str:
        """One human line: what was written, or that everything was already there."""
        if self.blocks == 0 and self.unchanged:
            return f"all {self.unchanged} blocks were already stored (same hashes): nothing to write"
        rate = self.txs / self.seconds if self.seconds else 0.0
        line = (
            f"{self.blocks} blocks, {self.txs} txs in {self.seconds:.3f} s "
            f"({self.blocks / self.seconds if self.seconds else 0.0:.1f} blocks/s, {rate:.1f} tx/s)"
        )
        if self.unchanged:
            line += f"; {self.unchanged} blocks already stored"
        return line

    def as_dict(self) -> dict[str, object]:
        rate = self.seconds or float("inf")
        body: dict[str, object] = {
            "blocks": self.blocks,
            "txs": self.txs,
            **{name: count for name, count in sorted(self.rows.items()) if name != "inputs_resolved"},
            "inputs_resolved_from_stored_outputs": self.rows["inputs_resolved"],
            "blocks_unchanged": self.unchanged,
            "seconds": round(self.seconds, 3),
            "blocks_per_second": round(self.blocks / rate, 1),
            "txs_per_second": round(self.txs / rate, 1),
            "heights": [min(self.heights), max(self.heights)] if self.heights else [],
        }
        if self.reorgs:
            body["reorgs"] = self.reorgs
        return body
