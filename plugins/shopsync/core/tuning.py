"""One frozen value for the knobs that trade speed against memory: batch sizes, windows, worker counts.

Entry points (Airflow tasks, the CLI, benches) and tests build a `Tuning` and pass it in; no module keeps
its own copy, and nothing changes a module constant to tune a run. The defaults are what the benchmarks
under `bench/` chose on the 2-core machine (docs/benchmarks.md). Limits that protect correctness (file
sizes, field lengths) are not tuning: they stay beside the rule they enforce.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Tuning:
    # catalog: reading the accounting database and writing the snapshot
    fetch_rows: int = 5_000                 # rows per round trip of a server-side cursor (customers, certificates)
    extract_goods_chunk: int = 10_000       # goods per chunk of the goods extract (memory: about two chunks of rows)
    snapshot_write_rows: int = 10_000       # records per batch when writing dicts to a snapshot file
    snapshot_file_rows: int = 2_500         # rows per record batch in a snapshot file (what a reader holds at once)
    # catalog: rendering feeds
    feed_source_rows: int = 10_000          # goods per batch read from the snapshot for the feed writers
    render_batch: int = 2_500               # goods per batch of the per-good render pass
    read_back_rows: int = 1_000             # rendered fragments parsed back at a time
    render_in_flight: int = 2               # batches rendered ahead of the read-back
    read_back_workers: int = 1              # two were no faster on two cores (the main process renders)
    parallel_read_back_from_goods: int = 10_000  # smaller catalogs are read back in the rendering process
    yml_item_batch: int = 256               # offers per lxml serialisation call
    # catalog: validation and photos
    validate_chunk_offers: int = 100_000    # offers per Great Expectations run of a read-back feed
    database_sample: int = 200              # offers re-read from the database to compare with the feeds
    photo_batch: int = 16                   # photos per worker task
    stale_reruns: int = 2                   # fresh restarts of an export whose data was overtaken
    # orders
    orders_in_flight: int = 64              # orders sent to the database ahead of their answers
    settle_check_seconds: float = 0.5       # the second look at an inbox file before it counts as settled
    max_settle_wait_seconds: float = 30.0   # a settle window up to this long is waited out within one run
    order_file_attempts: int = 3            # runs an order file may fail for environment reasons before quarantine
    # channels
    stock_push_batch: int = 100             # goods per stock and price push call (WooCommerce takes at most 100)

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            least = 0 if field.name in _MAY_BE_ZERO else 1
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < least:
                raise ValueError(f"tuning {field.name} = {value!r}: expected a number of at least {least}")

    def but(self, **changes: int | float) -> Tuning:
        """A copy with some knobs changed (tests and benches: `DEFAULT_TUNING.but(render_batch=40)`)."""
        return replace(self, **changes)


_MAY_BE_ZERO = frozenset({"parallel_read_back_from_goods", "settle_check_seconds", "max_settle_wait_seconds",
                          "stale_reruns"})

DEFAULT_TUNING = Tuning()
