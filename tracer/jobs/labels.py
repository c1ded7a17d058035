"""Label import job: a file or a directory of label files, format detected per file, in one transaction.

Each file becomes one named source (tracer.labels.records.SourceSpec). Its name is, in this order: the
``source`` the caller gives; the name of the source already imported from the same file (a re-import);
the file's path below the directory being imported (or its file name for a single file). Nothing is
written unless every file of the import passes tracer.labels.guard.

Producers inside tracer use the record-level calls instead of files: ``import_records`` (replace a source
with LabelRecords) and ``apply_freeze_events`` (USDT/USDC issuer freezes decoded by the EVM/TRON indexer,
kept incrementally). Both take the caller's connection and nest in its transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import asyncpg

from chains.model import Chain
from tracer.errors import InputError, UnsupportedFormat
from tracer.jobs.ahead import ahead_ready
from tracer.labels import freeze
from tracer.labels.actors import scope_local_keys
from tracer.labels.formats import UNSUPPORTED_ASSET, parse_label_file
from tracer.labels.freeze import StablecoinFreeze
from tracer.labels.records import (
    PUBLIC_TENANT,
    LabelRecord,
    LabelSet,
    SourceSpec,
    check_source_name,
    check_tenant,
)
from tracer.store import labels as store
from tracer.store.actors import link_labels
from tracer.store.cluster_aggregates import refresh_all_labels
from tracer.store.errors import translate_errors
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)

_LABEL_SUFFIXES = (".txt", ".json", ".yaml", ".yml", ".csv", ".gz")
_LICENCE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING")
# Labels written per batch while the next files parse: large enough that statement overhead stays small
# (the bundled lists are ~80 files, most of a few hundred labels), small enough to overlap the parse.
WRITE_BATCH_LABELS = 10_000
_LICENCE_SEARCH_DEPTH = 3  # directories above a file where its licence text may sit (repo root)
# How long the parse thread may hold the GIL while the event loop waits for it (Python's default: 5 ms).
# Each of the import's ~400 round trips (sources, actors, COPY, inserts) resumes on the event loop, which
# waited up to a whole interval for the parser to let go while PostgreSQL sat idle; 0.5 ms keeps the
# server fed (measured on the bundled lists, 4 runs each, load ~2.7: import + refresh 1.41 -> 1.33 s).
_SWITCH_INTERVAL = 0.0005


@dataclass(frozen=True, slots=True)
class ImportOptions:
    tenant: str = PUBLIC_TENANT
    source: str | None = None  # the source name for a single file
    replace: str | None = None  # a source this import may replace, even from another file or much smaller
    licence: str | None = None  # overrides what the file or its LICENSE says
    as_of: date | None = None  # overrides the date the file states


@dataclass(frozen=True, slots=True)
class _Parsed:
    file: Path
    default_name: str
    sha256: str
    labels: LabelSet
    licence: str | None


@dataclass(slots=True)
class ImportReport:
    sources: list[dict[str, object]] = field(default_factory=list)
    ignored_files: list[dict[str, str]] = field(default_factory=list)  # in a directory: file, reason

    @property
    def labels(self) -> int:
        return sum(int(str(s["labels"])) for s in self.sources)

    @property
    def actors(self) -> int:
        return sum(int(str(s["actors"])) for s in self.sources)

    def as_dict(self) -> dict[str, object]:
        return {
            "labels": self.labels,
            "actors": self.actors,
            "sources": self.sources,
            "ignored_files": self.ignored_files,
        }


async def import_labels(
    pool: asyncpg.Pool, path: Path, options: ImportOptions = ImportOptions(), *, refresh: bool = True
) -> ImportReport:
    """Import one file (its format must be known) or every label file below a directory.

    ``refresh=False`` leaves the exposure refresh (tracer.store.exposure_refresh) to the caller: until
    it runs, screening does not see the new labels' exposure (the label-import benchmark times both)."""
    check_tenant(options.tenant)
    report = ImportReport()
    files = await asyncio.to_thread(_label_files, path, options)
    async with translate_errors(), pool.acquire() as conn, conn.transaction():
        with _collector_paused(), _quick_switches():
            written = await _write_as_parsed(conn, files, options, report)
        await link_labels(conn)
        stored = await store.sources_by_id(conn, [source_id for _, source_id in written])
        for item, source_id in sorted(written, key=lambda pair: pair[0].file):
            report.sources.append(_entry(stored[source_id], item))
        report.ignored_files.sort(key=lambda ignored: ignored["file"])
        await refresh_all_labels(conn)  # clusters' labelled members and label summaries
    if refresh:  # screening reads exposure precomputed over the new labels
        await _analyse_and_refresh(pool)
    else:
        await refresh_statistics(pool, store.LABEL_TABLES, at_once=True)
    for entry in report.sources:
        log.info("imported labels", extra=entry)
    return report


async def _analyse_and_refresh(pool: asyncpg.Pool) -> None:
    """ANALYZE the label tables on other connections while the exposure refresh runs: each is PostgreSQL
    work alone, and one after the other they left a core idle (measured on the bundled lists: ~70 ms of
    ANALYZE before a ~250 ms refresh). The refresh's plans do not wait for the new statistics: the planner
    scales a table's last row count by its current size, and a fresh table's by its pages."""
    results = await asyncio.gather(
        refresh_statistics(pool, store.LABEL_TABLES, at_once=True),
        refresh_exposure(pool),
        return_exceptions=True,
    )
    for result in results:  # both finished: an error of one is raised once the other is done
        if isinstance(result, BaseException):
            raise result


async def _write_as_parsed(
    conn: asyncpg.Connection, files: list[_LabelFile], options: ImportOptions, report: ImportReport
) -> list[tuple[_Parsed, int]]:
    """Parse the files in a thread while the labels parsed so far are written (tracer.jobs.ahead);
    labels go to the database in the order of ``files``, in batches of at least WRITE_BATCH_LABELS, each
    with every file parsed by the time the last batch was written. The parser is ahead for most of the
    import, so that is a few large batches (the bundled lists: 3 instead of 5), each saving the round trips
    and statements a batch costs besides its rows (staging tables, their statistics; 3 runs each, load ~4:
    import + refresh 2.58 -> 2.23 s, Python CPU 0.90 -> 0.81 s)."""
    written: list[tuple[_Parsed, int]] = []
    batch: list[tuple[int, str, Sequence[LabelRecord]]] = []
    parsed = ahead_ready(lambda file: _parse_listed(file, options, report), files)
    async with contextlib.aclosing(parsed):
        async for items in parsed:  # all the files parsed while the last batch was written
            for item in items:
                spec = await _spec(conn, item, options)
                labels = scope_local_keys(item.labels, spec.tenant, spec.name)
                source_id = await store.prepare_source(conn, spec, labels, replace=options.replace)
                written.append((item, source_id))
                batch.append((source_id, spec.tenant, labels.records))
            if sum(len(records) for _, _, records in batch) >= WRITE_BATCH_LABELS:
                await store.write_labels(conn, batch, link=False)
                batch = []
    if batch:
        await store.write_labels(conn, batch, link=False)
    return written


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the files parse and their labels are written. The parsers make
    ~80,000 records and their tuples, and no cycles; each collection they set off walked the survivors so
    far again (measured on the bundled lists: 1.16 -> 0.80 s of the import's Python CPU). At the end what
    survived goes to the oldest generation without a pass over it (freeze then unfreeze: a collection there
    would walk the ~200,000 objects once more, ~50 ms each generation), and the collector runs as before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _quick_switches() -> Iterator[None]:
    """The GIL handed between the parse thread and the event loop every _SWITCH_INTERVAL."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, _SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


@dataclass(frozen=True, slots=True)
class _LabelFile:
    file: Path
    default_name: str  # its source name unless told otherwise
    root: Path | None  # the directory being imported
    known: bool  # a single file named by the user: its format must be known


def _label_files(path: Path, options: ImportOptions) -> list[_LabelFile]:
    if path.is_file():
        return [_LabelFile(path.resolve(), path.name, None, known=True)]
    if not path.is_dir():
        raise InputError(f"no such file or directory: {path}")
    if options.source is not None or options.replace is not None:
        raise InputError("--source and --replace name one file's source; give a file, not a directory")
    root = path.resolve()
    found = [p for p in root.rglob("*") if p.is_file() and p.name.endswith(_LABEL_SUFFIXES)]
    # Largest first: the biggest file's labels are written while the rest parse. In path order, the bundled
    # lists' largest (samourai.yaml.gz, 46% of the labels) came late, and writing it was most of the time
    # the import took after its last file was parsed.
    files = sorted(found, key=lambda f: (-f.stat().st_size, f))
    return [_LabelFile(f, f.relative_to(root).as_posix(), root, known=False) for f in files]


def _parse_listed(listed: _LabelFile, options: ImportOptions, report: ImportReport) -> _Parsed | None:
    try:
        return _parse_file(listed.file, listed.default_name, options, listed.root)
    except UnsupportedFormat as exc:  # READMEs, actor packs, ...: a directory holds more
        if listed.known:
            raise
        report.ignored_files.append({"file": str(listed.file), "reason": exc.message})
        return None


def _parse_file(file: Path, default_name: str, options: ImportOptions, root: Path | None = None) -> _Parsed:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror or exc}") from exc
    labels = parse_label_file(file.name, data)
    if not labels.records and labels.skipped and all(r.startswith(UNSUPPORTED_ASSET) for r in labels.skipped):
        # OFAC lists for XMR, LTC, ...: a label list, but of chains tracer does not index.
        raise UnsupportedFormat(
            f"{file.name}: only addresses of chains tracer does not index ({labels.skipped})"
        )
    licence = options.licence or labels.licence or _licence_near(file, root)
    return _Parsed(file, default_name, hashlib.sha256(data).hexdigest(), labels, licence)


def _licence_near(file: Path, root: Path | None) -> str | None:
    """The first line of the nearest licence file beside or above ``file`` (e.g. "MIT License")."""
    folder = file.parent
    for _ in range(_LICENCE_SEARCH_DEPTH):
        for name in _LICENCE_FILES:
            candidate = folder / name
            if candidate.is_file():
                lines = candidate.read_text(encoding="utf-8", errors="replace").splitlines()
                return next((line.strip()[:100] for line in lines if line.strip()), None)
        if folder in (root, folder.parent):
            break
        folder = folder.parent
    return None


async def _spec(conn: asyncpg.Connection, item: _Parsed, options: ImportOptions) -> SourceSpec:
    origin = str(item.file)
    if options.source is not None:
        name = check_source_name(options.source)
    else:
        previous = await store.source_from(conn, options.tenant, origin)
        name = previous.name if previous else item.default_name
    return SourceSpec(
        name=name,
        title=item.labels.title,
        format=item.labels.format,
        origin=origin,
        sha256=item.sha256,
        as_of=options.as_of or item.labels.as_of,
        licence=item.licence,
        tenant=options.tenant,
    )


def _entry(stored: store.StoredSource, item: _Parsed) -> dict[str, object]:
    return {
        "source": stored.name,
        "title": stored.title,
        "tenant": stored.tenant,
        "file": str(item.file),
        "labels": stored.entries,
        "actors": stored.actors,
        "skipped": dict(sorted(item.labels.skipped.items())),
    }


# --- record-level imports: for producers inside tracer (the EVM/TRON indexer), not files -------------------


async def import_records(
    conn: asyncpg.Connection,
    spec: SourceSpec,
    records: Sequence[LabelRecord],
    *,
    replace: str | None = None,
    skipped: Counter[str] | None = None,
) -> store.StoredSource:
    """Replace source ``spec.name`` with ``records``, under the same rules as a file import (refused if
    empty or far smaller, tracer.labels.guard). Runs in a transaction of its own, nested in the caller's
    if there is one, so an indexer can commit labels with its cursor."""
    check_tenant(spec.tenant)
    check_source_name(spec.name)
    labels = LabelSet(spec.title, spec.format, tuple(records), skipped or Counter(), spec.as_of, spec.licence)
    labels = scope_local_keys(labels, spec.tenant, spec.name)
    async with translate_errors(), conn.transaction():
        return await store.import_label_set(conn, spec, labels, replace=replace)


async def apply_freeze_events(
    conn: asyncpg.Connection, events: Sequence[StablecoinFreeze], *, tenant: str = PUBLIC_TENANT
) -> list[store.StoredSource]:
    """Store decoded USDT/USDC freeze logs as label changes: one source per (chain, token contract),
    each frozen account labelled ``blacklisted``, unfrozen ones unlabelled. Nested in the caller's
    transaction if there is one (call it in the transaction that moves the indexer's cursor)."""
    check_tenant(tenant)
    by_contract: dict[tuple[Chain, str, str], list[StablecoinFreeze]] = {}
    for event in events:
        by_contract.setdefault((event.chain, event.token, event.contract), []).append(event)
    stored = []
    async with translate_errors(), conn.transaction():
        for (chain, token, contract), batch in sorted(by_contract.items()):
            changes = freeze.fold(batch)
            spec = SourceSpec(
                name=freeze.source_name(chain, token, contract),
                title=freeze.source_title(chain, token),
                format=freeze.FORMAT,
                origin=f"{chain.value}:{contract}",
                sha256="",  # recomputed from the stored labels
                tenant=tenant,
            )
            removals = [(chain.value, account) for account in sorted(changes.unfrozen)]
            upserts = [changes.frozen[account] for account in sorted(changes.frozen)]
            stored.append(await store.apply_label_changes(conn, spec, upserts, removals))
    return stored
