"""Memory settings: Arrow's allocator and the cyclic garbage collector's pause during big passes."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

JEMALLOC_DECAY_MS = 1000


def use_jemalloc_for_arrow() -> None:
    """Arrow allocates through jemalloc, returning freed pages after JEMALLOC_DECAY_MS: with pyarrow's default
    (mimalloc) a 100k-goods export kept ~150 MB more resident at its peak for the same speed. Returning them at
    once (decay 0) cost the same export 1.2 M more page faults, 2.5 s of system time; within a second the next
    batch reuses them (bench/catalog_export.py, docs/decisions.md). Called by every entry point that handles
    catalog data (task glue, CLI, worker processes, benches). ARROW_DEFAULT_MEMORY_POOL, when set, decides."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa  # here, not at the top: the orders side uses gc_paused and needs no Arrow (~60 MB)

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(JEMALLOC_DECAY_MS)
    except NotImplementedError:       # a pyarrow built without jemalloc
        pass


@contextmanager
def gc_paused(when: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector for a streaming pass (when `when`), resuming it afterwards.

    A pass allocates millions of short-lived, acyclic objects (records, items, XML elements, a big JSON
    document's orders); reference counting frees them, but they also trigger full collections that scan
    every live object: about a third of build_feeds' CPU time at 100k goods, a quarter of parsing 100k
    orders, with the same peak memory either way (bench/). Cycles made meanwhile are collected later.
    """
    was_enabled = gc.isenabled()
    if when:
        gc.disable()
    try:
        yield
    finally:
        if when and was_enabled:
            gc.enable()
