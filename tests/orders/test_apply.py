"""apply_order: one order, one transaction — invoice, lines, customer, reservations, certificates, bonus."""

from __future__ import annotations

from decimal import Decimal

import pytest
from orderdata import (
    KNOWN_PHONE,
    SHOP,
    TODAY,
    WAREHOUSES,
    active_reserved,
    count,
    customer,
    execute,
    free,
    line,
    order,
    rows,
    scalar,
    snapshot,
)

from shopsync.core.errors import ShopsyncError
from shopsync.orders.apply import apply_order


def apply(engine, the_order, shop=SHOP, warehouses=WAREHOUSES, **kwargs):
    return apply_order(engine, shop, the_order, warehouses, None, TODAY, **kwargs)


def invoice(engine, invoice_id):
    return rows(engine, "SELECT * FROM invoices WHERE id = :i", i=invoice_id)[0]


def bonus_balance(engine, phone=KNOWN_PHONE) -> Decimal:
    return scalar(engine, "SELECT bonus_balance FROM customers c JOIN customer_phones p ON p.customer_id = c.id"
                          " WHERE p.phone_e164 = :p", p=phone)


def test_order_in_stock_is_applied_and_reserved_from_the_shops_warehouses_in_order(shop_db):
    result = apply(shop_db, order("A-1", [line(101, "4", "1450"), line(102, "1", "2200")],
                                  payment_status="cod", delivery_city="Львів", comment="після 18:00"))
    assert (result.status, result.reasons) == ("applied", [])
    assert result.reserved == {101: Decimal(4), 102: Decimal(1)}
    assert result.customer_action == "unchanged"
    assert active_reserved(shop_db, result.invoice_id) == [(101, 1, 2), (101, 2, 2), (102, 1, 1)]
    row = invoice(shop_db, result.invoice_id)
    assert (row.status, row.payment_status, row.needs_attention) == ("reserved", "cod", False)
    assert (row.total, row.delivery_city, row.comment) == (Decimal("8000.00"), "Львів", "після 18:00")
    assert row.customer_id == result.customer_id
    lines = rows(shop_db, "SELECT good_id, quantity, ordered_price, db_price, reserved_qty, name FROM invoice_lines"
                          " WHERE invoice_id = :i ORDER BY line_no", i=result.invoice_id)
    assert [tuple(x) for x in lines] == [
        (101, 4, Decimal("1450.00"), Decimal("1500.00"), 4, "Черевики"),
        (102, 1, Decimal("2200.00"), Decimal("2200.00"), 1, "Кросівки"),
    ]
    assert free(shop_db, 101) == 1


def test_good_found_by_article_or_barcode_when_the_id_is_not_ours(shop_db):
    result = apply(shop_db, order("A-2", [
        line(None, good_ref="shop-sku-1", article="ART-102", price="2200"),
        line(999, good_ref="4820000000101", price="1500"),
    ]))
    assert result.status == "applied"
    assert result.reserved == {101: 1, 102: 1}


def test_same_order_twice_makes_one_invoice_and_touches_the_customer_once(shop_db):
    first = apply(shop_db, order("A-3", [line(101, "1")], customer(city="Одеса")))
    updated_at = scalar(shop_db, "SELECT updated_at FROM customers WHERE id = :i", i=first.customer_id)
    second = apply(shop_db, order("A-3", [line(101, "1")], customer(city="Одеса")))
    assert (first.status, second.status) == ("applied", "skipped")
    assert second.invoice_id == first.invoice_id
    assert second.reserved == {} and second.customer_id is None
    assert count(shop_db, "invoices") == 1
    assert count(shop_db, "reservations") == 1
    assert scalar(shop_db, "SELECT updated_at FROM customers WHERE id = :i", i=first.customer_id) == updated_at


def test_same_order_number_with_different_content_is_a_conflict_and_the_first_wins(shop_db):
    first = apply(shop_db, order("A-4", [line(101, "1", "1500")]))
    second = apply(shop_db, order("A-4", [line(102, "5", "2200")], customer(city="Харків"),
                                  gift_certificates=["GC-VALID"], bonus_pay=Decimal(50)))
    assert second.status == "conflict" and second.invoice_id == first.invoice_id
    assert active_reserved(shop_db, first.invoice_id) == [(101, 1, 1)]
    assert invoice(shop_db, first.invoice_id).total == Decimal("1500.00")
    assert scalar(shop_db, "SELECT city FROM customers WHERE id = :i", i=first.customer_id) == "Київ"
    assert scalar(shop_db, "SELECT status FROM gift_certificates WHERE barcode = 'GC-VALID'") == "active"
    assert bonus_balance(shop_db) == 100


def test_same_order_number_in_another_shop_is_another_invoice(shop_db):
    assert apply(shop_db, order("A-5", [line(102)]), shop="demo").status == "applied"
    assert apply(shop_db, order("A-5", [line(102)]), shop="rozetka").status == "applied"
    assert count(shop_db, "invoices") == 2


def test_shortage_reserves_what_there_is_and_flags_the_invoice(shop_db):
    result = apply(shop_db, order("A-6", [line(101, "7"), line(102, "2")]))
    assert result.status == "flagged"
    assert result.reasons == ["good 101 «Черевики»: ordered 7, only 5 free — reserved 5"]
    assert result.reserved == {101: 5, 102: 2}
    row = invoice(shop_db, result.invoice_id)
    assert (row.status, row.needs_attention, row.attention_reasons) == ("new", True, result.reasons)
    assert free(shop_db, 101) == 0


def test_good_only_at_a_warehouse_the_shop_does_not_sell_from_is_not_reserved(shop_db):
    result = apply(shop_db, order("A-7", [line(103, "1")]))
    assert result.reasons == ["good 103 «Туфлі»: ordered 1, none free — nothing reserved"]
    assert result.reserved == {}


def test_unknown_good_flags_the_order_and_reserves_nothing(shop_db):
    result = apply(shop_db, order("A-8", [line(102, "1"), line(None, good_ref="NO-SUCH", name="Шапка")]))
    assert result.status == "flagged"
    assert result.reserved == {} and count(shop_db, "reservations") == 0
    assert any("line 2 (NO-SUCH «Шапка»): unknown good" in reason for reason in result.reasons)
    assert "nothing reserved: the order has lines that need attention" in result.reasons
    stored = rows(shop_db, "SELECT good_id, external_ref, name FROM invoice_lines WHERE invoice_id = :i"
                           " ORDER BY line_no", i=result.invoice_id)
    assert [tuple(x) for x in stored] == [(102, "102", "Кросівки"), (None, "NO-SUCH", "Шапка")]
    assert invoice(shop_db, result.invoice_id).status == "new"


@pytest.mark.parametrize(("quantity", "reason"), [
    (None, "quantity is not a number"),
    ("0", "quantity must be a positive number, got 0"),
    ("-2", "quantity must be a positive number, got -2"),
])
def test_bad_quantity_flags_the_order_and_reserves_nothing(shop_db, quantity, reason):
    result = apply(shop_db, order("A-9", [line(101, "1"), line(102, quantity)]))
    assert result.status == "flagged"
    assert f"line 2 (102 «Кросівки»): {reason}" in result.reasons
    assert count(shop_db, "reservations") == 0
    assert invoice(shop_db, result.invoice_id).total == Decimal("1500.00")    # only the usable line


def test_problems_reported_by_the_parser_flag_the_order(shop_db):
    result = apply(shop_db, order("A-10", [line(101, "1", problems=["price «abc» is not a number"])]))
    assert result.reasons[0] == "line 1 (101 «Черевики»): price «abc» is not a number"
    assert result.reserved == {}


def test_parser_warnings_flag_the_order_but_it_is_reserved(shop_db):
    result = apply(shop_db, order("A-11", [line(101, "1")], warnings=["unknown delivery method «drone»"]))
    assert (result.status, result.reasons) == ("flagged", ["unknown delivery method «drone»"])
    assert invoice(shop_db, result.invoice_id).status == "reserved"


def test_order_without_lines_is_flagged(shop_db):
    result = apply(shop_db, order("A-12", []))
    assert result.reasons == ["the order has no lines"]


def test_valid_certificates_are_used_and_bad_ones_flag_the_order(shop_db):
    result = apply(shop_db, order("A-13", [line(101)], gift_certificates=[
        "GC-VALID", "GC-TODAY", " GC-VALID ", "GC-EXPIRED", "GC-USED", "GC-BLOCKED", "GC-NOPE",
    ]))
    assert result.status == "flagged"
    assert sorted(result.reasons) == [
        "gift certificate GC-BLOCKED is blocked",
        "gift certificate GC-EXPIRED expired on 2025-05-31",
        "gift certificate GC-NOPE does not exist",
        "gift certificate GC-USED was already used",
    ]
    used = rows(shop_db, "SELECT barcode FROM gift_certificates WHERE used_invoice_id = :i ORDER BY 1",
                i=result.invoice_id)
    assert [x.barcode for x in used] == ["GC-TODAY", "GC-VALID"]
    assert scalar(shop_db, "SELECT count(*) FROM gift_certificates WHERE status = 'used' AND used_at IS NOT NULL"
                           " AND used_invoice_id = :i", i=result.invoice_id) == 2
    assert invoice(shop_db, result.invoice_id).status == "reserved"      # goods are fine


def test_certificate_used_by_an_earlier_order_flags_the_second(shop_db):
    first = apply(shop_db, order("A-14", [line(101)], gift_certificates=["GC-VALID"]))
    second = apply(shop_db, order("A-15", [line(101)], gift_certificates=["GC-VALID"]))
    assert first.status == "applied"
    assert second.reasons == [f"gift certificate GC-VALID was already used (invoice {first.invoice_id})"]


def test_bonus_payment_is_deducted_from_the_balance(shop_db):
    result = apply(shop_db, order("A-16", [line(101)], bonus_pay=Decimal("30.50")))
    assert result.status == "applied"
    assert bonus_balance(shop_db) == Decimal("69.50")
    assert invoice(shop_db, result.invoice_id).bonus_paid == Decimal("30.50")


def test_bonus_payment_never_takes_the_balance_below_zero(shop_db):
    result = apply(shop_db, order("A-17", [line(101)], bonus_pay=Decimal(150)))
    assert result.reasons == ["bonus payment 150 but the customer had only 100 — deducted 100"]
    assert bonus_balance(shop_db) == 0
    assert invoice(shop_db, result.invoice_id).bonus_paid == 100


def test_new_customer_with_a_bonus_payment_has_nothing_to_deduct(shop_db):
    result = apply(shop_db, order("A-18", [line(101)], customer(phone="050 123 45 67"), bonus_pay=Decimal(10)))
    assert result.customer_action == "created"
    assert result.reasons == ["bonus payment 10 but the customer had only 0 — deducted 0"]


def test_customer_without_phone_or_email_lands_flagged(shop_db):
    result = apply(shop_db, order("A-19", [line(101)], customer(phone="12", email=None, full_name="Хтось")))
    assert result.status == "flagged"
    assert result.reasons == [
        "customer phone «12» is not a valid phone number",
        "customer has no phone or e-mail: a new customer record was created, check for duplicates",
    ]


def test_dry_run_changes_nothing_and_tells_what_would_happen(shop_db):
    before = snapshot(shop_db)
    result = apply(shop_db, order("A-20", [line(101, "7")], customer(phone="050 123 45 67", city="Дніпро"),
                                  gift_certificates=["GC-VALID"], bonus_pay=Decimal(5)), dry_run=True)
    assert result.dry_run and result.status == "flagged"
    assert result.reserved == {101: 5} and result.customer_action == "created"
    assert snapshot(shop_db) == before
    assert apply(shop_db, order("A-20", [line(101, "1")])).status == "applied"     # the number is still free


def test_dry_run_of_an_existing_order_says_skipped(shop_db):
    apply(shop_db, order("A-21", [line(101)]))
    before = snapshot(shop_db)
    assert apply(shop_db, order("A-21", [line(101)]), dry_run=True).status == "skipped"
    assert snapshot(shop_db) == before


def test_applied_inside_the_callers_transaction_runs_in_a_savepoint(shop_db):
    with shop_db.connect() as conn:
        conn.begin()
        first = apply_order(conn, SHOP, order("A-22", [line(101)]), WAREHOUSES, None, TODAY)
        dry = apply_order(conn, SHOP, order("A-23", [line(101)]), WAREHOUSES, None, TODAY, dry_run=True)
        assert (first.status, dry.status) == ("applied", "applied")
        conn.commit()
    assert [x.external_number for x in rows(shop_db, "SELECT external_number FROM invoices")] == ["A-22"]


def test_order_without_a_number_is_refused(shop_db):
    with pytest.raises(ShopsyncError, match="without an order number"):
        apply(shop_db, order(" ", [line(101)]))


def test_source_file_is_recorded(shop_db):
    file_id = execute(shop_db, "INSERT INTO order_files (shop_id, file_name, sha256, status)"
                               " VALUES ('demo', 'o.json', 'x', 'processing') RETURNING id").scalar_one()
    result = apply_order(shop_db, SHOP, order("A-24", [line(101)]), WAREHOUSES, file_id, TODAY)
    assert invoice(shop_db, result.invoice_id).source_file_id == file_id


def test_numbers_beyond_the_columns_flag_the_order_instead_of_failing_it(shop_db):
    result = apply(shop_db, order("A-25", [
        line(101, "1e12"), line(102, "0.0001"), line(101, "1", "1e13"), line(102, "NaN"), line(101, "1.0004", "10.005"),
    ]))
    assert result.status == "flagged"
    assert result.reasons[:4] == [
        "line 1 (101 «Черевики»): quantity 1E+12 is too large",
        "line 2 (102 «Кросівки»): quantity must be a positive number, got 0.0001",
        "line 3 (101 «Черевики»): price 1E+13 is too large",
        "line 4 (102 «Кросівки»): quantity must be a positive number, got NaN",
    ]
    stored = rows(shop_db, "SELECT quantity, ordered_price FROM invoice_lines WHERE invoice_id = :i ORDER BY line_no",
                  i=result.invoice_id)
    assert [tuple(x) for x in stored] == [
        (0, Decimal("1500.00")), (0, Decimal("2200.00")), (1, None), (0, Decimal("2200.00")), (1, Decimal("10.00")),
    ]


def test_a_total_too_large_to_store_flags_the_order(shop_db):
    execute(shop_db, "UPDATE stock SET on_hand = 100000 WHERE good_id = 102")
    result = apply(shop_db, order("A-26", [line(102, "90000", "999999999.99"), line(102, "90000", "999999999.99")]))
    assert result.reasons[0].startswith("order total 179999999998200 is too large to store")
    assert invoice(shop_db, result.invoice_id).total == 0


def test_the_waybill_that_comes_with_an_order_is_kept_on_its_invoice(shop_db):
    with_waybill = order("W-1", [line(101, "1", "1500")], tracking_number="20450012345678")
    without = order("W-2", [line(102, "1", "2200")])

    first, second = apply(shop_db, with_waybill), apply(shop_db, without)

    assert invoice(shop_db, first.invoice_id).tracking_number == "20450012345678"
    assert invoice(shop_db, second.invoice_id).tracking_number is None
