"""Which deferred step of a first pass's rebuild (``tracer.store.bulkload``) a free connection runs next: the
first, in priority order, whose table locks conflict with no step running, so that no connection waits on
another's lock while there is work it could do.

The locks are PostgreSQL's (``LOCK`` modes, docs: "Table-Level Locks"), for the statements the rebuild runs:
``CREATE INDEX`` takes SHARE on its table; ``ADD CONSTRAINT ... UNIQUE`` ACCESS EXCLUSIVE; ``VALIDATE
CONSTRAINT`` of a foreign key SHARE UPDATE EXCLUSIVE on its table and ROW SHARE on the table it references;
``ANALYZE`` SHARE UPDATE EXCLUSIVE on its table.
Two validations of keys to the same table run side by side that way; ``ADD FOREIGN KEY`` (which validates
under SHARE ROW EXCLUSIVE on both tables, a mode that conflicts with itself) ran them one after another.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

ROW_SHARE: Final = "ROW SHARE"
SHARE_UPDATE_EXCLUSIVE: Final = "SHARE UPDATE EXCLUSIVE"
SHARE: Final = "SHARE"
ACCESS_EXCLUSIVE: Final = "ACCESS EXCLUSIVE"
# PostgreSQL's conflict table, restricted to the modes above (it is symmetric).
CONFLICTS: Final[Mapping[str, frozenset[str]]] = {
    ROW_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    SHARE_UPDATE_EXCLUSIVE: frozenset({SHARE_UPDATE_EXCLUSIVE, SHARE, ACCESS_EXCLUSIVE}),
    SHARE: frozenset({SHARE_UPDATE_EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ACCESS_EXCLUSIVE: frozenset({ROW_SHARE, SHARE_UPDATE_EXCLUSIVE, SHARE, ACCESS_EXCLUSIVE}),
}
ANALYZE: Final = "analyze"
_REFERENCES = re.compile(r"\bREFERENCES\s+([\w.\"]+)\s*\(")


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded item of ``bulk_load_dropped``: an index or a constraint to build again."""

    name: str
    table: str
    kind: str  # 'index', 'constraint' (both recorded) or 'analyze' (``analyze``)
    definition: str  # pg_get_indexdef / pg_get_constraintdef / the ANALYZE statement

    @property
    def foreign_key(self) -> bool:
        return self.kind == "constraint" and self.definition.startswith("FOREIGN KEY")

    @property
    def referenced(self) -> str:
        """The table a foreign key references (as the definition names it)."""
        match = _REFERENCES.search(self.definition)
        if match is None:
            raise ValueError(f"not a foreign key: {self.definition}")
        return match[1]

    def locks(self) -> dict[str, str]:
        """Table -> the lock mode this step's statement takes on it."""
        if self.kind == "index":
            return {self.table: SHARE}
        if self.foreign_key:
            return {self.referenced: ROW_SHARE, self.table: SHARE_UPDATE_EXCLUSIVE}
        if self.kind == ANALYZE:
            return {self.table: SHARE_UPDATE_EXCLUSIVE}
        return {self.table: ACCESS_EXCLUSIVE}

    def conflicts(self, other: Step) -> bool:
        theirs = other.locks()
        return any(
            table in theirs and theirs[table] in CONFLICTS[mode] for table, mode in self.locks().items()
        )


def analyze(table: str) -> Step:
    """A step that refreshes ``table``'s statistics (not recorded: nothing of the schema waits for it)."""
    return Step(f"analyze {table}", table, ANALYZE, f"ANALYZE {table}")


class Schedule:
    """Hands steps to connections (``next``), each told when its step ended (``done``)."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self._todo = list(steps)  # priority order
        self._running: list[Step] = []
        self._changed = asyncio.Condition()

    async def next(self) -> Step | None:
        """The first step to do that conflicts with none running, waiting for one to end if all of them
        do; None when no step is left to start."""
        async with self._changed:
            while self._todo:
                step = next((s for s in self._todo if not any(s.conflicts(r) for r in self._running)), None)
                if step is not None:
                    self._todo.remove(step)
                    self._running.append(step)
                    return step
                await self._changed.wait()
            return None

    async def done(self, step: Step) -> None:
        async with self._changed:
            self._running.remove(step)
            self._changed.notify_all()
