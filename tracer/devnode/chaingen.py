"""A deterministic, Bitcoin-mainnet-shaped chain for benchmarks: real serialization, real hashes, fake work.

How it generates (seeded; the same ``seed`` and arguments give byte-identical blocks):

- **Heights and headers.** Blocks start at ``start_height`` (default 800,000, so every coinbase carries a
  BIP34 height that ``chains.bitcoin.parse.coinbase_height`` trusts) at 600 s spacing from block 800,000's
  real time. The first block's parent is a hash derived from the seed (the chain does not reach genesis).
  Headers are version 0x20000000 with mainnet-era ``bits``; the nonce is not mined (no proof of work), but
  merkle roots, txids, wtxids and block hashes are real double SHA-256 of the serialization.
- **Money.** The first block holds only its coinbase, which funds the chain: ``FUNDING_OUTPUTS`` outputs of
  ``FUNDING_OUTPUT_SAT`` to as many "whale" wallets (more than the subsidy: consensus is not checked here),
  spendable from the next block on.
  Every later coinbase pays the 6.25 BTC subsidy plus the block's fees to one of ``MINERS`` pool wallets
  (one address each, reused every time) and carries the BIP141 witness commitment. Coinbase outputs are
  spendable after ``COINBASE_MATURITY`` blocks; every other output as soon as its transaction is in the
  chain, including later in the same block (unconfirmed chains, as on mainnet). Inputs = outputs + fee.
- **Who pays whom.** Wallets own keys (addresses). A sender is the owner of a uniformly drawn unspent
  output; extra inputs come from the same wallet, so the common-input heuristic sees real co-spending.
  Recipients: a new wallet with probability ``NEW_WALLET_P``, else an existing wallet drawn heavy-tailed
  (index ``n * u**REUSE_SKEW``: the oldest wallets, "exchanges", receive most); an existing recipient reuses
  one of its addresses with probability ``ADDRESS_REUSE_P``. Change goes to a fresh address of the sender
  (``CHANGE_TO_SELF_P`` back to the spent address).
- **Transaction shapes** (``_SHAPES``, a weighted draw): 1-in/2-out payments with change (most), 1-in/1-out
  sweeps, 2-4-in payments, consolidations (10-300 inputs to one output) and batch payouts (20-400 outputs
  plus change); fees are a fee rate drawn from 1-60 sat/vB times an estimated vsize.
- **Scripts.** New keys are P2WPKH, P2PKH, P2SH-P2WPKH or P2TR (``_KEY_TYPES`` weights) with random
  compressed public keys; hashes are the real hash160 of those keys, and spends carry the key in the
  scriptSig/witness exactly where Bitcoin Core puts it (P2PKH: sig+key pushes; P2SH-P2WPKH: redeem-script
  push + [sig, key] witness; P2WPKH: [sig, key]; P2TR key path: [64-byte sig]), so parsers derive the same
  address from the spend as from the output. Signatures are DER-shaped random bytes (never verified).

``generate_blocks`` yields raw blocks; ``write_blk_files`` frames them into Core-style ``blk%05d.dat``
files; ``index_generated`` loads them into a tracer database through the file indexer.
Run ``python -m bench.chaingen --txs 100000 --out DIR`` to write a chain to disk, or serve one with
``tracer dev replay-node --generate 100000``. (It lives in the package so the replay node can use it;
``bench.chaingen`` is its front door for the benchmarks.)
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from chains.bitcoin import params

if TYPE_CHECKING:
    import asyncpg

    from tracer.jobs.index import IndexReport

__all__ = [
    "DEFAULT_START_HEIGHT",
    "generate_blocks",
    "index_generated",
    "write_blk_files",
]

DEFAULT_START_HEIGHT = 800_000
START_TIME = 1_690_168_629  # block 800,000's header time (2023-07-24)
BLOCK_INTERVAL_S = 600  # Bitcoin's target spacing
BLOCK_VERSION = 0x2000_0000  # BIP9 version bits, no deployment signalled
BITS = 0x1705_3894  # block 800,000's nBits
SUBSIDY_SAT = 625_000_000  # 6.25 BTC: the subsidy from block 630,000 to 839,999
COINBASE_MATURITY = 100  # blocks; Bitcoin Core consensus/consensus.h
FUNDING_OUTPUTS = 1_000
FUNDING_OUTPUT_SAT = 100 * params.COIN_SAT
MINERS = 12  # pool wallets, one reused address each
DUST_SAT = 546  # Core's dust threshold for a P2PKH output at 3 sat/vB
NEW_WALLET_P = 0.30
ADDRESS_REUSE_P = 0.45
CHANGE_TO_SELF_P = 0.25
PAYMENT_LOG10_SAT = (3.5, 3.5)  # payee amounts log-uniform from 10**3.5 to 10**7 sat (3,162 sat-0.1 BTC)
REUSE_SKEW = 4.0  # u**4: a quarter of draws hit the oldest 0.4 % of wallets
MAX_FILE_BYTES = 128 * 1024 * 1024  # Core's MAX_BLOCKFILE_SIZE

P2PKH, P2SH_P2WPKH, P2WPKH, P2TR = range(4)
_KEY_TYPES = (P2WPKH, P2PKH, P2SH_P2WPKH, P2TR)
_KEY_WEIGHTS = (50, 20, 18, 12)


class _Shape(NamedTuple):
    name: str
    weight: int
    inputs: tuple[int, int]  # low..high, drawn skewed towards low
    payees: tuple[int, int]
    change: bool  # one more output back to the sender
    to_self: bool = False  # the payee is the sender (a consolidation)


_SHAPES = (
    _Shape("payment", 70, (1, 1), (1, 1), change=True),
    _Shape("sweep", 10, (1, 1), (1, 1), change=False),
    _Shape("multi-input payment", 12, (2, 4), (1, 1), change=True),
    _Shape("consolidation", 3, (10, 300), (1, 1), change=False, to_self=True),
    _Shape("batch payout", 5, (1, 3), (20, 400), change=True),
)
_SHAPE_WEIGHTS = tuple(s.weight for s in _SHAPES)
# estimated vsize per input and output by key type (P2PKH, P2SH-P2WPKH, P2WPKH, P2TR); for the fee only
_IN_VBYTES = (148, 91, 68, 58)
_OUT_VBYTES = (34, 32, 31, 43)

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_OUTPOINT = struct.Struct("<32sI")
_WITNESS_COMMITMENT_HEADER = b"\x6a\x24\xaa\x21\xa9\xed"  # OP_RETURN push36 + BIP141 tag


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def _push(data: bytes) -> bytes:
    return bytes((len(data),)) + data  # all pushes here are < 76 bytes


@dataclass(slots=True)
class _Wallet:
    keys: list[_Key] = field(default_factory=list)
    utxos: list[_Utxo] = field(default_factory=list)


@dataclass(slots=True)
class _Key:
    kind: int
    pubkey: bytes
    script_pubkey: bytes
    wallet: _Wallet
    redeem: bytes = b""  # P2SH-P2WPKH's redeem script


@dataclass(slots=True)
class _Utxo:
    outpoint: bytes  # txid (internal order) + LE vout, as serialized in an input
    value: int
    key: _Key
    spent: bool = False


class _Generator:
    """The chain state: wallets, the unspent-output pool and the random stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.wallets: list[_Wallet] = []
        self.pool: list[_Utxo] = []
        self.immature: deque[tuple[int, list[_Utxo]]] = deque()  # (spendable from height, outputs)
        self.funded = False
        self.miners = [self.new_wallet() for _ in range(MINERS)]
        for miner in self.miners:
            self.new_key(miner)

    # --- keys and wallets ---------------------------------------------------------------------------------
    def new_wallet(self) -> _Wallet:
        wallet = _Wallet()
        self.wallets.append(wallet)
        return wallet

    def new_key(self, wallet: _Wallet) -> _Key:
        rng = self.rng
        kind = rng.choices(_KEY_TYPES, _KEY_WEIGHTS)[0]
        pubkey = bytes((2 + rng.getrandbits(1),)) + rng.randbytes(32)
        if kind == P2TR:
            key = _Key(kind, pubkey, b"\x51\x20" + rng.randbytes(32), wallet)
        elif kind == P2WPKH:
            key = _Key(kind, pubkey, b"\x00\x14" + _hash160(pubkey), wallet)
        elif kind == P2PKH:
            key = _Key(kind, pubkey, b"\x76\xa9\x14" + _hash160(pubkey) + b"\x88\xac", wallet)
        else:
            redeem = b"\x00\x14" + _hash160(pubkey)
            key = _Key(kind, pubkey, b"\xa9\x14" + _hash160(redeem) + b"\x87", wallet, redeem)
        wallet.keys.append(key)
        return key

    def _recipient(self) -> _Key:
        rng = self.rng
        if rng.random() < NEW_WALLET_P:
            return self.new_key(self.new_wallet())
        wallet = self.wallets[int(len(self.wallets) * rng.random() ** REUSE_SKEW)]
        if wallet.keys and rng.random() < ADDRESS_REUSE_P:
            return wallet.keys[int(len(wallet.keys) * rng.random() ** 2)]
        return self.new_key(wallet)

    # --- unspent outputs ----------------------------------------------------------------------------------
    def _draw_utxo(self) -> _Utxo | None:
        pool, rng = self.pool, self.rng
        while pool:
            i = rng.randrange(len(pool))
            utxo = pool[i]
            pool[i] = pool[-1]
            pool.pop()
            if not utxo.spent:
                utxo.spent = True
                return utxo
        return None

    def _more_from(self, wallet: _Wallet, want: int) -> list[_Utxo]:
        taken: list[_Utxo] = []
        mine = wallet.utxos
        while mine and len(taken) < want:
            utxo = mine.pop()
            if not utxo.spent:
                utxo.spent = True
                taken.append(utxo)
        return taken

    def add_outputs(self, txid: bytes, outputs: Sequence[tuple[int, _Key]]) -> list[_Utxo]:
        made = []
        for vout, (value, key) in enumerate(outputs):
            utxo = _Utxo(txid + _U32.pack(vout), value, key)
            key.wallet.utxos.append(utxo)
            made.append(utxo)
        return made

    # --- transactions -------------------------------------------------------------------------------------
    def payment(self) -> tuple[bytes, bytes, int] | None:
        """One spending transaction: (serialization, txid, fee), or None when nothing is spendable."""
        first = self._draw_utxo()
        if first is None:
            return None
        shape = self.rng.choices(_SHAPES, _SHAPE_WEIGHTS)[0]
        wallet = first.key.wallet
        inputs = [first, *self._more_from(wallet, self._skewed(shape.inputs) - 1)]
        outputs = self._outputs(inputs, self._skewed(shape.payees), shape, wallet)
        raw, txid = _serialize(inputs, [(v, k.script_pubkey) for v, k in outputs], self.rng)
        self.pool.extend(self.add_outputs(txid, outputs))
        return raw, txid, sum(u.value for u in inputs) - sum(v for v, _ in outputs)

    def _skewed(self, bounds: tuple[int, int]) -> int:
        low, high = bounds
        return int(low + (high - low + 1) * self.rng.random() ** 3)

    def _outputs(
        self, inputs: list[_Utxo], n_payees: int, shape: _Shape, wallet: _Wallet
    ) -> list[tuple[int, _Key]]:
        """Payee amounts, coin selection (more inputs from the wallet until they cover them) and change."""
        rng = self.rng
        rate = 1 + 59 * rng.random() ** 3  # sat/vB, mostly low
        vsize = 11 + sum(_IN_VBYTES[u.key.kind] for u in inputs) + 34 * (n_payees + shape.change)
        total = sum(u.value for u in inputs)
        if not shape.change:  # sweep or consolidation: everything but the fee to one output
            fee = min(int(vsize * rate), total - DUST_SAT)
            payee = self.new_key(wallet) if shape.to_self else self._recipient()
            return [(total - fee, payee)]
        amounts = [
            int(10 ** (PAYMENT_LOG10_SAT[0] + PAYMENT_LOG10_SAT[1] * rng.random())) for _ in range(n_payees)
        ]
        while total < sum(amounts) + vsize * rate + DUST_SAT:
            more = self._more_from(wallet, 1)
            if not more:
                break
            inputs.append(more[0])
            total += more[0].value
            vsize += _IN_VBYTES[more[0].key.kind]
        fee = int(vsize * rate)
        available = total - fee - DUST_SAT  # what payees can get with change left over
        if available < DUST_SAT * n_payees:  # the wallet cannot afford it: pay out what there is
            return [(total - min(fee, total - DUST_SAT), self._recipient())]
        if sum(amounts) > available:
            extra, wanted = available - DUST_SAT * n_payees, sum(amounts)
            amounts = [DUST_SAT + a * extra // wanted for a in amounts]
        back = inputs[0].key if rng.random() < CHANGE_TO_SELF_P else self.new_key(wallet)
        outputs = [(a, self._recipient()) for a in amounts]
        return [*outputs, (total - fee - sum(amounts), back)]


def _sig(rng: random.Random) -> bytes:
    return b"\x30\x44\x02\x20" + rng.randbytes(32) + b"\x02\x20" + rng.randbytes(32) + b"\x01"


def _serialize(
    inputs: Sequence[_Utxo], outputs: Sequence[tuple[int, bytes]], rng: random.Random
) -> tuple[bytes, bytes]:
    """(full serialization, txid) of a version-2 transaction spending ``inputs``."""
    ins, wits = [_varint(len(inputs))], []
    segwit = False
    for utxo in inputs:
        key = utxo.key
        if key.kind == P2PKH:
            script_sig, witness = _push(_sig(rng)) + _push(key.pubkey), b"\x00"
        elif key.kind == P2TR:
            script_sig, witness = b"", b"\x01\x40" + rng.randbytes(64)
        else:
            script_sig = _push(key.redeem) if key.redeem else b""
            witness = b"\x02\x47" + _sig(rng) + b"\x21" + key.pubkey
        segwit = segwit or key.kind != P2PKH
        ins.append(utxo.outpoint + _varint(len(script_sig)) + script_sig + b"\xff\xff\xff\xfd")
        wits.append(witness)
    outs = [_varint(len(outputs))]
    outs += [_U64.pack(value) + _varint(len(spk)) + spk for value, spk in outputs]
    body = b"".join(ins) + b"".join(outs)
    base = b"\x02\x00\x00\x00" + body + b"\x00\x00\x00\x00"
    txid = _sha256d(base)
    if not segwit:
        return base, txid
    return b"\x02\x00\x00\x00\x00\x01" + body + b"".join(wits) + b"\x00\x00\x00\x00", txid


def _coinbase(
    height: int, outputs: Sequence[tuple[int, bytes]], witness_root: bytes, tag: bytes
) -> tuple[bytes, bytes]:
    """(serialization, txid) of a segwit coinbase with a BIP34 height and a BIP141 witness commitment."""
    script_sig = b"\x03" + height.to_bytes(3, "little") + _push(tag)
    commitment = _WITNESS_COMMITMENT_HEADER + _sha256d(witness_root + bytes(32))
    outs = [*outputs, (0, commitment)]
    body = (
        b"\x01"
        + bytes(32)
        + b"\xff\xff\xff\xff"
        + _varint(len(script_sig))
        + script_sig
        + b"\xff\xff\xff\xff"
        + _varint(len(outs))
        + b"".join(_U64.pack(v) + _varint(len(spk)) + spk for v, spk in outs)
    )
    txid = _sha256d(b"\x02\x00\x00\x00" + body + b"\x00\x00\x00\x00")
    return b"\x02\x00\x00\x00\x00\x01" + body + b"\x01\x20" + bytes(32) + b"\x00\x00\x00\x00", txid


def _merkle(hashes: list[bytes]) -> bytes:
    level = hashes
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [_sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _block(height: int, prev: bytes, txs: list[tuple[bytes, bytes]], nonce: int) -> bytes:
    header = b"".join(
        (
            _U32.pack(BLOCK_VERSION),
            prev,
            _merkle([txid for _, txid in txs]),
            _U32.pack(START_TIME + (height - DEFAULT_START_HEIGHT) * BLOCK_INTERVAL_S),
            _U32.pack(BITS),
            _U32.pack(nonce),
        )
    )
    return header + _varint(len(txs)) + b"".join(raw for raw, _ in txs)


def generate_blocks(
    n_txs: int, seed: int = 1, txs_per_block: int = 2000, start_height: int = DEFAULT_START_HEIGHT
) -> Iterator[bytes]:
    """Raw serialized blocks holding ``n_txs`` transactions in all (coinbases included).

    The first block holds only the funding coinbase, the last the remainder, every other ``txs_per_block``
    transactions; see the module docstring for the shape.
    """
    if n_txs < 1 or txs_per_block < 2:
        raise ValueError("need n_txs >= 1 and txs_per_block >= 2")
    if start_height < params.BIP34_HEIGHT:
        raise ValueError(f"start_height must be >= {params.BIP34_HEIGHT} for a trusted BIP34 height")
    gen = _Generator(seed)
    prev = _sha256d(b"tracer chaingen parent %d" % seed)
    tag = b"/tracer-chaingen/%d/" % seed
    height, left = start_height, n_txs
    while left > 0:
        raw, count = _next_block(gen, height, prev, min(left, txs_per_block), tag)
        left -= count
        prev = _sha256d(raw[: params.HEADER_BYTES])
        height += 1
        yield raw


def _next_block(gen: _Generator, height: int, prev: bytes, n: int, tag: bytes) -> tuple[bytes, int]:
    """(raw block, its transaction count); at most ``n`` transactions."""
    while gen.immature and gen.immature[0][0] <= height:
        gen.pool.extend(gen.immature.popleft()[1])
    txs: list[tuple[bytes, bytes]] = []
    wtxids = [bytes(32)]  # BIP141: the coinbase's wtxid counts as zero
    fees = 0
    if not gen.funded:  # a block of its coinbase alone: nothing is spendable yet
        gen.funded, n = True, 1
        payees = [(FUNDING_OUTPUT_SAT, gen.new_key(gen.new_wallet())) for _ in range(FUNDING_OUTPUTS)]
        mature_at = height  # the funding outputs are spendable at once (a documented shortcut)
    else:
        miner = gen.miners[height % MINERS]
        payees = [(SUBSIDY_SAT, miner.keys[0])]
        mature_at = height + COINBASE_MATURITY
    while len(txs) < n - 1:
        made = gen.payment()
        if made is None:
            break
        raw, txid, fee = made
        txs.append((raw, txid))
        wtxids.append(_sha256d(raw) if raw[4] == 0 else txid)
        fees += fee
    if len(payees) == 1:
        payees = [(payees[0][0] + fees, payees[0][1])]
    cb_raw, cb_txid = _coinbase(height, [(v, k.script_pubkey) for v, k in payees], _merkle(wtxids), tag)
    made_utxos = gen.add_outputs(cb_txid, payees)  # the commitment output is not spendable
    gen.immature.append((mature_at, made_utxos))
    if mature_at <= height:
        gen.pool.extend(gen.immature.pop()[1])
    return _block(height, prev, [(cb_raw, cb_txid), *txs], gen.rng.getrandbits(32)), len(txs) + 1


def write_blk_files(
    directory: Path, blocks: Iterable[bytes], max_file_bytes: int = MAX_FILE_BYTES
) -> list[Path]:
    """Frame blocks as Bitcoin Core does (magic, LE length, block) into ``blk00000.dat``, ...; the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    out = None
    written = 0
    try:
        for raw in blocks:
            frame = params.MAINNET_MAGIC + _U32.pack(len(raw)) + raw
            if out is None or written + len(frame) > max_file_bytes:
                if out is not None:
                    out.close()
                paths.append(directory / f"blk{len(paths):05d}.dat")
                out, written = paths[-1].open("wb"), 0
            out.write(frame)
            written += len(frame)
    finally:
        if out is not None:
            out.close()
    return paths


async def index_generated(
    pool: asyncpg.Pool, directory: Path, n_txs: int, seed: int = 1, txs_per_block: int = 2000
) -> IndexReport:
    """Write a generated chain to ``directory`` as blk files and index them into the database of ``pool``."""
    from tracer.jobs.index import index_files

    paths = write_blk_files(directory, generate_blocks(n_txs, seed, txs_per_block))
    return await index_files(pool, paths, kind="raw")
