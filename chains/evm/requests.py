"""Pure builders of Ethereum JSON-RPC calls: ``(method, params)`` pairs, no I/O.

Methods and parameters follow the Ethereum execution API spec (ethereum/execution-apis) and, for traces,
geth's ``debug_traceBlockByNumber`` with the built-in ``callTracer`` and OpenEthereum/Erigon/Reth
``trace_block``. Quantities are 0x-hex without leading zeros (the spec's "QUANTITY").
"""

from __future__ import annotations

from chains.rpc import Call


def quantity(value: int) -> str:
    if value < 0:
        raise ValueError(f"a quantity must be >= 0, got {value}")
    return hex(value)


def chain_id() -> Call:
    return ("eth_chainId", [])


def block_number() -> Call:
    return ("eth_blockNumber", [])


def get_block(height: int, full: bool = True) -> Call:
    return ("eth_getBlockByNumber", [quantity(height), full])


def get_block_receipts(height: int) -> Call:
    return ("eth_getBlockReceipts", [quantity(height)])


def get_receipt(tx_hash: str) -> Call:
    return ("eth_getTransactionReceipt", [tx_hash])


def get_logs_of_block(block_hash: str) -> Call:
    """Every log of one block, named by hash (EIP-234): no other branch's, and no block-range limit."""
    return ("eth_getLogs", [{"blockHash": block_hash}])


def get_logs_of_range(first: int, last: int) -> Call:
    """Every log of the blocks at heights ``first``..``last`` (both included), each naming its block."""
    return ("eth_getLogs", [{"fromBlock": quantity(first), "toBlock": quantity(last)}])


def trace_block(height: int) -> Call:
    return ("trace_block", [quantity(height)])


def debug_trace_block(height: int) -> Call:
    return ("debug_traceBlockByNumber", [quantity(height), {"tracer": "callTracer"}])


def eth_call(to: str, data: str, block: str = "latest") -> Call:
    return ("eth_call", [{"to": to, "data": data}, block])
