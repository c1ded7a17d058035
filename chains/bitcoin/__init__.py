"""Bitcoin: parsing, addresses, scripts, block files and the node clients.

The parser's hot modules may be compiled (mypyc); ``compiled.use_pure_if_stale`` keeps an edited source
from being shadowed by an older build.
"""

from chains.bitcoin.compiled import use_pure_if_stale

use_pure_if_stale()
