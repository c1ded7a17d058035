"""TRON node answers rebuilt from graphsense-lib's recorded ingest rows of one real mainnet block.

graphsense-lib (MIT) keeps, as test data, what its TRON ingest stored for mainnet block 50,000,011: the
block, all 293 transactions, all 76 logs and both internal transactions, as rows
(tests/fixtures/tron/graphsense/, bytes written as hex, nothing else changed). Its ingest read them from
java-tron: the block, transactions and receipts from the Ethereum-compatible JSON-RPC, the contract type
of each transaction from gRPC ``GetBlockByNum``, the internal transactions from gRPC
``GetTransactionInfoByBlockNum``. This module writes those rows back as the answers a TRON node gives:

- ``http_answers``: ``/wallet/getblockbynum`` and ``/wallet/gettransactioninfobyblocknum``;
- ``jsonrpc_answers``: ``eth_getBlockByNumber`` (transaction hashes) and one receipt per transaction.

Only fields the rows carry are written; the rest of a real answer is absent, never made up. Absent:
signatures, ``raw_data_hex`` and the rest of ``raw_data`` (so txIDs cannot be re-derived), the header's
``version`` and ``witness_signature``, fees and energy, internal transactions' hashes, and — because
graphsense-lib's ``TxTypeTransformer`` zeroes it (TRON's JSON-RPC reports a TRC-10 amount as ``value``) —
the asset and amount of each ``TransferAssetContract``. Re-encodings, each undone from a documented step:
timestamps are the rows' seconds times 1000 (java-tron's block timestamps are whole seconds in ms); the
``WithdrawBalanceContract``'s owner is the row's ``to_address`` (graphsense-lib swaps from and to for that
type); a ``TriggerSmartContract``'s ``to_address`` is its ``contract_address``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from chains.tron import params as p

Row = Mapping[str, Any]
Rows = Mapping[str, list[dict[str, Any]]]  # "blocks", "transactions", "logs", "traces"

TRON_HEX_PREFIX: Final = "41"  # TRON's HTTP API writes an address as 41 + its 20 bytes
# java-tron protocol Tron.proto, Transaction.Contract.ContractType: the numbers in ``transaction_type``.
CONTRACT_TYPES: Final = {
    0: "AccountCreateContract",
    1: p.TRANSFER_CONTRACT,
    2: p.TRANSFER_ASSET_CONTRACT,
    13: "WithdrawBalanceContract",
    30: p.CREATE_SMART_CONTRACT,
    31: p.TRIGGER_SMART_CONTRACT,
}


def load_rows(path: Path) -> dict[str, list[dict[str, Any]]]:
    with gzip.open(path, "rt") as fh:
        rows: dict[str, list[dict[str, Any]]] = json.load(fh)
    return rows


def http_answers(rows: Rows) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(``getblockbynum``, ``gettransactioninfobyblocknum``) of the one block in ``rows``."""
    (block,) = rows["blocks"]
    header = {
        "number": block["block_id"],
        "txTrieRoot": block["transactions_root"],
        "witness_address": TRON_HEX_PREFIX + block["miner"],
        "parentHash": block["parent_hash"],
        "timestamp": block["timestamp"] * p.MS_PER_S,
    }
    txs = sorted(rows["transactions"], key=lambda t: int(t["transaction_index"]))
    answer = {"blockID": block["block_hash"], "block_header": {"raw_data": header}}
    answer["transactions"] = [_http_tx(tx) for tx in txs]
    return answer, [_info(tx, block, rows) for tx in txs]


def _http_tx(tx: Row) -> dict[str, Any]:
    if tx["receipt_status"] != 1:
        raise ValueError(f"{tx['tx_hash']}: only successful transactions are in the recording")
    kind = CONTRACT_TYPES[int(tx["transaction_type"])]
    contract = {"type": kind, "parameter": {"value": _parameter(kind, tx)}}
    return {"ret": [{"contractRet": p.SUCCESS}], "txID": tx["tx_hash"], "raw_data": {"contract": [contract]}}


def _parameter(kind: str, tx: Row) -> dict[str, Any]:
    sender, receiver = _hex41(tx["from_address"]), _hex41(tx["to_address"])
    if kind == "WithdrawBalanceContract":
        return {"owner_address": receiver}  # un-swapped: graphsense-lib's to is the owner
    value: dict[str, Any] = {"owner_address": sender}
    if kind == p.TRANSFER_CONTRACT:
        value |= {"to_address": receiver, "amount": tx["value"]}
    elif kind == p.TRIGGER_SMART_CONTRACT:
        value |= {"contract_address": receiver, "data": tx["input"]}
        if tx["value"]:
            value["call_value"] = tx["value"]  # java-tron's JSON leaves out zero fields
    elif kind == p.TRANSFER_ASSET_CONTRACT:
        value["to_address"] = receiver  # asset_name and amount: not in the rows
    elif kind == "AccountCreateContract":
        value["account_address"] = receiver
    return value


def _info(tx: Row, block: Row, rows: Rows) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": tx["tx_hash"],
        "blockNumber": block["block_id"],
        "blockTimeStamp": block["timestamp"] * p.MS_PER_S,
    }
    if CONTRACT_TYPES[int(tx["transaction_type"])] == p.TRIGGER_SMART_CONTRACT:
        info["contract_address"] = _hex41(tx["to_address"])
        info["receipt"] = {"result": p.SUCCESS}
    logs = sorted((r for r in rows["logs"] if r["tx_hash"] == tx["tx_hash"]), key=lambda r: r["log_index"])
    if logs:
        info["log"] = [{"address": r["address"], "topics": r["topics"], "data": r["data"]} for r in logs]
    traces = sorted(
        (r for r in rows["traces"] if r["tx_hash"] == tx["tx_hash"]), key=lambda r: r["trace_index"]
    )
    if traces:
        info["internal_transactions"] = _internals(traces)
    return info


def _internals(traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """graphsense-lib writes one row per ``callValueInfo`` entry (``call_info_index`` 0, 1, ...) of an
    internal transaction, and one row with ``call_info_index`` None for an internal without any."""
    internals: list[dict[str, Any]] = []
    for trace in traces:
        if trace["call_info_index"]:  # a further entry of the internal transaction before
            internals[-1]["callValueInfo"].append(_call_value(trace))
            continue
        internal: dict[str, Any] = {
            "caller_address": _hex41(trace["caller_address"]),
            "transferTo_address": _hex41(trace["transferto_address"]),
            "note": trace["note"].encode().hex(),  # decoded by graphsense-lib; the HTTP API writes hex
        }
        if trace["call_info_index"] is not None:
            internal["callValueInfo"] = [_call_value(trace)]
        if trace["rejected"]:
            internal["rejected"] = True  # java-tron's JSON leaves out a false one
        internals.append(internal)
    return internals


def _call_value(trace: Row) -> dict[str, Any]:
    entry: dict[str, Any] = {"callValue": trace["call_value"]} if trace["call_value"] else {}
    if trace["call_token_id"] is not None:
        entry["tokenId"] = str(trace["call_token_id"])
    return entry


def _hex41(address: str | None) -> str | None:
    return None if address is None else TRON_HEX_PREFIX + address


def jsonrpc_answers(rows: Rows) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(``eth_getBlockByNumber`` with transaction hashes, the receipts) of the one block in ``rows``. No
    transaction bodies: their ``value`` is TRON's JSON-RPC ``value``, which graphsense-lib zeroed for the
    TRC-10 transfers, so it is not served (a receipt has ``from`` and ``to``)."""
    (block,) = rows["blocks"]
    txs = sorted(rows["transactions"], key=lambda t: int(t["transaction_index"]))
    answer = {
        "number": hex(block["block_id"]),
        "hash": "0x" + block["block_hash"],
        "parentHash": "0x" + block["parent_hash"],
        "timestamp": hex(block["timestamp"]),
        "miner": "0x" + block["miner"],
        "transactionsRoot": "0x" + block["transactions_root"],
        "gasUsed": hex(block["gas_used"]),
        "gasLimit": hex(block["gas_limit"]),
        "size": hex(block["size"]),
        "transactions": ["0x" + tx["tx_hash"] for tx in txs],
    }
    return answer, [_receipt(tx, block, rows) for tx in txs]


def _receipt(tx: Row, block: Row, rows: Rows) -> dict[str, Any]:
    sender, receiver = tx["from_address"], tx["to_address"]
    if CONTRACT_TYPES[int(tx["transaction_type"])] == "WithdrawBalanceContract":
        sender, receiver = receiver, sender  # undo graphsense-lib's swap
    where = {
        "transactionHash": "0x" + tx["tx_hash"],
        "transactionIndex": hex(tx["transaction_index"]),
        "blockHash": "0x" + block["block_hash"],
        "blockNumber": hex(block["block_id"]),
    }
    logs = sorted((r for r in rows["logs"] if r["tx_hash"] == tx["tx_hash"]), key=lambda r: r["log_index"])
    return where | {
        "from": "0x" + sender,
        "to": _hex0x(receiver),
        "status": hex(tx["receipt_status"]),
        "gasUsed": hex(tx["receipt_gas_used"]),
        "cumulativeGasUsed": hex(tx["receipt_cumulative_gas_used"]),
        "effectiveGasPrice": hex(tx["receipt_effective_gas_price"]),
        "contractAddress": _hex0x(tx["receipt_contract_address"]),
        "logs": [_rpc_log(r, where) for r in logs],
    }


def _rpc_log(log: Row, where: Mapping[str, str]) -> dict[str, Any]:
    topics = ["0x" + t for t in log["topics"]]
    return {"address": "0x" + log["address"], "topics": topics, "data": "0x" + log["data"]} | {
        "logIndex": hex(log["log_index"]),
        **where,
        "removed": False,
    }


def _hex0x(address: str | None) -> str | None:
    return None if address is None else "0x" + address
