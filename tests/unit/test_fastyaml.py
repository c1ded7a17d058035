"""The fast TagPack reader returns exactly what PyYAML's SafeLoader returns: on every bundled pack, and on
the YAML features a pack may use (each of which must go the slow, exact way)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import yaml

from tracer.labels import fastyaml
from tracer.labels.actors import without_context

LABELS = Path(__file__).parents[1] / "fixtures" / "labels"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same results as SafeLoader, faster
PACKS = sorted(p for p in LABELS.rglob("*.yaml*") if "actorpack" not in p.name)


def text_of(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode()


@pytest.mark.parametrize("path", PACKS, ids=lambda p: p.name)
def test_same_as_pyyaml_on_every_bundled_pack(path: Path) -> None:
    text = text_of(path)
    assert fastyaml.load(text) == yaml.load(text, Loader=LOADER)


TRICKY = """title: t
lastmod: 2021-11-14
tags:
- address: 0x4cdc1cba0aeb5539f2e0ba158281e67e0e54a9b1
  label: unquoted hex is an int to YAML 1.1
- address: '1abc'
  label: 'it''s quoted'
  is_cluster_definer: yes
- address: "x"
  context: '{"a": "b",
    "c": "d"}'
- address: y
  label: a # comment
  lastmod: 2022-02-30x
- address: z
  nested:
    - 1
  on: off
- address: w
  label: &anchor value
  other: *anchor
- address: q
  label: |
    block
  when: 2022-02-20
  n: 12
  f: 1.5
  nothing: ~
"""


def test_same_as_pyyaml_on_the_features_a_pack_may_use() -> None:
    assert fastyaml.load(TRICKY) == yaml.load(TRICKY, Loader=LOADER)


@pytest.mark.parametrize(
    "text",
    [
        "actors:\n- id: a\n",  # not a TagPack
        "tags:\n- address: a\nafter: 1\n",  # a key after the list
        "title: x\n",  # no tags
        "tags:\n  - address: a\n    label: b\n  - address: c\n",  # indented list
    ],
)
def test_other_shapes_are_read_as_pyyaml_reads_them(text: str) -> None:
    assert fastyaml.load(text) == yaml.load(text, Loader=LOADER)


LISTS = """tags:
- address: a
  jurisdictions: []
  categories:
  - exchange
  - NO
  - 2020-01-01
  uri: x
- address: b
  empty:
  next: 1
- address: c
  aliases:
  - 'quoted'
  - a: b
- address: d
  aliases:
  -
  - x
- address: e
  aliases:
  - x
- address: f
  categories:
    - indented
  tail: []  # comment
"""


def test_lists_of_scalars_are_read_as_pyyaml_reads_them() -> None:
    assert fastyaml.load(LISTS) == yaml.load(LISTS, Loader=LOADER)


def test_actor_pack_items_read_fast_are_what_pyyaml_reads() -> None:
    """Without the context tracer does not read (tracer.labels.actors.without_context), most ActorPack
    items are flat keys and lists of scalars (id, label, categories, jurisdictions, uri)."""
    pack = text_of(LABELS / "graphsense-tagpacks/actors/graphsense.actorpack.yaml.gz")
    found = fastyaml.split(pack, "actors")
    assert found is not None
    items = [without_context(item, found.indent + 2) for item in found.items]
    fast = [(item, fastyaml.read_flat(item, found.indent)) for item in items]
    read = [(item, value) for item, value in fast if value is not None]
    assert len(read) > 3000
    for item, value in read:
        assert [value] == yaml.load("\n".join(item), Loader=LOADER)


def keyed_as_pyyaml(keyed: fastyaml.Keyed) -> dict[str, object]:
    tags = [
        {"address": item.value, **keyed.rests[item.rest]} if isinstance(item, fastyaml.KeyedItem) else item
        for item in keyed.items
    ]
    return {**keyed.header, "tags": tags}


@pytest.mark.parametrize("path", PACKS, ids=lambda p: p.name)
def test_keyed_reading_is_pyyaml_on_every_bundled_pack(path: Path) -> None:
    text = text_of(path)
    keyed = fastyaml.load_keyed(text, "tags", "address")
    assert keyed is not None
    assert keyed_as_pyyaml(keyed) == yaml.load(text, Loader=LOADER)


@pytest.mark.parametrize(
    "text", [TRICKY, LISTS, "tags:\n- address: a\n  address: b\n- label: x\n  address: c\n"]
)
def test_keyed_reading_is_pyyaml_on_the_features_a_pack_may_use(text: str) -> None:
    keyed = fastyaml.load_keyed(text, "tags", "address")
    assert keyed is not None
    if "a\n  address: b" in text:  # a repeated key: PyYAML keeps the last, the fast way leaves it to PyYAML
        assert not isinstance(keyed.items[0], fastyaml.KeyedItem)
    assert keyed_as_pyyaml(keyed) == yaml.load(text, Loader=LOADER)


def test_tags_that_say_the_same_share_one_rest() -> None:
    text = text_of(LABELS / "graphsense-tagpacks/packs/samourai.yaml.gz")
    keyed = fastyaml.load_keyed(text, "tags", "address")
    assert keyed is not None
    assert len(keyed.items) > 36_000 and len(keyed.rests) < 10
