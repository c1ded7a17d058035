"""TRON protocol facts, each with its source (java-tron, TRON developer docs). Not settings."""

from __future__ import annotations

from typing import Final

MS_PER_S: Final = 1000  # block_header.raw_data.timestamp is in milliseconds (java-tron BlockHeader.raw)
SUN_PER_TRX: Final = 1_000_000  # TRON docs "TRX": 1 TRX = 1,000,000 sun
SUCCESS: Final = "SUCCESS"  # Transaction.Result.contractResult / receipt.result of a transaction that ran
# Contract types (java-tron protocol Tron.proto, Transaction.Contract.ContractType) that move TRX:
TRANSFER_CONTRACT: Final = "TransferContract"  # value.owner_address -> value.to_address, value.amount sun
TRANSFER_ASSET_CONTRACT: Final = "TransferAssetContract"  # TRC-10: value.asset_name (the id), value.amount
TRC10_PREFIX: Final = "trc10:"  # a TRC-10 asset in the token registry: "trc10:" + its numeric id
TRIGGER_SMART_CONTRACT: Final = "TriggerSmartContract"  # value.call_value sun to value.contract_address
CREATE_SMART_CONTRACT: Final = "CreateSmartContract"  # value.new_contract.call_value sun to the new contract
# HTTP API paths (TRON developer docs, "HTTP API"): a POST with {"num": height}.
GET_BLOCK_BY_NUM: Final = "wallet/getblockbynum"
GET_TX_INFO_BY_BLOCK_NUM: Final = "wallet/gettransactioninfobyblocknum"
GET_NOW_BLOCK: Final = "wallet/getnowblock"
TRIGGER_CONSTANT_CONTRACT: Final = "wallet/triggerconstantcontract"  # a read-only call; constant_result[0]
# A TRC-10 asset's issue record, {"value": "<id>"}: name and abbr as hex of their bytes, precision (the
# asset's decimals; java-tron's JSON leaves out a zero precision); {} when the node has no such asset.
GET_ASSET_ISSUE_BY_ID: Final = "wallet/getassetissuebyid"
# java-tron AssetIssueActuator: a TRC-10 precision is 0..6; names and abbreviations are at most 32 bytes.
MAX_TRC10_PRECISION: Final = 6
MAX_ASSET_TEXT_CHARS: Final = 32
