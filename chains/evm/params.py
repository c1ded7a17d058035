"""EVM protocol facts, each with its source. Facts, not settings: nothing here is configurable.

Event topics are keccak-256 of the event signature (Solidity ABI spec, "Events"); tests recompute each one.
"""

from __future__ import annotations

from typing import Final

# --- chain ids (EIP-155; chainlist.org) ----------------------------------------------------------------
ETHEREUM_CHAIN_ID: Final = 1
TRON_CHAIN_ID: Final = 0x2B6653DC  # TRON mainnet's eth_chainId (java-tron JSON-RPC docs): 728126428
ANVIL_CHAIN_ID: Final = 31337  # anvil / hardhat default

# --- ERC-20 (EIP-20) events ------------------------------------------------------------------------------
# Transfer(address indexed from, address indexed to, uint256 value): three topics. ERC-721's Transfer has
# the same signature with the token id indexed too (four topics): not a fungible amount, skipped.
TRANSFER_TOPIC: Final = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TRANSFER_TOPICS: Final = 3
# Approval(address indexed owner, address indexed spender, uint256 value)
APPROVAL_TOPIC: Final = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"

# --- stablecoin issuers' freeze events ---------------------------------------------------------------------
# Tether's TetherToken (etherscan 0xdAC17F958D2ee523a2206206994597C13D831ec7, verified source), none indexed:
ADDED_BLACKLIST_TOPIC: Final = (
    "0x42e160154868087d6bfdc0ca23d96a1c1cfa32f1b72ba9ba27b69b98a0d819dc"  # (address)
)
REMOVED_BLACKLIST_TOPIC: Final = (
    "0xd7e9ec6e6ecd65492dce6bf513cd6867560d49544421d0783ddf06e76c24470c"  # (address)
)
# DestroyedBlackFunds(address _blackListedUser, uint256 _balance)
DESTROYED_BLACK_FUNDS_TOPIC: Final = "0x61e6e66b0d6339b2980aecc6ccc0039736791f0ccde9ed512e789a7fbdd698c6"
# Circle's FiatTokenV1 (centrefi/centre-tokens Blacklistable.sol): Blacklisted(address indexed _account),
# UnBlacklisted(address indexed _account).
BLACKLISTED_TOPIC: Final = "0xffa4e6181777692565cf28528fc88fd1516ea86b56da075235fa575af6a4b855"
UNBLACKLISTED_TOPIC: Final = "0x117e3210bb9aa7d9baff172026820255c6f6c30ba8999d1c2fd88e2848137c4e"

# --- ERC-20 optional metadata getters (EIP-20 "OPTIONAL"): 4-byte selectors of keccak(signature) --------
SYMBOL_SELECTOR: Final = "0x95d89b41"  # symbol()
DECIMALS_SELECTOR: Final = "0x313ce567"  # decimals()
NAME_SELECTOR: Final = "0x06fdde03"  # name()

# --- issuers whose freeze events become labels: contract (canonical form) -> source name --------------------
# Only events emitted by these contracts count: any contract can emit an event named "Blacklisted".
ETHEREUM_ISSUERS: Final = {
    "0xdAC17F958D2ee523a2206206994597C13D831ec7": "tether",  # USDT (etherscan "Tether: USDT Stablecoin")
    "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48": "circle",  # USDC (etherscan "Circle: USDC Token")
}
TRON_ISSUERS: Final = {
    "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t": "tether",  # USDT-TRC20 (tronscan "Tether USD")
    "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8": "circle",  # USDC-TRC20 (tronscan "USD Coin")
}

# --- JSON-RPC error codes ---------------------------------------------------------------------------
# "method not found" (JSON-RPC 2.0 spec) and the codes providers use for "not supported / not enabled".
METHOD_NOT_FOUND: Final = -32601
UNSUPPORTED_CODES: Final = frozenset({-32601, -32600, -32602, -32000, -32004, -32006})

# How far back a reorg may reach on an EVM chain before we refuse to follow it (blocks). Post-merge Ethereum
# finalises after two epochs (64 slots, ethereum.org "Proof-of-stake": finality); TRON's solidified block
# trails the head by 19 of 27 super representatives' blocks. 128 leaves room for both.
MAX_REORG_DEPTH_BLOCKS: Final = 128
