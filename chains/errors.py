"""Errors raised by the chains layer.

ChainError
├── ParseError          bytes or JSON that are not what the chain defines
├── AddressError        an address that does not decode or whose checksum fails
└── NodeError           talking to a node failed
    ├── NodeUnavailable     connection refused / DNS / reset
    ├── RpcTimeout          no answer in time
    ├── RpcError            the node answered with a JSON-RPC error (code, retriable)
    ├── NodeNotSynced       the node is behind what we asked for
    ├── NodeAuthError       the node rejected our credentials (HTTP 401/403)
    └── NodeProtocolError   the node answered, but not in the protocol we speak
"""

from __future__ import annotations


class ChainError(Exception):
    """Root of every error raised by ``chains``; ``tracer.errors`` maps these to its own tree."""


class ParseError(ChainError):
    pass


class AddressError(ChainError, ValueError):
    pass


class NodeError(ChainError):
    retriable: bool = True


class NodeUnavailable(NodeError):
    pass


class RpcTimeout(NodeError):
    pass


class RpcError(NodeError):
    def __init__(self, code: int, message: str, *, retriable: bool = False) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.retriable = retriable


class NodeNotSynced(NodeError):
    pass


class NodeAuthError(NodeError):
    """Retrying cannot help: fix the credentials."""

    retriable = False


class NodeProtocolError(NodeError):
    """Bad JSON, missing ids, an unexpected status: retrying the same request would get the same answer."""

    retriable = False
