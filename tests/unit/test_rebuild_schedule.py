"""The rebuild's schedule (``tracer.store.rebuild_schedule``): a step is handed out only while no running
step's table locks conflict with its own, every step exactly once."""

from __future__ import annotations

import asyncio
import itertools

from tracer.store.rebuild_schedule import CONFLICTS, Schedule, Step, analyze

UNIQUE = Step("addresses_address_chain_key", "addresses", "constraint", "UNIQUE (address, chain)")
OUT_ADDR = Step(
    "tx_outputs_address_id_fkey",
    "tx_outputs",
    "constraint",
    "FOREIGN KEY (address_id) REFERENCES addresses(id)",
)
IN_ADDR = Step(
    "tx_inputs_address_id_fkey",
    "tx_inputs",
    "constraint",
    "FOREIGN KEY (address_id) REFERENCES addresses(id)",
)
OUT_TX = Step(
    "tx_outputs_tx_id_fkey",
    "tx_outputs",
    "constraint",
    "FOREIGN KEY (tx_id) REFERENCES transactions(id) ON DELETE CASCADE",
)
OUT_INDEX = Step("tx_outputs_address", "tx_outputs", "index", "CREATE INDEX tx_outputs_address ON ...")
IN_INDEX = Step("tx_inputs_address", "tx_inputs", "index", "CREATE INDEX tx_inputs_address ON ...")
IN_PREVOUT = Step("tx_inputs_prevout", "tx_inputs", "index", "CREATE INDEX tx_inputs_prevout ON ...")
ALL = [UNIQUE, IN_INDEX, IN_PREVOUT, OUT_INDEX, IN_ADDR, OUT_ADDR, OUT_TX, analyze("tx_outputs")]


def test_lock_conflicts_are_postgresqls_and_symmetric() -> None:
    for a, b in itertools.product(CONFLICTS, repeat=2):
        assert (b in CONFLICTS[a]) == (a in CONFLICTS[b])
    assert OUT_ADDR.conflicts(UNIQUE)  # ROW SHARE on addresses against ACCESS EXCLUSIVE
    assert not OUT_ADDR.conflicts(IN_ADDR)  # two validations of keys to addresses: side by side
    assert OUT_ADDR.conflicts(OUT_TX)  # one table's validations: one after the other
    assert OUT_ADDR.conflicts(OUT_INDEX)  # SHARE UPDATE EXCLUSIVE against CREATE INDEX's SHARE
    assert not IN_INDEX.conflicts(IN_PREVOUT)  # two indexes of one table: side by side
    assert analyze("tx_outputs").conflicts(OUT_INDEX)  # ANALYZE: SHARE UPDATE EXCLUSIVE
    assert not analyze("addresses").conflicts(OUT_ADDR)
    assert OUT_ADDR.referenced == "addresses"


async def test_a_step_waits_while_a_running_one_conflicts() -> None:
    schedule = Schedule([OUT_ADDR, UNIQUE, IN_INDEX])
    assert await schedule.next() == OUT_ADDR
    assert await schedule.next() == IN_INDEX  # the unique key waits for the validation
    waiting = asyncio.ensure_future(schedule.next())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await schedule.done(OUT_ADDR)
    assert await waiting == UNIQUE
    await schedule.done(UNIQUE)
    await schedule.done(IN_INDEX)
    assert await schedule.next() is None


async def test_workers_never_run_conflicting_steps_together_and_run_each_once() -> None:
    schedule = Schedule(ALL)
    running: list[Step] = []
    ran: list[Step] = []

    async def worker() -> None:
        while (step := await schedule.next()) is not None:
            assert not any(step.conflicts(other) for other in running)
            running.append(step)
            await asyncio.sleep(0.001 * (len(step.name) % 4 + 1))
            running.remove(step)
            ran.append(step)
            await schedule.done(step)

    await asyncio.gather(*(worker() for _ in range(3)))
    assert sorted(s.name for s in ran) == sorted(s.name for s in ALL)
