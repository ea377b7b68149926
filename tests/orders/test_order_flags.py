"""Orders that land but are flagged for a person: withdrawn or hidden goods, prices far below the accounting
price, fractional pieces, and one order for a large share of a good's free stock (held back, not reserved)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from orderdata import SHOP, TODAY, WAREHOUSES, active_reserved, execute, free, line, order, rows, scalar
from test_ingest import drop, run_inbox, shop_settings, torgsoft_order

from shopsync.core.config import OrderChecks, ShopSettings, load_shop
from shopsync.core.errors import ConfigError
from shopsync.orders import workflow
from shopsync.orders.apply import apply_order


def apply(engine, the_order, **checks):
    return apply_order(engine, SHOP, the_order, WAREHOUSES, None, TODAY,
                       checks=OrderChecks(**checks) if checks else None)


def invoice_status(engine, invoice_id) -> str:
    return scalar(engine, "SELECT status FROM invoices WHERE id = :i", i=invoice_id)


@pytest.mark.parametrize(("column", "reason"), [
    ("is_active", "line 1 (101 «Черевики»): the good is withdrawn from sale"),
    ("is_visible", "line 1 (101 «Черевики»): the good is hidden on the sites"),
])
def test_a_withdrawn_or_hidden_good_flags_the_order_which_still_reserves(shop_db, column, reason):
    execute(shop_db, f"UPDATE goods SET {column} = false WHERE id = 101")
    result = apply(shop_db, order("L-1", [line(101, "2"), line(102, "1")]))
    assert (result.status, result.reasons) == ("flagged", [reason])
    assert result.reserved == {101: 2, 102: 1}
    assert invoice_status(shop_db, result.invoice_id) == "reserved"


def test_a_price_below_half_the_accounting_price_flags_the_order_which_still_reserves(shop_db):
    low = apply(shop_db, order("L-2", [line(101, "1", "749.99")]))
    assert low.reasons == ["line 1 (101 «Черевики»): price 749.99 is below 50 % of the accounting price 1500"]
    assert low.reserved == {101: 1} and invoice_status(shop_db, low.invoice_id) == "reserved"
    assert apply(shop_db, order("L-3", [line(101, "1", "750")])).status == "applied"
    assert apply(shop_db, order("L-4", [line(102, "1", "0")])).reasons == [
        "line 1 (102 «Кросівки»): price 0 is below 50 % of the accounting price 2200"]


def test_the_price_share_is_a_setting(shop_db):
    strict = apply(shop_db, order("L-5", [line(101, "1", "1400")]), min_price_share=Decimal("0.95"))
    assert strict.reasons == ["line 1 (101 «Черевики»): price 1400 is below 95 % of the accounting price 1500"]
    assert apply(shop_db, order("L-6", [line(101, "1", "0")]), min_price_share=Decimal(0)).status == "applied"


def test_a_fractional_quantity_of_a_piece_good_flags_the_order(shop_db):
    result = apply(shop_db, order("L-7", [line(101, "1.5")]))
    assert result.reasons == [
        "line 1 (101 «Черевики»): quantity 1.5 is not a whole number of a good sold by the piece (unit «шт»)"]
    assert result.reserved == {101: Decimal("1.5")}                # it lands and reserves what was ordered
    execute(shop_db, "UPDATE goods SET unit = ' ПАР. ' WHERE id = 104")
    assert apply(shop_db, order("L-8", [line(104, "0.5")])).status == "flagged"


def test_a_fractional_quantity_of_a_good_sold_by_weight_is_fine(shop_db):
    execute(shop_db, "UPDATE goods SET unit = 'кг' WHERE id = 102")
    result = apply(shop_db, order("L-9", [line(102, "1.25")]))
    assert (result.status, result.reserved) == ("applied", {102: Decimal("1.25")})


def test_one_order_for_more_than_half_the_free_stock_is_flagged_and_holds_none_of_it(shop_db):
    assert free(shop_db, 102) == 20
    result = apply(shop_db, order("L-10", [line(102, "11"), line(101, "1")]))
    assert result.status == "flagged"
    assert result.reasons == ["good 102 «Кросівки»: ordered 11, more than 50 % of the 20 free — nothing reserved "
                              "until a person confirms the order"]
    assert result.reserved == {101: 1}                             # the other goods are reserved as usual
    assert free(shop_db, 102) == 20
    assert invoice_status(shop_db, result.invoice_id) == "new"
    with shop_db.begin() as conn:                                  # a person confirms: the top-up reserves it
        assert workflow.reserve(conn, result.invoice_id, WAREHOUSES) == {102: 11}
    assert invoice_status(shop_db, result.invoice_id) == "reserved"


def test_the_share_is_of_the_free_stock_before_the_order_and_counts_every_line_of_the_good(shop_db):
    # 8 of 20 is not more than half; after reserving, 8 would be more than half of the 12 left
    fine = apply(shop_db, order("L-11", [line(102, "8")]), share_min_quantity=Decimal(2))
    assert (fine.status, fine.reserved) == ("applied", {102: 8})
    split = apply(shop_db, order("L-12", [line(102, "4"), line(102, "3")]), share_min_quantity=Decimal(2))
    assert split.reserved == {} and "good 102 «Кросівки»: ordered 7, more than 50 % of the 12 free" in split.reasons[0]
    assert active_reserved(shop_db, split.invoice_id) == []


def test_small_orders_are_not_held_back_even_for_the_last_units(shop_db):
    result = apply(shop_db, order("L-13", [line(104, "5")]))          # all of the last 5, fewer than 10 units
    assert (result.status, result.reserved) == ("applied", {104: 5})


def test_the_share_and_its_minimum_quantity_are_settings(shop_db):
    relaxed = apply(shop_db, order("L-14", [line(102, "15")]), max_free_stock_share=Decimal("0.8"))
    assert (relaxed.status, relaxed.reserved) == ("applied", {102: 15})
    execute(shop_db, "UPDATE stock SET on_hand = 100 WHERE good_id = 102 AND warehouse_id = 1")
    assert apply(shop_db, order("L-15", [line(102, "30")]), share_min_quantity=Decimal(50)).status == "applied"


def test_the_shop_file_sets_the_checks_and_the_ingest_uses_them(shop_db, tmp_path):
    defaults = ShopSettings.model_validate(json.loads(shop_settings(tmp_path / "x").model_dump_json())).order_checks
    assert defaults == OrderChecks(min_price_share=Decimal("0.5"), max_free_stock_share=Decimal("0.5"),
                                   share_min_quantity=Decimal(10))
    cheap = torgsoft_order("L-16")
    cheap["Goods"][0]["Price"] = "10,00"
    drop(tmp_path / "inbox", "a.json", [cheap])
    assert run_inbox(shop_db, shop_settings(tmp_path / "inbox")).counts()["flagged"] == 1

    lenient = shop_settings(tmp_path / "inbox").model_copy(update={"order_checks": OrderChecks(min_price_share=0)})
    cheap["Options"]["OrderNumber"] = "L-17"
    drop(tmp_path / "inbox", "b.json", [cheap])
    assert run_inbox(shop_db, lenient).counts()["applied"] == 1
    reasons = rows(shop_db, "SELECT attention_reasons FROM invoices ORDER BY id")
    assert [r.attention_reasons for r in reasons] == [
        ["line 1 (101 «Черевики»): price 10 is below 50 % of the accounting price 1500"], []]


def test_a_bad_check_in_the_shop_file_names_the_file_and_the_key(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\nname: x\nurl: https://x.example\nfeeds: [{profile: yml}]\n"
                    "destination: {kind: local, path: out}\norders_inbox: {kind: local, path: in}\n"
                    "order_checks: {min_price_share: 2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml: order_checks\.min_price_share: "):
        load_shop(path)
