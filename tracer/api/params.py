"""Validation at the edge: bodies, queries and path ids through the pydantic schemas, errors as 400."""

from __future__ import annotations

from typing import TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from tracer.api.keys import BODY
from tracer.api.schemas import PathId
from tracer.errors import InputError, MalformedInput

Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: object) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        raise InputError("request does not match the schema", problems=problems) from exc


def read_json(request: web.Request) -> object:
    """The body the guard middleware read (within the size and time limits), parsed."""
    try:
        return orjson.loads(request.get(BODY, b""))
    except orjson.JSONDecodeError as exc:
        raise MalformedInput(f"request body is not valid JSON: {exc}") from exc


async def validated_body(request: web.Request, model: type[Model]) -> Model:
    return validated(model, read_json(request))


def validated_query(request: web.Request, model: type[Model]) -> Model:
    return validated(model, dict(request.query))


def path_id(request: web.Request, name: str) -> int:
    """A positive bigint from the path; anything else (2^63 included) is a 400 naming the parameter."""
    raw = request.match_info[name]
    try:
        return PathId.model_validate({"id": raw}).id
    except ValidationError:
        raise InputError(f"{name} must be an integer from 1 to 2^63-1", parameter=name) from None
