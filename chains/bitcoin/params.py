"""Bitcoin mainnet protocol facts, each with its source. Facts, not settings: nothing here is configurable."""

from __future__ import annotations

# --- network -------------------------------------------------------------------------------------------
# Message start bytes framing every block in blk*.dat files; Bitcoin Core src/kernel/chainparams.cpp
# (CMainParams: pchMessageStart = f9 be b4 d9).
MAINNET_MAGIC = b"\xf9\xbe\xb4\xd9"

# Genesis block hash; Bitcoin Core chainparams.cpp (consensus.hashGenesisBlock).
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
# The genesis block has no parent: RPC omits previousblockhash, the header carries 32 zero bytes.
NULL_HASH = "00" * 32

# --- amounts -------------------------------------------------------------------------------------------
COIN_SAT = 100_000_000  # satoshi per BTC; Bitcoin Core src/consensus/amount.h (COIN)
MAX_MONEY_SAT = 21_000_000 * COIN_SAT  # consensus.amount.h (MAX_MONEY); no output or sum exceeds it

# --- addresses -----------------------------------------------------------------------------------------
P2PKH_VERSION = 0x00  # base58Prefixes[PUBKEY_ADDRESS], chainparams.cpp; addresses start with "1"
P2SH_VERSION = 0x05  # base58Prefixes[SCRIPT_ADDRESS], chainparams.cpp / BIP13; addresses start with "3"
BECH32_HRP = "bc"  # bech32_hrp, chainparams.cpp / BIP173
# Other networks' prefixes (chainparams.cpp), only to say "testnet address" rather than "bad checksum".
TESTNET_BASE58_VERSIONS = frozenset({0x6F, 0xC4})
TESTNET_HRPS = frozenset({"tb", "bcrt"})
MAX_BECH32_LENGTH = 90  # characters; BIP173 "Bech32" section
WITNESS_PROGRAM_MIN_BYTES = 2  # BIP141 "Witness program"
WITNESS_PROGRAM_MAX_BYTES = 40  # BIP141 "Witness program"
WITNESS_V0_KEYHASH_BYTES = 20  # BIP141 P2WPKH
WITNESS_V0_SCRIPTHASH_BYTES = 32  # BIP141 P2WSH
TAPROOT_PROGRAM_BYTES = 32  # BIP341 "Script validation rules": v1 with a 32-byte program

# --- blocks and transactions ---------------------------------------------------------------------------
HEADER_BYTES = 80  # version, prev hash, merkle root, time, bits, nonce; Bitcoin Core primitives/block.h
WITNESS_SCALE_FACTOR = 4  # BIP141 "Block size": weight = base size * 3 + total size; vsize = ceil(weight / 4)
SEGWIT_MARKER = 0x00  # BIP144 "Serialization": marker byte after the version
SEGWIT_FLAG = 0x01  # BIP144 "Serialization": flag byte after the marker
# Largest CompactSize a count or length may carry; Bitcoin Core serialize.h MAX_SIZE (ReadCompactSize throws
# "size too large" above it)
MAX_COMPACT_SIZE = 0x0200_0000
COINBASE_PREVOUT_VOUT = 0xFFFF_FFFF  # the coinbase input spends the null outpoint (zero txid, index 2**32-1)

# BIP34 (height in coinbase) is enforced for every block from this height on; Bitcoin Core chainparams.cpp
# consensus.BIP34Height = 227931 (BIP34Hash 000000000000024b89b42a942fe0d9fea3bb44ab7bd1b19115dd6a759c0808b8).
# Below it a coinbase may start with anything (version-1 blocks, and version-2 blocks mined before
# enforcement), so a height read from it is only trusted when it is at least this value.
BIP34_HEIGHT = 227_931
BIP34_MIN_BLOCK_VERSION = 2  # BIP34: blocks carrying the height are version 2 or later
# Genesis block header time (unix seconds); Bitcoin Core chainparams.cpp CreateGenesisBlock(1231006505, ...).
GENESIS_TIME = 1_231_006_505
# seconds per block, a floor for the mean interval since genesis. Measured on the bundled blocks it stays
# within 565..587 s (210000: 586 s, 277647: 567 s, 478558: 565 s, 574200: 567 s, 757753: 573 s). A
# coinbase number implying a faster chain than this is not a height (e.g. the 0x1d00ffff nBits push that
# 2009-2012 coinbases start with reads as 486,604,799).
MIN_MEAN_BLOCK_INTERVAL_S = 450

# Activation heights, for readers of the data; Bitcoin Core chainparams.cpp (SegwitHeight, Taproot).
SEGWIT_HEIGHT = 481_824
TAPROOT_HEIGHT = 709_632
