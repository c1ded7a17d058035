"""Label import job: a file or a directory of label files, format detected per file."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from tracer.errors import InputError, UnsupportedFormat
from tracer.labels.formats import parse_label_file
from tracer.store.errors import translate_errors
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.labels import LABEL_TABLES, replace_label_set
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)

_LABEL_SUFFIXES = (".txt", ".json", ".yaml", ".yml", ".csv", ".gz")


@dataclass(slots=True)
class ImportReport:
    sources: list[dict[str, object]] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)  # in a directory: not a label format

    @property
    def labels(self) -> int:
        return sum(int(str(s["labels"])) for s in self.sources)

    def as_dict(self) -> dict[str, object]:
        return {"labels": self.labels, "sources": self.sources, "ignored_files": self.ignored_files}


async def import_labels(pool: asyncpg.Pool, path: Path, *, tenant: str = "public") -> ImportReport:
    """Import one file (its format must be known) or every label file below a directory."""
    single, files = await asyncio.to_thread(_label_files, path)
    report = ImportReport()
    for file in files:
        try:
            await _import_file(pool, file, tenant, report)
        except UnsupportedFormat:
            if single:
                raise
            report.ignored_files.append(str(file))  # READMEs, actor packs, ...: a directory holds more
    await refresh_statistics(pool, LABEL_TABLES)
    await refresh_exposure(pool)  # screening reads exposure precomputed over the new labels
    return report


def _label_files(path: Path) -> tuple[bool, list[Path]]:
    if path.is_file():
        return True, [path]
    if not path.is_dir():
        raise InputError(f"no such file or directory: {path}")
    return False, sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_LABEL_SUFFIXES))


async def _import_file(pool: asyncpg.Pool, file: Path, tenant: str, report: ImportReport) -> None:
    data = await asyncio.to_thread(file.read_bytes)
    labels = parse_label_file(file.name, data)
    async with translate_errors(), pool.acquire() as conn:
        stored = await replace_label_set(
            conn, labels, origin=str(file), sha256=hashlib.sha256(data).hexdigest(), tenant=tenant
        )
    entry = {
        "source": stored.name,
        "file": str(file),
        "labels": stored.entries,
        "skipped": dict(labels.skipped),
    }
    report.sources.append(entry)
    log.info("imported labels", extra=entry)
