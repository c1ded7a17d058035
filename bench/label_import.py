"""Label import speed on the bundled lists (OFAC, GraphSense TagPacks and ActorPack, scam-centre table):
labels stored per second into a fresh database with the exposure refresh that follows an import (as
`tracer labels import` runs it: the label tables' ANALYZE overlaps the refresh), then a re-import of the
same sources; the import and the refresh timed apart into another fresh database, with the CPU seconds
that import took in this Python process and in its PostgreSQL server (on a shared machine, wall time =
CPU time + waiting for a core); and the TagPack YAML read by our fast reader against PyYAML with libyaml
(the previous code path) on the same packs.

Run: .venv/bin/python -m bench.label_import   (last line: ratio of labels/s, refresh included, to the
50,000/s target)
"""

from __future__ import annotations

import asyncio
import gzip
import os
import time
from pathlib import Path

import asyncpg
import yaml

from bench.common import FIXTURES, figure, scratch_pool, timed
from tracer.jobs.labels import import_labels
from tracer.labels import fastyaml
from tracer.store.exposure_refresh import refresh_exposure

TARGET = 50_000  # labels/s; issue 6
LABELS = FIXTURES / "labels"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


async def cpu_seconds(pool: asyncpg.Pool) -> tuple[float, float | None]:
    """(CPU seconds of this process, of the PostgreSQL server behind ``pool`` or None if unreadable)."""
    try:
        data_dir = str(await pool.fetchval("SHOW data_directory"))
    except asyncpg.PostgresError:
        return time.process_time(), None
    return time.process_time(), await asyncio.to_thread(_server_cpu, data_dir)


def _server_cpu(data_dir: str) -> float | None:
    """The postmaster started on ``data_dir``, its live processes, and those that exited (their time is in
    the postmaster's children fields), from /proc (Linux)."""
    procs: dict[int, tuple[bytes, int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():  # self, sys, ...
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError, ValueError):
            continue
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        procs[int(entry.name)] = (command, int(fields[1]), ticks / _CLOCK_TICKS)
    masters = {pid for pid, (command, _, _) in procs.items() if data_dir.encode() in command}
    if not masters:
        return None
    return sum(cpu for pid, (_, parent, cpu) in procs.items() if pid in masters or parent in masters)


def yaml_read_seconds() -> tuple[float, float]:
    texts = []
    for path in sorted(LABELS.rglob("*.yaml*")):
        data = path.read_bytes()
        texts.append((gzip.decompress(data) if path.name.endswith(".gz") else data).decode())
    tagpacks = [t for t in texts if "\ntags:" in t]
    with timed() as ours:
        for text in tagpacks:
            fastyaml.load(text)
    with timed() as peer:
        for text in tagpacks:
            yaml.load(text, Loader=_LOADER)
    return ours[0], peer[0]


async def main() -> None:
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores, shared machine)")
    async with scratch_pool() as pool:  # the import as `tracer labels import` runs it, refresh included
        with timed() as whole:
            report = await import_labels(pool, LABELS)
        with timed() as again:
            await import_labels(pool, LABELS)
    async with scratch_pool() as pool:  # the same into another fresh database, its parts timed apart
        before = await cpu_seconds(pool)
        with timed() as fresh:
            await import_labels(pool, LABELS, refresh=False)
        after = await cpu_seconds(pool)
        with timed() as refresh:
            await refresh_exposure(pool)
    labels = report.labels
    figure("labels imported", labels, "labels")
    figure("actors imported", report.actors, "actors")
    figure("import into a fresh database, with the exposure refresh", whole[0], "s")
    figure("import into another fresh database, without the exposure refresh", fresh[0], "s")
    figure("exposure refresh after it (tracer.store.exposure_refresh)", refresh[0], "s")
    figure("CPU of that import in Python (parse, COPY encoding)", after[0] - before[0], "s")
    if after[1] is not None and before[1] is not None:
        figure("CPU of that import in PostgreSQL", after[1] - before[1], "s")
    figure("import into a fresh database, without the exposure refresh", labels / fresh[0], "labels/s")
    with_refresh = labels / whole[0]
    figure("import into a fresh database, with the exposure refresh", with_refresh, "labels/s")
    figure("re-import of the same sources, with the exposure refresh", labels / again[0], "labels/s")
    figure("ratio to 50,000 labels/s without the exposure refresh", labels / fresh[0] / TARGET, "x")
    ours, peer = yaml_read_seconds()
    figure("TagPack YAML read, tracer.labels.fastyaml", ours, "s")
    figure("TagPack YAML read, PyYAML + libyaml (previous path)", peer, "s")
    figure("YAML read speed-up", peer / ours, "x")
    print(f"ratio: {with_refresh / TARGET:.3f}")  # the whole import, refresh included, to the target


if __name__ == "__main__":
    asyncio.run(main())
