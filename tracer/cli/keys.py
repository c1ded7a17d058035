"""``tracer keys create|list|revoke``: API keys. The secret is printed once, at creation."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tracer.cli.common import bigint_id, emit
from tracer.config import Settings
from tracer.errors import InputError
from tracer.store.errors import translate_errors
from tracer.store.keys import Role, create_key, list_keys, revoke_key
from tracer.store.pool import open_pool

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers

ROLES = [r.label for r in Role]


async def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    if args.rate is not None and not args.rate > 0:
        raise InputError("--rate must be a positive number of requests per second")
    async with open_pool(settings) as pool, translate_errors():
        key, secret = await create_key(pool, Role.parse(args.role), args.tenant, args.rate)
    emit({"id": key.id, "key": secret, "role": key.role.label, "tenant": key.tenant, "rate": key.rate})
    return 0


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_pool(settings) as pool, translate_errors():
        emit([key.as_json() for key in await list_keys(pool)])
    return 0


async def cmd_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async with open_pool(settings) as pool, translate_errors():
        emit((await revoke_key(pool, args.id)).as_json())
    return 0


def _tenant(text: str) -> str:
    if not text or len(text) > 64 or not all(c.isalnum() or c in "_.-" for c in text):
        raise argparse.ArgumentTypeError("a tenant is 1-64 letters, digits, '_', '.' or '-'")
    return text


def register(sub: Subparsers) -> None:
    keys = sub.add_parser("keys", help="API keys: create, list, revoke")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key; prints its secret once")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument(
        "--tenant", type=_tenant, default="public", help="whose private labels and audit rows"
    )
    create.add_argument("--rate", type=float, help="requests per second (default TRACER_KEY_RATE)")
    create.set_defaults(run=cmd_create)
    actions.add_parser("list", help="list keys (never their secrets)").set_defaults(run=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=bigint_id("key id"))
    revoke.set_defaults(run=cmd_revoke)
