"""The same label files give the same stored labels in every process, whatever Python's hash seed.

Before, a label with two categories of equal severity (GraphSense hacks: hack / mixer / darknet market vs
scam) took whichever a set happened to yield first, so 904 labels changed category between two imports.
Two real `tracer` processes with different PYTHONHASHSEED import the same real packs into two databases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from conftest import create_database, drop_database

PACKS = Path(__file__).parents[1] / "fixtures" / "labels" / "graphsense-tagpacks" / "packs"
# Packs whose labels match several categories of one severity (hack vs scam vs mixer vs darknet market).
FILES = ("hacks.yaml.gz", "etherscamdb_tagpack.yaml.gz", "hydra.yaml", "lazarus.yaml", "sinbad_io.yaml")
_DUMP = """SELECT a.chain, a.address, a.id, l.label, l.category, l.categories
           FROM labels l JOIN addresses a ON a.id = l.address_id ORDER BY l.id"""


def import_in_process(database_url: str, seed: str, folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env |= {"PYTHONHASHSEED": seed, "TRACER_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "tracer.cli", "labels", "import", str(folder)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
async def test_two_processes_with_different_hash_seeds_store_the_same_labels(
    pg_server_url: str, template_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    for name in FILES:
        (folder / name).symlink_to(PACKS / name)
    dumps = []
    for seed in ("1", "4242"):
        name = f"t_{uuid.uuid4().hex[:12]}"
        url = await create_database(pg_server_url, name)
        try:
            import_in_process(url, seed, folder)
            conn = await asyncpg.connect(url)
            try:
                dumps.append([tuple(r) for r in await conn.fetch(_DUMP)])
            finally:
                await conn.close()
        finally:
            await drop_database(pg_server_url, name)
    assert len(dumps[0]) > 1000
    assert dumps[0] == dumps[1]
