"""When an import may replace stored labels, decided without I/O.

The rules, so that no import silently empties a list:
1. A file that yields no labels is refused (to remove a source, delete it by name).
2. A source is replaced only by a re-import of the same origin (file path or URL), or when the caller
   names it (``--replace NAME``). A different file with the same name is refused.
3. A replacement that keeps fewer than ``MIN_KEPT_FRACTION`` of the labels it replaces is refused unless
   the caller named the source it replaces.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from tracer.errors import ImportRefused

# A re-import that drops more than half of a source's labels is far more likely a truncated download or a
# wrong file than a real delisting (OFAC removes a handful of addresses a year); the caller must ask.
MIN_KEPT_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class StoredSourceInfo:
    name: str
    origin: str
    sha256: str
    entries: int


def check_import(
    *,
    name: str,
    origin: str,
    count: int,
    skipped: Counter[str],
    same_name: StoredSourceInfo | None,
    replace: str | None,
    replaced: StoredSourceInfo | None,
) -> None:
    """Raise ImportRefused if this import must not be written.

    ``same_name`` is the stored source called ``name`` in the tenant; ``replaced`` the one named by
    ``replace`` (None if there is none).
    """
    if count == 0:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items())) or "no entries"
        raise ImportRefused(
            f"{origin}: yields no labels ({why}); refusing to store an empty source '{name}'"
            f" (to remove a source: tracer labels delete NAME)"
        )
    if replace is not None and replaced is None:
        raise ImportRefused(f"{origin}: there is no label source '{replace}' to replace")
    if same_name is not None and same_name.origin != origin and replace != name:
        raise ImportRefused(
            f"{origin}: a source '{name}' already exists from {same_name.origin}; "
            f"pass --replace '{name}' to replace it, or --source NAME to import it as a new source"
        )
    target = replaced if replace is not None else same_name
    if target is not None and replace is None and count < MIN_KEPT_FRACTION * target.entries:
        raise ImportRefused(
            f"{origin}: yields {count} labels, far fewer than the {target.entries} of source "
            f"'{target.name}' it would replace; pass --replace '{target.name}' if that is intended"
        )
