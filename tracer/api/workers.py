"""``tracer serve --workers N``: N API processes on one port (SO_REUSEPORT), so one Python process's event
loop is not the ceiling on a many-core host.

The parent resolves the database (starting the embedded one if needed), migrates once, reserves the port
and starts N ``tracer serve`` processes that listen on it with SO_REUSEPORT; the kernel spreads new
connections over them. Each worker is a whole API with its own pool, key cache and audit writer; the audit
stays one hash chain because the database orders appends (the ``audit_chain`` trigger under an advisory
lock), whichever process writes. Rate limits are per worker: a key may get up to N times its rate.
SIGTERM/SIGINT to the parent stop every worker gracefully; a worker that dies stops the others; workers
stop by themselves when the parent is gone, however it ended (a "lifeline" pipe reaches end of file).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator

from tracer.api.server import LIFELINE_FD_ENV, READY_FD_ENV, AddressInUse
from tracer.config import ENV_PREFIX, Settings
from tracer.errors import ConfigError
from tracer.store.pool import open_pool, resolve_url

log = logging.getLogger(__name__)


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound (not listening) to host:port with SO_REUSEPORT: it fixes the port (0 picks one) and
    fails early, with a clear error, when another program holds it. Only listening sockets get
    connections, so it takes none away from the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(f"{host}:{port} is already in use; pick another --port") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def worker_env(settings: Settings, database_url: str, port: int) -> dict[str, str]:
    """The workers' settings: the parent's, with the database resolved and the port fixed, passed in the
    environment (a password in a URL stays out of the process list)."""
    env = dict(os.environ)
    env |= {
        f"{ENV_PREFIX}DATABASE_URL": database_url,
        f"{ENV_PREFIX}HOME": str(settings.home),
        f"{ENV_PREFIX}HOST": settings.host,
        f"{ENV_PREFIX}PORT": str(port),
        f"{ENV_PREFIX}LOG_LEVEL": settings.log_level,
        f"{ENV_PREFIX}WORKERS": "1",
        f"{ENV_PREFIX}REUSE_PORT": "true",
    }
    return env


class WorkerExited(ConfigError):
    code = "worker_exited"


async def serve_workers(settings: Settings) -> None:
    """Run ``settings.workers`` API processes on one port until SIGTERM/SIGINT or until one of them ends."""
    database_url = await resolve_url(settings)
    async with open_pool(settings.model_copy(update={"database_url": database_url})):
        pass  # migrate once here, not N times at once in the workers
    lifeline_read, lifeline_write = os.pipe()  # the write end lives (unwritten) as long as this process
    with reserve_port(settings.host, settings.port) as reserved, _closing(lifeline_write):
        port = reserved.getsockname()[1]
        env = worker_env(settings, database_url, port) | {LIFELINE_FD_ENV: str(lifeline_read)}
        try:
            started = await asyncio.gather(
                *(_start_worker(env, lifeline_read) for _ in range(settings.workers)), return_exceptions=True
            )
        finally:
            os.close(lifeline_read)
        workers = [w for w in started if isinstance(w, asyncio.subprocess.Process)]
        failed = [e for e in started if isinstance(e, BaseException)]
        if failed:
            _stop(workers)
            await asyncio.gather(*(w.wait() for w in workers))
            raise failed[0]
        log.info("serving", extra={"url": f"http://{settings.host}:{port}", "workers": len(workers)})
        await _supervise(workers)


@contextlib.contextmanager
def _closing(fd: int) -> Iterator[None]:
    try:
        yield
    finally:
        os.close(fd)


async def _start_worker(env: dict[str, str], lifeline: int) -> asyncio.subprocess.Process:
    """One worker, returned once it listens (so "serving" means every worker takes connections)."""
    ready_read, ready_write = os.pipe()
    try:
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tracer.cli", "serve",
            env={**env, READY_FD_ENV: str(ready_write)}, pass_fds=(ready_write, lifeline),
        )  # fmt: skip
        os.close(ready_write)
        ready_write = -1
        if await asyncio.to_thread(os.read, ready_read, 1) != b"1":  # closed unwritten: it ended
            await worker.wait()
            raise WorkerExited(f"a worker did not start (exit code {worker.returncode}); see the log above")
        return worker
    finally:
        os.close(ready_read)
        if ready_write >= 0:
            os.close(ready_write)


def _stop(workers: list[asyncio.subprocess.Process]) -> None:
    for worker in workers:
        if worker.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                worker.send_signal(signal.SIGTERM)  # each finishes its in-flight requests


async def _supervise(workers: list[asyncio.subprocess.Process]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    exits = [asyncio.create_task(w.wait()) for w in workers]
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([stopping, *exits], return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            log.error("a worker ended on its own; stopping the others")
        _stop(workers)
        await asyncio.gather(*exits)
    finally:
        stopping.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    if not stop.is_set():
        raise WorkerExited("a worker process ended unexpectedly; see the log above")
