"""A fast reader for the YAML that TagPacks are: a header mapping, then a long list of flat mappings.

PyYAML, even with libyaml, spends ~90 µs building the Python nodes of one tag; the bundled packs hold
~78,000 tags (7 s). Almost every tag is a few ``key: scalar`` lines, so this reader splits the list into
items and reads each flat item itself, and hands anything else to PyYAML: the header, and any item with
a multi-line, escaped or non-string scalar, a nested value, an anchor or a comment. The result is the
same as ``yaml.load(..., SafeLoader)`` (tests compare both on every bundled pack); a document of another
shape (no top-level ``tags:`` list, keys after it) is loaded by PyYAML whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import yaml
from yaml.resolver import Resolver

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A plain scalar PyYAML would not read as a string (bool, int, float, null, date, ...), built from the
# SafeLoader's own implicit resolvers (keyed by first character), so both readers agree on what stays a
# string. Their patterns are verbose (re.X), hence the scoped flag.
_NOT_A_STRING = re.compile(
    "|".join(
        f"(?x:{regexp.pattern})" if regexp.flags & re.VERBOSE else f"(?:{regexp.pattern})"
        for resolvers in Resolver.yaml_implicit_resolvers.values()
        for tag, regexp in resolvers
        if tag != _STR_TAG
    )
)
_RESOLVED_FIRST_CHARS = frozenset(ch for ch in Resolver.yaml_implicit_resolvers if ch)
# The two non-strings TagPack tags carry by the thousand, read as SafeConstructor reads them.
_BOOL = re.compile(r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BOOL_VALUES: dict[str, bool] = yaml.constructor.SafeConstructor.bool_values
# Characters that start something other than a plain scalar, or that may hide a comment or an escape.
_PLAIN_UNSAFE_START = frozenset("'\"[]{}&*!|>%@`#,?:-")


def load(text: str) -> Any:
    """The document in ``text``, as ``yaml.load(text, SafeLoader)`` would return it."""
    found = split(text, "tags")
    if found is None:
        return yaml.load(text, Loader=_LOADER)
    doc: dict[str, Any] = dict(found.header)
    doc["tags"] = load_items(found.items, found.indent)
    return doc


@dataclass(frozen=True, slots=True)
class Split:
    """A document whose last block is one long list: its header mapping and the raw lines of each item."""

    header: dict[str, Any]
    indent: int  # of the items' "- " markers
    items: list[list[str]]


def split(text: str, key: str) -> Split | None:
    """``text`` as a header and the items of the top-level list ``key`` that ends it; None if the
    document has another shape (then only PyYAML reads it)."""
    lines = text.splitlines()
    start = _key_line(lines, key)
    if start is None:
        return None
    header = yaml.load("\n".join(lines[:start]), Loader=_LOADER) if start else None
    if header is not None and not isinstance(header, dict):
        return None
    found = _split_items(lines, start + 1)
    if found is None:
        return None
    return Split(dict(header or {}), found[0], found[1])


def _key_line(lines: list[str], key: str) -> int | None:
    wanted = key + ":"
    for i, line in enumerate(lines):
        if line.rstrip() == wanted:
            return i
    return None


def _split_items(lines: list[str], first: int) -> tuple[int, list[list[str]]] | None:
    """(indent, the list's items as groups of lines); None if the list is not the document's last block."""
    rest = lines[first:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    if not rest or not rest[0].lstrip(" ").startswith("- "):
        return None
    indent = len(rest[0]) - len(rest[0].lstrip(" "))
    marker, inside = " " * indent + "- ", " " * (indent + 2)
    items: list[list[str]] = []
    for line in rest:
        if line.startswith(marker):
            items.append([line])
        elif not line.strip() or line.startswith(inside) or line.lstrip().startswith("#"):
            items[-1].append(line)  # PyYAML reads comments and blank lines if the item needs it
        else:
            return None  # another top-level key, or a list we do not understand
    return indent, items


def load_items(items: list[list[str]], indent: int) -> list[Any]:
    """Flat items read here; the others by PyYAML in one call per document (a call costs ~0.5 ms of
    set-up, and packs with nested ``concepts`` or folded ``context`` lines have hundreds of them)."""
    out: list[Any] = [read_flat(chunk, indent) for chunk in items]
    rest = [i for i, item in enumerate(out) if item is None]
    if rest:
        loaded = yaml.load("\n".join(line for i in rest for line in items[i]), Loader=_LOADER)
        for i, item in zip(rest, loaded, strict=True):
            out[i] = item
    return out


class KeyedItem(NamedTuple):
    """An item read as its value of one key and the number of the rest of it in ``Keyed.rests``."""

    value: object
    rest: int


@dataclass(frozen=True, slots=True)
class Keyed:
    """A document of the ``load`` shape, each item of its list read as a KeyedItem, or whole (a mapping,
    or whatever PyYAML reads) where only PyYAML reads it. ``{key: item.value, **rests[item.rest]}`` is
    what PyYAML gives for a KeyedItem. Items whose other lines are the same text share one rest, read
    once: a TagPack's tags mostly differ in their address only."""

    header: dict[str, Any]
    items: list[Any]
    rests: list[dict[str, object]]


def load_keyed(text: str, list_key: str, key: str) -> Keyed | None:
    """``text`` read as Keyed items of its top-level ``list_key`` list; None if it has another shape."""
    found = split(text, list_key)
    if found is None:
        return None
    first = " " * found.indent + "- " + key + ":"
    numbers: dict[tuple[str, ...], int | None] = {}
    rests: list[dict[str, object]] = []
    items: list[Any] = []
    for chunk in found.items:
        head = chunk[0]
        item = None
        if head.startswith(first) and head[len(first) : len(first) + 1] in (" ", ""):
            value = _scalar(head[len(first) :].strip(" "))
            rest = _rest_number(tuple(chunk[1:]), found.indent, key, numbers, rests)
            if value is not None and rest is not None:
                item = KeyedItem(value, rest)
        items.append(item)
    slow = [i for i, item in enumerate(items) if item is None]
    for i, loaded in zip(slow, load_items([found.items[i] for i in slow], found.indent), strict=True):
        items[i] = loaded
    return Keyed(dict(found.header), items, rests)


def _rest_number(
    rest: tuple[str, ...],
    indent: int,
    key: str,
    numbers: dict[tuple[str, ...], int | None],
    rests: list[dict[str, object]],
) -> int | None:
    """The number of the mapping ``rest`` (an item's lines after its first) reads as, read once per
    distinct text; None if only PyYAML reads it (or it repeats ``key``)."""
    try:
        return numbers[rest]
    except KeyError:
        pass
    inner = _inner_lines(rest, indent)
    mapping = None if inner is None else _read_lines(inner)
    if mapping is None or key in mapping:
        numbers[rest] = None
        return None
    numbers[rest] = len(rests)
    rests.append(mapping)
    return len(rests) - 1


def read_flat(chunk: list[str], indent: int) -> dict[str, object] | None:
    """``{key: value}`` of an item whose lines are all ``key: simple scalar``, or ``key:`` followed by
    a list of simple scalars at the key's own indent (as PyYAML and GraphSense write lists), or
    ``key: []``; None otherwise."""
    inner = _inner_lines(chunk[1:], indent)
    return None if inner is None else _read_lines([chunk[0][indent + 2 :], *inner])


def _inner_lines(lines: list[str] | tuple[str, ...], indent: int) -> list[str] | None:
    """An item's lines after its first, without the item's indent; None if one is deeper or a comment."""
    out = []
    for line in lines:
        if not line.strip():
            continue
        if line[indent + 2 : indent + 3] in (" ", "") or line.lstrip().startswith("#"):
            return None  # deeper: a nested block or a scalar's continuation; or a comment
        out.append(line[indent + 2 :])
    return out


def _read_lines(lines: list[str]) -> dict[str, object] | None:
    out: dict[str, object] = {}
    entries: list[object] | None = None  # the list being read, after a bare "key:"
    for line in lines:
        if entries is not None and line.startswith("- "):
            entry = _scalar(line[2:].strip(" "))
            if entry is None:
                return None
            entries.append(entry)
            continue
        if entries is not None and not entries:
            return None  # a bare "key:" without entries: null, or something only PyYAML reads
        key, colon, raw = line.partition(":")
        if not colon or not _plain_key(key) or key in out or (raw and raw[0] != " "):
            return None
        raw = raw.strip(" ")
        if not raw:
            entries = out[key] = []
            continue
        entries = None
        value = [] if raw == "[]" else _scalar(raw)
        if value is None:
            return None
        out[key] = value
    return None if entries is not None and not entries else out


_KEYS_SEEN: dict[str, bool] = {}  # the few distinct keys of TagPacks, checked once each


def _plain_key(key: str) -> bool:
    ok = _KEYS_SEEN.get(key)
    if ok is None:
        ok = _KEY.fullmatch(key) is not None and _NOT_A_STRING.fullmatch(key) is None
        if len(_KEYS_SEEN) < 1000:
            _KEYS_SEEN[key] = ok
    return ok


def _scalar(raw: str) -> object:
    """The value a one-line scalar stands for (a string, bool or date); None if only PyYAML should read it."""
    if not raw:
        return None  # empty: null, or a nested block on the next lines
    if raw[0] == "'":
        inner = raw[1:-1]
        if len(raw) < 2 or raw[-1] != "'" or "'" in inner.replace("''", ""):
            return None
        return inner.replace("''", "'")
    if raw[0] == '"':
        inner = raw[1:-1]
        if len(raw) < 2 or raw[-1] != '"' or '"' in inner or "\\" in inner:
            return None
        return inner
    if raw[0] in _PLAIN_UNSAFE_START or raw[-1] == ":" or " #" in raw or ": " in raw or "\t" in raw:
        return None
    if raw[0] in _RESOLVED_FIRST_CHARS and _NOT_A_STRING.fullmatch(raw):
        return _bool_or_date(raw)
    return raw


def resolves_to_non_string(plain: str) -> bool:
    """Whether PyYAML reads the plain scalar ``plain`` as something other than a string (yes, null, 1)."""
    return _NOT_A_STRING.fullmatch(plain) is not None


def _bool_or_date(raw: str) -> object:
    if _BOOL.fullmatch(raw):
        return _BOOL_VALUES[raw.lower()]
    if _DATE.fullmatch(raw):
        try:
            return date(int(raw[:4]), int(raw[5:7]), int(raw[8:]))
        except ValueError:
            return None  # PyYAML reports the bad date
    return None
