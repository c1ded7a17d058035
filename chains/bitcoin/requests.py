"""Pure builders of Bitcoin Core JSON-RPC calls: ``(method, params)`` pairs, no I/O.

Method names and parameters follow Bitcoin Core's RPC reference (``bitcoin-cli help <method>``).
"""

from __future__ import annotations

from typing import Final

from chains.rpc import Call

# getblock verbosity (Bitcoin Core >= 0.15; 3 since 23.0):
RAW: Final = 0  # hex of the serialized block
TXIDS: Final = 1  # header fields + txids
TXS: Final = 2  # header fields + decoded transactions
TXS_PREVOUT: Final = 3  # as 2, with each input's spent output ("prevout": value, scriptPubKey)

# Bitcoin Core RPC error codes (src/rpc/protocol.h) that the node layer gives a meaning.
RPC_INVALID_ADDRESS_OR_KEY: Final = -5  # "Block not found" for an unknown hash
RPC_INVALID_PARAMETER: Final = -8  # "Block height out of range" for getblockhash beyond the tip


def getblockcount() -> Call:
    return ("getblockcount", [])


def getbestblockhash() -> Call:
    return ("getbestblockhash", [])


def getblockhash(height: int) -> Call:
    return ("getblockhash", [height])


def getblock(block_hash: str, verbosity: int = RAW) -> Call:
    if verbosity not in (RAW, TXIDS, TXS, TXS_PREVOUT):
        raise ValueError(f"getblock verbosity must be 0..3, got {verbosity}")
    return ("getblock", [block_hash, verbosity])


def getblockheader(block_hash: str, verbose: bool = True) -> Call:
    return ("getblockheader", [block_hash, verbose])
