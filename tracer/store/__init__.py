"""The PostgreSQL store, one module per table family.

The Bitcoin writer's row building may be compiled (mypyc); ``compiled.use_pure_if_stale`` keeps an edited
source from being shadowed by an older build.
"""

from tracer.store.compiled import use_pure_if_stale

use_pure_if_stale()
