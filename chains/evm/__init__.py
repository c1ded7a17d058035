"""EVM chains (Ethereum, TRON's JSON-RPC): addresses, the JSON-RPC node client and the block parser.

The parser's hot modules may be compiled (mypyc); ``compiled.use_pure_if_stale`` keeps an edited source
from being shadowed by an older build.
"""

from chains.evm.compiled import use_pure_if_stale

use_pure_if_stale()
