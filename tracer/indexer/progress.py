"""Progress of an indexer run: a one-line bar on a terminal (blocks, tx/s, ETA), JSON log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger(__name__)

LOG_EVERY_S = 10.0  # seconds between progress log lines when stderr is not a terminal
BAR_EVERY_S = 0.25  # seconds between bar redraws
BAR_WIDTH = 24  # characters


class Progress:
    """Call ``advance`` after each committed batch and ``close`` at the end.

    ``total`` is the number of heights in the run (None when following an open-ended tip)."""

    def __init__(
        self, total: int | None, *, stream: TextIO | None = None, bar: bool | None = None, label: str = ""
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.bar = self.stream.isatty() if bar is None else bar
        self.label = label
        self.started = time.monotonic()
        self.done = 0  # heights handled, written or found already stored
        self.txs = 0
        self.height = -1
        self._last_shown = 0.0

    def advance(self, heights: int, txs: int, height: int) -> None:
        self.done += heights
        self.txs += txs
        self.height = height
        now = time.monotonic()
        if now - self._last_shown >= (BAR_EVERY_S if self.bar else LOG_EVERY_S):
            self._last_shown = now
            self._show(now)

    def close(self) -> None:
        if self.bar and self.done:
            self._show(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    def eta_seconds(self, now: float) -> float | None:
        elapsed = now - self.started
        if not self.total or not self.done or elapsed <= 0:
            return None
        return (self.total - self.done) * elapsed / self.done

    def _show(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.txs / elapsed
        eta = self.eta_seconds(now)
        if not self.bar:
            log.info(
                "index progress",
                extra={
                    "height": self.height,
                    "blocks_done": self.done,
                    "blocks_total": self.total,
                    "txs": self.txs,
                    "txs_per_second": round(rate, 1),
                    "eta_seconds": None if eta is None else round(eta),
                },
            )
            return
        if self.total:
            filled = int(BAR_WIDTH * min(self.done / self.total, 1.0))
            bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"
            where = f"{bar} {self.done}/{self.total} blocks"
        else:
            where = f"{self.done} blocks"
        tail = f"  ETA {_duration(eta)}" if eta is not None else ""
        line = f"\r{self.label}{where}  height {self.height}  {rate:,.0f} tx/s{tail}"
        self.stream.write(line.ljust(100))
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
