"""Item rules: each rule's wording, and the column-wise filter rejecting exactly what the wording rejects."""

from __future__ import annotations

from decimal import Decimal

import pytest
from validation_feeds import item

from shopsync.catalog.columns import batch_from_items
from shopsync.catalog.model import CatalogItem, FeedContext
from shopsync.catalog.validation.rules import (
    ITEM_RULES,
    FeedValidationError,
    ItemRule,
    Rejections,
    item_problems,
    raise_on_rejections,
    split_batch,
)


def test_good_item_has_no_problems(ctx: FeedContext) -> None:
    assert item_problems(item(), ctx) == []


@pytest.mark.parametrize(("changes", "problem"), [
    ({"price": None}, "price is missing"),
    ({"price": Decimal("0")}, "price is 0"),
    ({"price": Decimal("-5")}, "price is negative: -5"),
    ({"price": Decimal("NaN")}, "price is not a number: NaN"),
    ({"name": ""}, "name is empty"),
    ({"name": "   "}, "name is empty"),
    ({"name": "Чоботи\x07"}, "name contains control character: 0x07"),
    ({"category_id": None}, "category is missing"),
    ({"category_id": 99}, "category is unknown: 99"),
    ({"free_stock": -1}, "free stock is negative: -1"),
    ({"free_stock": Decimal("1.5")}, "free stock is not a whole number: Decimal('1.5')"),
    ({"free_stock": True}, "free stock is not a whole number: True"),
])
def test_item_problems(ctx: FeedContext, changes: dict, problem: str) -> None:
    assert item_problems(item(**changes), ctx) == [problem]


def test_tab_and_line_breaks_in_names_are_allowed(ctx: FeedContext) -> None:
    assert item_problems(item(name="Чоботи\tзимові\r\nнові"), ctx) == []


def test_old_price_not_above_price_is_not_a_problem(ctx: FeedContext) -> None:
    assert item_problems(item(old_price=Decimal("100")), ctx) == []


def test_several_problems_are_all_listed(ctx: FeedContext) -> None:
    assert item_problems(item(price=Decimal(0), name="", category_id=None), ctx) == [
        "price is 0", "name is empty", "category is missing"]


def kept_ids(items: list[CatalogItem], ctx: FeedContext, rejections: Rejections) -> list[int]:
    return split_batch(batch_from_items(items), ctx, rejections).column("good_id").to_pylist()


def test_split_batch_keeps_good_goods_and_records_bad(ctx: FeedContext) -> None:
    items = [item(good_id=1), item(good_id=2, price=Decimal(0)), item(good_id=3),
             item(good_id=4, category_id=99), item(good_id=5, category_id=98)]
    rejections = Rejections()

    kept = kept_ids(items, ctx, rejections)

    assert kept == [1, 3]
    assert [(r.good_id, r.reasons) for r in rejections.items] == [
        (2, ("price is 0",)), (4, ("category is unknown: 99",)), (5, ("category is unknown: 98",))]
    assert rejections.by_reason() == {"category is unknown": 2, "price is 0": 1}
    assert rejections.summary() == "3 goods excluded (category is unknown 2, price is 0 1)"


@pytest.mark.parametrize("name", ["", "   ", "\u00a0\u2003", "Чоботи\x07", "Чоботи\x1f зимові"])
def test_split_batch_rejects_every_name_item_problems_rejects(ctx: FeedContext, name: str) -> None:
    rejections = Rejections()
    assert kept_ids([item(name=name)], ctx, rejections) == []
    assert rejections.items[0].reasons == tuple(item_problems(item(name=name), ctx))


def test_split_batch_keeps_names_with_tabs_and_line_breaks(ctx: FeedContext) -> None:
    assert kept_ids([item(name="Чоботи\tзимові\r\nнові")], ctx, Rejections()) == [1]


def test_fail_policy_lists_all_bad_goods_then_raises(ctx: FeedContext) -> None:
    items = [item(good_id=1), item(good_id=2, price=Decimal(0)), item(good_id=3, name="")]
    rejections = Rejections()

    assert kept_ids(items, ctx, rejections) == [1]
    with pytest.raises(FeedValidationError, match=r"2 goods failed .*on_bad_item=fail.*good 2 .*price is 0"):
        raise_on_rejections(rejections, 0, "fail")
    assert [r.good_id for r in rejections.items] == [2, 3]
    raise_on_rejections(rejections, 0, "skip")          # skip: listed, not raised


def test_fail_policy_with_only_good_goods_passes(ctx: FeedContext) -> None:
    rejections = Rejections()
    assert kept_ids([item(), item(good_id=2)], ctx, rejections) == [1, 2]
    raise_on_rejections(rejections, 0, "fail")


@pytest.mark.parametrize("changes", [
    {"price": None}, {"price": Decimal("0")}, {"price": Decimal("-5.00")}, {"name": ""}, {"category_id": None},
    {"category_id": 99}, {"free_stock": -1}, {"price": Decimal("0"), "name": "", "category_id": None},
])
def test_split_batch_rejects_each_rule_with_the_wording_of_item_problems(ctx: FeedContext, changes: dict) -> None:
    rejections = Rejections()
    assert kept_ids([item(good_id=2, **changes)], ctx, rejections) == []
    assert rejections.items[0].reasons == tuple(item_problems(item(**changes), ctx))


def test_one_rule_table_drives_the_column_filter_and_the_wording(ctx: FeedContext) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    def too_much(stock: object, ctx: FeedContext) -> str | None:
        return f"free stock is above 100: {stock}" if isinstance(stock, int) and stock > 100 else None

    def too_much_suspects(stock: pa.Array, ctx: FeedContext) -> list[pa.Array]:
        return [pc.greater(stock, 100)]

    rules = (*ITEM_RULES, ItemRule("free_stock", too_much, too_much_suspects))
    items = [item(good_id=1), item(good_id=2, free_stock=500)]
    rejections = Rejections()

    kept = split_batch(batch_from_items(items), ctx, rejections, rules).column("good_id").to_pylist()

    assert kept == [1]
    assert [(r.good_id, r.reasons) for r in rejections.items] == [(2, ("free stock is above 100: 500",))]
    assert item_problems(items[1], ctx, rules) == ["free stock is above 100: 500"]
    assert kept_ids(items, ctx, Rejections()) == [1, 2]          # the default table has no such rule
