"""Label import speed on the bundled lists (OFAC, GraphSense TagPacks and ActorPack, scam-centre table):
labels stored per second into a fresh database, then a re-import of the same sources; and the TagPack
YAML read by our fast reader against PyYAML with libyaml (the previous code path) on the same packs.

Run: .venv/bin/python -m bench.label_import   (last line: ratio of labels/s to the 50,000/s target)
"""

from __future__ import annotations

import asyncio
import gzip

import yaml

from bench.common import FIXTURES, figure, scratch_pool, timed
from tracer.jobs.labels import import_labels
from tracer.labels import fastyaml

TARGET_LABELS_PER_SECOND = 50_000  # issue 6
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
    async with scratch_pool() as pool:
        with timed() as fresh:
            report = await import_labels(pool, LABELS)
        with timed() as again:
            await import_labels(pool, LABELS)
    figure("labels imported", report.labels, "labels")
    figure("actors imported", report.actors, "actors")
    figure("import into a fresh database", fresh[0], "s")
    figure("import into a fresh database", report.labels / fresh[0], "labels/s")
    figure("re-import of the same sources", report.labels / again[0], "labels/s")
    ours, peer = yaml_read_seconds()
    figure("TagPack YAML read, tracer.labels.fastyaml", ours, "s")
    figure("TagPack YAML read, PyYAML + libyaml (previous path)", peer, "s")
    figure("YAML read speed-up", peer / ours, "x")
    print(f"ratio: {report.labels / fresh[0] / TARGET_LABELS_PER_SECOND:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
