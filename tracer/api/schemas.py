"""Request and answer schemas: handlers validate requests with these, and /openapi.json is made of them.

Answers allow extra properties so a new field is not a breaking change; the fields listed are promised.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_INT = 2**63 - 1  # PostgreSQL bigint: ids and offsets beyond it are a 400, not a database error

RoleName = Literal["screening", "analyst", "admin"]
LevelName = Literal["severe", "high", "medium", "low", "none"]


class ScreenRequest(BaseModel):
    """One address (``address``) or many (``addresses``), on one chain."""

    model_config = ConfigDict(extra="forbid")

    chain: str = Field(min_length=1, max_length=32)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    addresses: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> ScreenRequest:
        if (self.address is None) == (self.addresses is None):
            raise ValueError("give exactly one of 'address' or 'addresses'")
        return self


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT)


class PathId(BaseModel):
    """An id in a path: a positive bigint."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, le=MAX_INT)


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "json", "graphml", "gexf"] = "json"


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str | None = Field(default=None, alias="from", description="ISO 8601 time, inclusive")
    end: str | None = Field(default=None, alias="to", description="ISO 8601 time, exclusive")
    after_seq: int = Field(default=0, ge=0, le=MAX_INT, description="page on: the last seq you received")
    limit: int = Field(default=100, ge=1, le=1000)


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleName
    tenant: str = Field(default="public", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    rate: float | None = Field(default=None, gt=0, le=1_000_000)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Answer):
    code: str
    message: str
    details: dict[str, object] | None = None


class ErrorAnswer(_Answer):
    error: ErrorDetail


class LabelOut(_Answer):
    address: str
    relation: str
    label: str
    category: str
    source: str
    actor: str | None = Field(description="who controls the address, as the source names it (null: no one)")
    actor_id: int | None = Field(
        description="the actor record this label links to (GET /v1/actors/{actor_id}); null: none"
    )
    confidence: str | None = None
    reference: str | None = None


class Risk(_Answer):
    score: int = Field(ge=0, le=100)
    level: LevelName
    reasons: list[dict[str, object]]


class ClusterRef(_Answer):
    id: int
    size: int


class _AssetAmount(_Answer):
    asset: str = Field(description='"native" (the chain\'s coin) or the token contract')
    unit: str = Field(
        description="amounts are integers in this unit: wei, sun, sat, or the token's base units"
    )
    symbol: str | None = Field(description="the coin's or token's symbol; null when the token did not say")
    decimals: int | None = Field(
        description="base units per whole coin, as a power of ten; null when the token did not say"
    )
    amount: int | None = Field(description="in base units; null when unknown")


class Counterparty(_AssetAmount):
    address: str
    cluster_id: int
    direction: Literal["sent_to", "received_from"]
    tx_count: int
    actor: str
    category: str
    sources: list[str]


class ExposureOut(_AssetAmount):
    actor: str
    category: str
    direction: str
    exposure: Literal["direct", "indirect"]
    hops: int
    share: float | None
    tx_count: int
    txids: list[str]


class CoverageRef(_Answer):
    """What an answer covered: chains and heights inline, the label sources by id (``href``)."""

    id: str = Field(description="the coverage snapshot: GET /v1/coverage/{id}")
    as_of: str | None = Field(description="when the exposure the answer read was computed; null: never")
    chains: dict[str, int] = Field(description="each indexed chain's highest indexed block")
    truncated: bool | None = Field(description="a search bound cut that exposure short")
    href: str


class ScreenAnswer(_Answer):
    chain: str
    address: str
    known: bool
    cluster: ClusterRef | None
    labels: list[LabelOut]
    counterparties: list[Counterparty]
    exposure: list[ExposureOut]
    risk: Risk
    coverage: CoverageRef


class BulkItem(_Answer):
    chain: str
    address: str
    known: bool | None = None
    risk: Risk | None = None
    error: ErrorDetail | None = None


class BulkAnswer(_Answer):
    results: list[BulkItem]
    count: int
    summary: dict[str, int] = Field(description="how many answers per risk level, and 'error'")
    coverage: CoverageRef | None = Field(description="for all the answers; null when no address was valid")


class LabelSourceOut(_Answer):
    name: str = Field(description="as reasons name it")
    key: str = Field(description="as `tracer labels` names it")
    tenant: str
    labels: int
    as_of: str | None
    licence: str | None
    imported_at: str | None


class ExposureRunOut(_Answer):
    as_of: str | None
    chains: dict[str, object] = Field(description="per chain: the heights the exposure was computed over")
    max_hops: int | None
    truncated: bool


class CoverageAnswer(_Answer):
    id: str
    label_sources: list[LabelSourceOut]
    exposure: ExposureRunOut | None
    indexed: dict[str, dict[str, object]] | None = Field(
        default=None, description="the current coverage only: per chain min/max height, blocks, last indexed"
    )
    first_seen: str | None = Field(
        default=None, description="a stored snapshot: when an answer first named it"
    )


class AddressAnswer(ScreenAnswer):
    evidence: list[dict[str, object]] | None = None
    vetoes: list[dict[str, object]] | None = None


class PageOf(_Answer):
    items: list[object]
    limit: int
    offset: int


class ClusterAnswer(_Answer):
    id: int
    chain: str
    size: int
    members: PageOf
    labels: list[LabelOut]
    evidence: PageOf


class TransactionsAnswer(_Answer):
    chain: str
    address: str
    items: list[dict[str, object]]
    limit: int
    offset: int


class KeyInfo(_Answer):
    id: int
    role: RoleName
    tenant: str
    rate: float | None


class KeyCreated(KeyInfo):
    key: str = Field(description="the secret; shown once, stored only as a hash")


class KeyList(_Answer):
    items: list[KeyInfo]


class AuditRow(_Answer):
    seq: int
    id: int
    at: str
    key_id: int | None
    tenant: str
    method: str
    path: str
    status: int
    answer: dict[str, object] | None
    prev_hash: str
    hash: str


class AuditPage(_Answer):
    items: list[AuditRow]
    next_after_seq: int | None


class Health(_Answer):
    status: str
    database: str
