"""TRON HTTP API answers -> ``AccountBlock`` records. Pure: no I/O.

A block is ``/wallet/getblockbynum`` (header and transactions: who called which contract type with what
value; addresses as ``41`` + 20 bytes hex) with ``/wallet/gettransactioninfobyblocknum`` (per transaction:
the receipt's result, the event logs — TRC-20 ``Transfer`` has the ERC-20 layout, decoded by
``chains.evm.parse.decode_log`` — and internal transactions that moved TRX). Value moves:

- NATIVE: a successful ``TransferContract`` (amount), or the ``call_value`` of a contract call / creation;
- TOKEN: TRC-20 ``Transfer`` logs (USDT-TRC20 first), plus approvals and the issuers' freeze events; and
  successful TRC-10 ``TransferAssetContract``s, whose asset is ``trc10:<asset id>`` (TRC-10 assets are
  protocol tokens with a numeric id, not contracts) and whose index is -1 (no log);
- INTERNAL: ``internal_transactions`` with a TRX ``callValue`` that were not rejected.

TRC-10 values inside contract calls (``call_token_value``, ``callValueInfo.tokenId``) are not recorded.
Transaction hashes are written ``0x`` + txID, as TRON's JSON-RPC writes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from chains.errors import AddressError, ParseError
from chains.evm.parse import BlockRef, decode_log, native_transfer, strip0x
from chains.model import AccountBlock, AccountTx, Chain, TokenEvent, Transfer, TransferKind
from chains.tron import params as p
from chains.tron.address import from_hex


def tx_id(raw_data_hex: str) -> str:
    """A transaction id: sha256 of its serialized raw_data (java-tron TransactionCapsule)."""
    return hashlib.sha256(bytes.fromhex(raw_data_hex)).hexdigest()


def parse_transaction(tx: Mapping[str, Any], index: int, info: Mapping[str, Any] | None = None) -> AccountTx:
    """One transaction object (as in getblockbynum's ``transactions``) with its info, if any."""
    try:
        txid = strip0x(str(tx["txID"])).lower()
        contract = tx["raw_data"]["contract"][0]
        kind, value = str(contract["type"]), contract["parameter"]["value"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ParseError(f"TRON transaction {index}: {type(exc).__name__}: {exc}") from exc
    if tx.get("raw_data_hex") and tx_id(str(tx["raw_data_hex"])) != txid:
        raise ParseError(f"TRON transaction {txid}: txID is not sha256 of raw_data_hex")
    results = [r.get("contractRet") for r in tx.get("ret") or ()]
    success = all(r in (None, p.SUCCESS) for r in results)
    if info is not None:
        receipt = info.get("receipt") or {}
        success = success and receipt.get("result", p.SUCCESS) == p.SUCCESS and info.get("result") != "FAILED"
    sender = from_hex(str(value["owner_address"]))
    to, amount, created = _target(kind, value, info)
    return AccountTx("0x" + txid, index, sender, to, amount, success, created)


def _target(
    kind: str, value: Mapping[str, Any], info: Mapping[str, Any] | None
) -> tuple[str | None, int, str | None]:
    """(receiver, sun moved, created contract) of one contract call."""
    if kind == p.TRANSFER_CONTRACT:
        return from_hex(str(value["to_address"])), int(value.get("amount", 0)), None
    if kind == p.TRIGGER_SMART_CONTRACT:
        return from_hex(str(value["contract_address"])), int(value.get("call_value", 0)), None
    if kind == p.CREATE_SMART_CONTRACT:
        created = info.get("contract_address") if info else None
        call_value = int((value.get("new_contract") or {}).get("call_value", 0))
        return None, call_value, from_hex(str(created)) if created else None
    receiver = value.get("to_address") or value.get("receiver_address")
    return (from_hex(str(receiver)) if receiver else None), 0, None  # staking, votes, TRC-10...: no TRX moved


def parse_block(block: Mapping[str, Any], infos: Sequence[Mapping[str, Any]]) -> AccountBlock:
    """``getblockbynum`` + ``gettransactioninfobyblocknum`` of one block (infos matched by id, any order)."""
    try:
        header = block["block_header"]["raw_data"]
        height, time = int(header.get("number", 0)), int(header["timestamp"]) // p.MS_PER_S
        ref = BlockRef(Chain.TRON, height, time, from_hex)
        by_id = {strip0x(str(i["id"])).lower(): i for i in infos}
        txs = tuple(
            parse_transaction(tx, n, by_id.get(strip0x(str(tx["txID"])).lower()))
            for n, tx in enumerate(block.get("transactions") or ())
        )
    except (KeyError, TypeError, ValueError, AddressError) as exc:
        raise ParseError(f"TRON block: {type(exc).__name__}: {exc}") from exc
    transfers: list[Transfer] = []
    events: list[TokenEvent] = []
    log_index = 0  # block-wide, as TRON's JSON-RPC numbers logs
    for tx, raw in zip(txs, block.get("transactions") or (), strict=True):
        if tx.success:
            transfers += _trc10(tx, raw, height, time)
        native = native_transfer(ref, tx)
        if native is not None:
            transfers.append(native)
        info = by_id.get(tx.hash[2:], {})
        for log in info.get("log") or ():
            decoded = decode_log(ref, tx.hash, {**log, "logIndex": log_index}) if tx.success else None
            log_index += 1
            if isinstance(decoded, Transfer):
                transfers.append(decoded)
            elif decoded is not None:
                events.append(decoded)
        if tx.success:
            transfers += _internal(ref, tx.hash, info.get("internal_transactions") or ())
    return AccountBlock(
        chain=Chain.TRON,
        hash=strip0x(str(block["blockID"])).lower(),
        height=height,
        prev_hash=strip0x(str(header["parentHash"])).lower(),
        time=time,
        txs=txs,
        transfers=tuple(transfers),
        events=tuple(events),
    )


def _trc10(tx: AccountTx, raw: Mapping[str, Any], height: int, time: int) -> list[Transfer]:
    contract = raw["raw_data"]["contract"][0]
    if contract["type"] != p.TRANSFER_ASSET_CONTRACT or tx.to_address is None:
        return []
    value = contract["parameter"]["value"]
    amount = int(value.get("amount", 0))
    if amount <= 0:
        return []
    asset = p.TRC10_PREFIX + trc10_id(str(value["asset_name"]))
    return [
        Transfer(Chain.TRON, height, tx.hash, -1, TransferKind.TOKEN, asset, tx.from_address,
                 tx.to_address, amount, time)
    ]  # fmt: skip


def trc10_id(asset_name: str) -> str:
    """A TRC-10 asset id: java-tron's HTTP API writes it hex-encoded (``31303035303635``), TronGrid's
    v1 API as the decimal digits (``1005065``)."""
    try:
        decoded = bytes.fromhex(asset_name).decode("ascii")
    except ValueError:  # odd length, not hex, or not ASCII (UnicodeDecodeError)
        return asset_name
    return decoded if decoded.isdigit() else asset_name


def _internal(ref: BlockRef, tx_hash: str, internals: Sequence[Mapping[str, Any]]) -> list[Transfer]:
    out = []
    for position, internal in enumerate(internals, start=1):
        if internal.get("rejected"):
            continue  # reverted: moved nothing
        sun = sum(
            int(v.get("callValue", 0)) for v in internal.get("callValueInfo") or () if "tokenId" not in v
        )
        if sun:
            source = from_hex(str(internal["caller_address"]))
            target = from_hex(str(internal["transferTo_address"]))
            out.append(
                Transfer(
                    Chain.TRON,
                    ref.height,
                    tx_hash,
                    position,
                    TransferKind.INTERNAL,
                    None,
                    source,
                    target,
                    sun,
                    ref.time,
                )
            )
    return out


def parse_asset_issue(answer: Mapping[str, Any]) -> tuple[str | None, str | None, int | None]:
    """(symbol, name, decimals) of a TRC-10 issue record (``getassetissuebyid``): ``abbr`` and ``name`` are
    hex of their bytes (``visible`` false), ``precision`` absent means 0 (proto3 JSON omits zero fields). A
    field that does not decode is None; an answer without ``id`` (the node has no such asset) is all None."""
    if not answer.get("id"):
        return None, None, None
    precision = answer.get("precision", 0)
    decimals = precision if isinstance(precision, int) and 0 <= precision <= p.MAX_TRC10_PRECISION else None
    return _hex_text(answer.get("abbr")), _hex_text(answer.get("name")), decimals


def _hex_text(value: object) -> str | None:
    try:
        text = bytes.fromhex(str(value)).decode("utf-8") if value else ""
    except (ValueError, UnicodeDecodeError):
        return None
    printable = text.isprintable() and 0 < len(text) <= p.MAX_ASSET_TEXT_CHARS
    return text if printable else None
