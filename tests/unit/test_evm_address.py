"""EIP-55 checksums (chains.evm.address) agree with eth_utils' reference implementation."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from chains.evm.address import checksum, normalize_address


@given(st.binary(min_size=20, max_size=20))
def test_checksum_is_eip55(raw: bytes) -> None:
    assert checksum(raw.hex()) == to_checksum_address("0x" + raw.hex())


def test_the_eip55_examples() -> None:
    # https://eips.ethereum.org/EIPS/eip-55 (test cases)
    for address in (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ):
        assert normalize_address(address.lower()) == address
