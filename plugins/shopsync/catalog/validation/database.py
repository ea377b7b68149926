"""Validation against the database: do the feeds say what the accounting database says now?

Great Expectations (results.py) checks each feed against the snapshot it was written from; a snapshot that
went wrong (a change the change log never saw, a reseed, a setting applied to half the goods) passes that
check with flying colours. This one re-reads a little of the database at validate time, in one consistent
read:

- counts: the goods the database has, and those it says a shop should show (active and visible), against
  the goods the feeds were written from (offered, hidden or rejected);
- a sample of goods (Tuning.database_sample, or SHOPSYNC_VALIDATE_DB_SAMPLE) drawn from the feeds' goods
  (seeded by the run key, so a re-run draws the same): each one's visibility, free stock over the shop's
  warehouses, and price, against what the feeds and their read-back offers say (TSGoods: the pre-promo
  price, stock 0 when hidden; YML: the price, no offer when hidden).

A good may legitimately change between the extract and this check. A mismatching good whose change_log
entry is newer than the extract (less the extract overlap) is excused, not blocking; the counts may differ
by at most the number of goods changed since. What is left blocks the publish (FeedValidationError), is
written to the validation report, and makes the next run of the shop a full rebuild.

Cost: two index lookups per sampled good and one pass over `goods` for the counts (a few milliseconds per
100k goods); nothing else of the catalog is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from shopsync.catalog import extract
from shopsync.core.sql import sql_statement

MAX_REPORTED = 20
FAR_FUTURE = datetime(9999, 1, 1).astimezone()
TORGSOFT = "torgsoft_csv"


def sample_size(tuned: int) -> int:
    """How many goods to re-read: SHOPSYNC_VALIDATE_DB_SAMPLE when set (the operator's word), else `tuned`."""
    return int(os.environ.get("SHOPSYNC_VALIDATE_DB_SAMPLE", str(tuned)))


@dataclass
class DatabaseComparison:
    sampled: int
    counts: dict[str, dict[str, int]]              # what -> {"feeds": n, "database": m}
    count_tolerance: int                           # goods changed since the extract
    mismatches: dict[int, list[str]] = field(default_factory=dict)   # good id -> what differs (blocking)
    excused: dict[int, list[str]] = field(default_factory=dict)      # changed since the extract
    count_problems: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.mismatches and not self.count_problems

    def problems(self) -> list[str]:
        lines = list(self.count_problems)
        for good_id, differences in sorted(self.mismatches.items())[:MAX_REPORTED]:
            lines.append(f"good {good_id}: " + "; ".join(differences))
        if len(self.mismatches) > MAX_REPORTED:
            lines.append(f"... and {len(self.mismatches) - MAX_REPORTED} more goods")
        return lines

    def summary(self) -> str:
        head = (f"feeds against the database: {len(self.mismatches)} of {self.sampled} sampled goods differ"
                f"{' (and counts)' if self.count_problems else ''}" if not self.success
                else f"feeds against the database: {self.sampled} sampled goods and the counts agree")
        excused = f"; {len(self.excused)} differing goods changed since the extract (not blocking)" \
            if self.excused else ""
        return head + excused

    def as_json(self) -> dict[str, Any]:
        return {"success": self.success, "sampled": self.sampled, "counts": self.counts,
                "count_tolerance": self.count_tolerance, "problems": self.problems(),
                "excused": {str(k): v for k, v in self.excused.items()}}

    def markdown(self) -> str:
        lines = ["", "## Feeds against the database", "", self.summary(), ""]
        lines += ["| | feeds | database |", "|---|---:|---:|"]
        lines += [f"| {what} | {figures['feeds']:,} | {figures['database']:,} |"
                  for what, figures in self.counts.items()]
        if not self.success:
            lines += ["", *(f"- {problem}" for problem in self.problems())]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FeedOffers:
    """A read-back feed's offers (offers/<file>.parquet): its profile and the file."""
    file: str
    profile: str
    path: Path


def draw_sample(good_ids: np.ndarray, size: int, seed: str) -> list[int]:
    if len(good_ids) <= size:
        return sorted(int(i) for i in good_ids)
    rng = np.random.default_rng(list(seed.encode()))
    return sorted(int(i) for i in rng.choice(good_ids, size=size, replace=False))


def compare(conn: sa.Connection, *, currency: str, warehouse_ids: list[int], since: datetime,
            expected: pa.Table, feed_counts: dict[str, int], feeds: list[FeedOffers], seed: str,
            size: int) -> DatabaseComparison:
    """Compare the run's feeds with the database (see the module docstring). `expected`: good_id, free_stock,
    visible of every good the feeds offer; `feed_counts`: {"goods": .., "visible": ..} of the snapshot."""
    sample = draw_sample(expected.column("good_id").to_numpy(), size, seed)
    rows = conn.execute(sql_statement("extract/goods_sample.sql"), {
        "good_ids": sample, "currency": currency, "warehouse_ids": [int(w) for w in warehouse_ids]}).all()
    database = {row.good_id: row for row in rows}
    in_feeds = _expected_rows(expected, sample)
    offers = {feed.file: (feed.profile, _offers_of(feed.path, sample)) for feed in feeds}
    differing: dict[int, list[str]] = {}
    for good_id in sample:
        differences = _differences(in_feeds[good_id], database.get(good_id), offers)
        if differences:
            differing[good_id] = differences
    changed = set(extract.changed_ids(conn, "good", since, FAR_FUTURE))
    counts_row = conn.execute(sql_statement("extract/goods_counts.sql")).one()
    counts = {"goods": {"feeds": int(feed_counts["goods"]), "database": int(counts_row.goods)},
              "visible goods": {"feeds": int(feed_counts["visible"]), "database": int(counts_row.visible)}}
    result = DatabaseComparison(sampled=len(sample), counts=counts, count_tolerance=len(changed))
    for good_id, differences in differing.items():
        (result.excused if good_id in changed else result.mismatches)[good_id] = differences
    for what, figures in counts.items():
        if abs(figures["feeds"] - figures["database"]) > len(changed):
            result.count_problems.append(
                f"{what}: {figures['feeds']:,} in the feeds, {figures['database']:,} in the database "
                f"({len(changed):,} goods changed since the extract)")
    return result


def _expected_rows(expected: pa.Table, sample: list[int]) -> dict[int, dict]:
    import pyarrow.compute as pc

    rows = expected.filter(pc.is_in(expected.column("good_id"), pa.array(sample, pa.int64())))
    return {row["good_id"]: row for row in rows.to_pylist()}


def _offers_of(path: Path, sample: list[int]) -> dict[str, dict]:
    if not sample:                  # an empty catalog: Arrow cannot filter on an empty (untyped) list
        return {}
    table = pq.read_table(path, columns=["offer_id", "price", "stock"],
                          filters=[("offer_id", "in", [str(i) for i in sample])])
    return {row["offer_id"]: row for row in table.to_pylist()}


def _differences(in_feeds: dict, db: Any, offers: dict[str, tuple[str, dict[str, dict]]]) -> list[str]:
    if db is None:
        return ["in the feeds, not in the database"]
    found = []
    if bool(in_feeds["visible"]) != bool(db.visible):
        found.append(f"{'shown' if in_feeds['visible'] else 'hidden'} in the feeds, "
                     f"{'visible' if db.visible else 'hidden or inactive'} in the database")
    if int(in_feeds["free_stock"]) != int(db.free_stock):
        found.append(f"stock {in_feeds['free_stock']} in the feeds, {db.free_stock} in the database")
    for file, (profile, by_id) in sorted(offers.items()):
        found += _offer_differences(file, profile, by_id.get(str(in_feeds["good_id"])), db)
    return found


def _offer_differences(file: str, profile: str, offer: dict | None, db: Any) -> list[str]:
    shown = profile == TORGSOFT or db.visible       # TSGoods lists hidden goods (Display 0, no stock)
    if offer is None:
        return [f"{file}: no offer, the database shows it"] if shown else []
    if not shown:
        return [f"{file}: offered, hidden or inactive in the database"]
    found = []
    price = _feed_price(profile, db)
    if price is not None and (offer["price"] is None or abs(Decimal(str(offer["price"])) - price) >= Decimal("0.005")):
        found.append(f"{file}: price {offer['price']}, {price} in the database")
    stock = db.free_stock if db.visible else 0
    if offer["stock"] is not None and int(offer["stock"]) != int(stock):
        found.append(f"{file}: stock {int(offer['stock'])}, {stock} in the database")
    return found


def _feed_price(profile: str, db: Any) -> Decimal | None:
    """The price a feed shows for the good: TSGoods' RetailPrice is the pre-promo price during a promo."""
    if profile == TORGSOFT and db.old_price is not None and db.price is not None and db.old_price > db.price:
        return Decimal(db.old_price)
    return None if db.price is None else Decimal(db.price)
