"""CPU time of process trees, from /proc (Linux): what a server side costs per request, which holds on a
machine shared with other work, where requests per second mostly measure the neighbours."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process, else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu_seconds(roots: list[int]) -> dict[int, float]:
    """CPU seconds used so far by ``roots`` and their children (a server and its workers, PostgreSQL's
    postmaster and its backends), by pid."""
    wanted = set(roots)
    used = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(entry.name)
        if stat is not None and (int(entry.name) in wanted or stat[0] in wanted):
            used[int(entry.name)] = stat[1]
    return used


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings by the processes alive at the second (one that ended in
    between, e.g. an autovacuum worker, is left out rather than subtracted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def postmaster_pid(data_dir: Path) -> int | None:
    """The PostgreSQL server's pid from its data directory, when it runs on this machine."""
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds so far of a server and all its children, those alive and those it has reaped
    (PostgreSQL's backends end with their connections: the postmaster's cutime/cstime keep their CPU)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / _TICKS
    return reaped + sum(tree_cpu_seconds([pid]).values())
