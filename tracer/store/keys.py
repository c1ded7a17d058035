"""API keys: created with a role and a tenant, stored only as a SHA-256 of the secret, revoked by id.

The secret is 32 random bytes (256 bits), so a fast hash is as strong as a slow one here: nobody can
guess the preimage, and a fast hash lets every request be checked without a cost per call.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tracer.errors import NotFound

KEY_PREFIX = "trk_"  # makes a leaked key recognisable to secret scanners


class Role(enum.IntEnum):
    """Each role may do what the ones below it may."""

    SCREENING = 1
    ANALYST = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        return cls[text.upper()]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    role: Role
    tenant: str
    rate: float | None  # requests per second; None: the service default
    created_at: datetime
    revoked_at: datetime | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "role": self.role.label,
            "tenant": self.tenant,
            "rate": self.rate,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


_COLUMNS = "id, role, tenant, rate, created_at, revoked_at"


def _key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(
        row["id"], Role.parse(row["role"]), row["tenant"], row["rate"], row["created_at"], row["revoked_at"]
    )


async def create_key(
    conn: asyncpg.Connection | asyncpg.Pool, role: Role, tenant: str, rate: float | None
) -> tuple[ApiKey, str]:
    """A new key and its secret, which is returned only here."""
    secret = new_secret()
    row = await conn.fetchrow(
        f"INSERT INTO api_keys (key_hash, role, tenant, rate) VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}",
        hash_secret(secret),
        role.label,
        tenant,
        rate,
    )
    return _key(row), secret


async def list_keys(conn: asyncpg.Connection | asyncpg.Pool) -> list[ApiKey]:
    return [_key(r) for r in await conn.fetch(f"SELECT {_COLUMNS} FROM api_keys ORDER BY id")]


async def revoke_key(conn: asyncpg.Connection | asyncpg.Pool, key_id: int) -> ApiKey:
    row = await conn.fetchrow(
        f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING {_COLUMNS}",
        key_id,
    )
    if row is None:
        raise NotFound(f"no API key {key_id}")
    return _key(row)


async def active_key(conn: asyncpg.Connection | asyncpg.Pool, secret: str) -> ApiKey | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", hash_secret(secret)
    )
    return _key(row) if row else None
