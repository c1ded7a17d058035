"""Amounts beyond 64 bits (uint256 wei and token units: 2^64 wei is only 18.4 ether) are written as exact
JSON integers in every answer, whichever way the answer was built."""

from __future__ import annotations

import json

import aiohttp
import asyncpg

from api.api_support import Keys

# The bundled Ethereum data's address with the largest amount received (token units beyond 64 bits).
_BIGGEST = """SELECT a.address, s.received FROM address_assets s JOIN addresses a ON a.id = s.address_id
              WHERE a.chain = 'ethereum' ORDER BY s.received DESC LIMIT 1"""


async def test_an_address_with_amounts_beyond_64_bits_is_answered_exactly(
    api: str, keys: Keys, loaded_pool: asyncpg.Pool
) -> None:
    address, received = await loaded_pool.fetchrow(_BIGGEST)
    assert received >= 2**64
    async with aiohttp.ClientSession(headers=keys.header("analyst")) as http:
        async with http.get(f"{api}/v1/addresses/ethereum/{address}") as resp:
            assert resp.status == 200, await resp.text()
            answer = json.loads(await resp.read())  # the standard library reads big integers exactly
        assert max(row["received"] for row in answer["activity"]["assets"]) == int(received)
        async with http.post(f"{api}/v1/screen", json={"chain": "ethereum", "address": address}) as resp:
            assert resp.status == 200, await resp.text()
            screened = json.loads(await resp.read())
            assert max(row["received"] for row in screened["activity"]["assets"]) == int(received)
