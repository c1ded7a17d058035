"""Label import speed on the bundled lists (OFAC, GraphSense TagPacks and ActorPack, scam-centre table):
labels stored per second into a fresh database, without and with the exposure refresh that follows an
import, then a re-import of the same sources; and the TagPack
YAML read by our fast reader against PyYAML with libyaml (the previous code path) on the same packs.

Run: .venv/bin/python -m bench.label_import   (last line: ratio of labels/s, refresh included, to the
50,000/s target)
"""

from __future__ import annotations

import asyncio
import gzip
import os

import yaml

from bench.common import FIXTURES, figure, scratch_pool, timed
from tracer.jobs.labels import import_labels
from tracer.labels import fastyaml
from tracer.store.exposure_refresh import refresh_exposure

TARGET = 50_000  # labels/s; issue 6
LABELS = FIXTURES / "labels"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    async with scratch_pool() as pool:
        with timed() as fresh:
            report = await import_labels(pool, LABELS, refresh=False)
        with timed() as refresh:
            await refresh_exposure(pool)
        with timed() as again:
            await import_labels(pool, LABELS)
    labels = report.labels
    figure("labels imported", labels, "labels")
    figure("actors imported", report.actors, "actors")
    figure("import into a fresh database, without the exposure refresh", fresh[0], "s")
    figure("exposure refresh after it (tracer.store.exposure_refresh)", refresh[0], "s")
    figure("import into a fresh database, without the exposure refresh", labels / fresh[0], "labels/s")
    with_refresh = labels / (fresh[0] + refresh[0])
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
