"""Request bodies, validated at the edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    offset: int = Field(default=0, ge=0)
