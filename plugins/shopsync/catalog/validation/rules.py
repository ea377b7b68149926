"""Item rules: what makes a good unpublishable, checked before the feeds are written.

ITEM_RULES is the one table of them. Each rule names the good's column, words a breach for one good, and
marks column-wise the rows that may break it; `split_batch` finds candidates with the column-wise tests and
`item_problems` (the wording) has the last word for each candidate alone, so a clean batch costs no Python
per good. Bad goods are left out of every feed and listed with their reasons; with on_bad_item="fail" they
fail the export instead. Which goods are left out, and why, is kept in the catalog pass's per-good cache, so
this module is part of its fingerprint (render/cache.RENDERING_MODULES).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.core.errors import PermanentError

if TYPE_CHECKING:
    import pyarrow as pa

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")     # 0-31 except tab, LF, CR
CONTROL_CHARACTERS_REGEX = CONTROL_CHARACTERS.pattern                 # the same, for GX (re syntax)

OnBadItem = Literal["skip", "fail"]


class FeedValidationError(PermanentError):
    """Goods or a written feed broke the rules and the shop is set to fail rather than skip."""


@dataclass(frozen=True)
class ItemRule:
    column: str                                              # CatalogItem attribute and FEED_SCHEMA column
    problem: Callable[[Any, FeedContext], str | None]        # the breach in words for one value; None: fine
    suspects: Callable[[pa.Array, FeedContext], list[pa.Array]]   # rows that may break it (a superset)


def _price_problem(price: Decimal | None, ctx: FeedContext) -> str | None:
    # An old price that is not above the price is not a problem: the writers simply omit it.
    if price is None:
        return "price is missing"
    if isinstance(price, Decimal) and not price.is_finite():
        return f"price is not a number: {price}"
    if price == 0:
        return "price is 0"
    if price < 0:
        return f"price is negative: {price}"
    return None


def _price_suspects(price: pa.Array, ctx: FeedContext) -> list[pa.Array]:
    import pyarrow as pa
    import pyarrow.compute as pc

    return [pc.is_null(price), pc.less_equal(price, pa.scalar(0, price.type))]


def _name_problem(name: str | None, ctx: FeedContext) -> str | None:
    if name is None or not name.strip():
        return "name is empty"
    if match := CONTROL_CHARACTERS.search(name):
        return f"name contains control character: {ord(match.group()):#04x}"
    return None


def _name_suspects(name: pa.Array, ctx: FeedContext) -> list[pa.Array]:
    import pyarrow.compute as pc

    return [pc.is_null(name), pc.equal(pc.utf8_trim_whitespace(name), ""), pc.invert(pc.utf8_is_printable(name))]


def _category_problem(category_id: int | None, ctx: FeedContext) -> str | None:
    if category_id is None:
        return "category is missing"
    if category_id not in ctx.categories:
        return f"category is unknown: {category_id}"
    return None


def _category_suspects(category: pa.Array, ctx: FeedContext) -> list[pa.Array]:
    import pyarrow as pa
    import pyarrow.compute as pc

    known = pa.array(sorted(ctx.categories), pa.int64())
    return [pc.is_null(category), pc.invert(pc.is_in(category, known))]


def _stock_problem(free_stock: object, ctx: FeedContext) -> str | None:
    if isinstance(free_stock, bool) or not isinstance(free_stock, int):
        return f"free stock is not a whole number: {free_stock!r}"
    if free_stock < 0:
        return f"free stock is negative: {free_stock}"
    return None


def _stock_suspects(free_stock: pa.Array, ctx: FeedContext) -> list[pa.Array]:
    import pyarrow.compute as pc

    return [pc.less(free_stock, 0)]


ITEM_RULES = (
    ItemRule("price", _price_problem, _price_suspects),
    ItemRule("name", _name_problem, _name_suspects),
    ItemRule("category_id", _category_problem, _category_suspects),
    ItemRule("free_stock", _stock_problem, _stock_suspects),
)


def item_problems(item: CatalogItem, ctx: FeedContext, rules: tuple[ItemRule, ...] = ITEM_RULES) -> list[str]:
    """What makes this good unpublishable; empty when it is fine."""
    found = (rule.problem(getattr(item, rule.column), ctx) for rule in rules)
    return [problem for problem in found if problem is not None]


@dataclass(frozen=True, slots=True)
class RejectedItem:
    good_id: int
    name: str
    reasons: tuple[str, ...]


@dataclass
class Rejections:
    """Goods left out of the feeds, with why."""
    items: list[RejectedItem] = field(default_factory=list)

    def add(self, item: CatalogItem, reasons: list[str]) -> None:
        self.items.append(RejectedItem(item.good_id, item.name or "", tuple(reasons)))

    def by_reason(self) -> dict[str, int]:
        """Goods per kind of reason ("category is unknown: 5" counts as "category is unknown")."""
        kinds = Counter(reason.split(":", 1)[0] for item in self.items for reason in item.reasons)
        return dict(kinds.most_common())

    def summary(self) -> str:
        if not self.items:
            return "no goods excluded"
        kinds = ", ".join(f"{reason} {count}" for reason, count in self.by_reason().items())
        return f"{len(self.items)} goods excluded ({kinds})"

    def __len__(self) -> int:
        return len(self.items)


def split_batch(batch: pa.RecordBatch, ctx: FeedContext, rejections: Rejections,
                rules: tuple[ItemRule, ...] = ITEM_RULES) -> pa.RecordBatch:
    """The batch without its bad goods (columns.FEED_SCHEMA); the bad ones are recorded in `rejections`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    candidates = problem_candidates(batch, ctx, rules)
    if not pc.any(candidates).as_py():
        return batch
    from shopsync.catalog.columns import items_from_batch

    rows = pc.indices_nonzero(candidates)
    bad_ids = []
    for item in items_from_batch(batch.take(rows)):
        problems = item_problems(item, ctx, rules)
        if problems:
            rejections.add(item, problems)
            bad_ids.append(item.good_id)
    if not bad_ids:
        return batch
    return batch.filter(pc.invert(pc.is_in(batch.column("good_id"), pa.array(bad_ids, pa.int64()))))


def problem_candidates(batch: pa.RecordBatch, ctx: FeedContext,
                       rules: tuple[ItemRule, ...] = ITEM_RULES) -> pa.Array:
    """Rows that may break a rule (a superset: item_problems has the last word); a null test counts."""
    import pyarrow.compute as pc

    checks = [check for rule in rules for check in rule.suspects(batch.column(rule.column), ctx)]
    candidates = checks[0]
    for check in checks[1:]:
        candidates = pc.or_kleene(candidates, check)
    return pc.fill_null(candidates, True)


def raise_on_rejections(rejections: Rejections, since: int, on_bad_item: OnBadItem) -> None:
    """With on_bad_item="fail", goods rejected since `since` fail the export (all of them listed once)."""
    new = rejections.items[since:]
    if on_bad_item == "fail" and new:
        raise FeedValidationError(_bad_items_message(new))


def _bad_items_message(bad: list[RejectedItem], shown: int = 5) -> str:
    listed = "; ".join(f"good {r.good_id} {r.name!r}: {', '.join(r.reasons)}" for r in bad[:shown])
    more = f" (and {len(bad) - shown} more)" if len(bad) > shown else ""
    return f"{len(bad)} goods failed the item checks and the shop is set to on_bad_item=fail: {listed}{more}"
