"""The database side of applying orders: shopsync_apply_order(jsonb) and the pipelined apply_orders."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from orderdata import SHOP, TODAY, WAREHOUSES, count, customer, line, order, snapshot

from shopsync.core.schema import run_script
from shopsync.core.sql import sql_path
from shopsync.orders.apply import ApplyResult, apply_orders, order_document


def document(**fields):
    return order_document(SHOP, order("F-1", [line(101, "2", "1450"), line(102, "1")], **fields), WAREHOUSES,
                          None, TODAY)


def call(engine, doc) -> dict:
    with engine.begin() as conn:
        answer = conn.execute(sa.text("SELECT CAST(shopsync_apply_order(CAST(:d AS jsonb)) AS text)"),
                              {"d": json.dumps(doc, ensure_ascii=False)}).scalar_one()
    return json.loads(answer)


def changed(doc, path, value):
    doc = copy.deepcopy(doc)
    *parents, last = path
    target = doc
    for key in parents:
        target = target[key]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return doc


DELETE = object()


def test_a_document_is_applied_in_one_call_and_answers_in_json(shop_db):
    sent = document(gift_certificates=["GC-VALID"], bonus_pay=Decimal("10.5"))
    answer = call(shop_db, sent)
    assert answer["status"] == "applied" and answer["reasons"] == []
    assert answer["reserved"] == [[101, "2.000"], [102, "1.000"]]
    assert answer["customer_action"] == "unchanged"
    assert count(shop_db, "invoice_lines") == 2 and count(shop_db, "reservations") == 2
    again = call(shop_db, sent)
    assert (again["status"], again["reasons"]) == ("skipped", [f"order F-1 is already invoice {answer['invoice_id']}"])


@pytest.mark.parametrize(("path", "value", "message"), [
    ((), None, "the order document must be a JSON object"),
    (("lines",), DELETE, '"lines" must be an array'),
    (("lines", 0, "quantity"), "abc", '"lines[1].quantity" must be a number'),
    (("lines", 0, "quantity"), "NaN", '"lines[1].quantity" must be a number'),
    (("lines", 1, "line_no"), 3, '"lines[2].line_no" must be 2'),
    (("lines", 0, "refs"), "ART-101", '"lines[1].refs" must be an array of strings'),
    (("lines", 0, "good_id"), 1.5, '"lines[1].good_id" must be an integer or null'),
    (("warehouse_ids",), ["1"], '"warehouse_ids" must be an array of integers'),
    (("today",), "01.06.2025", '"today" must be a date as "YYYY-MM-DD"'),
    (("external_number",), " F-1 ", '"external_number" must not start or end with spaces'),
    (("shop_id",), "", '"shop_id" must be a non-empty string'),
    (("invoice", "total"), DELETE, '"invoice.total" must be a number'),
    (("customer",), "Олена", '"customer" must be an object'),
    (("customer", "phones"), [{"e164": "0675746830", "raw": "067"}],
     'shopsync_upsert_customer: "customer.phones" must be an array of {"e164": "+<digits>", "raw": text}'),
    (("bonus_pay",), None, '"bonus_pay" must be a number'),
])
def test_a_malformed_document_is_refused_clearly_and_changes_nothing(shop_db, path, value, message):
    before = snapshot(shop_db)
    doc = value if path == () else changed(document(), path, value)
    with pytest.raises(sa.exc.DataError) as caught:
        call(shop_db, doc)
    assert caught.value.orig.sqlstate == "22023"                    # invalid_parameter_value
    assert message in str(caught.value.orig).splitlines()[0]
    assert snapshot(shop_db) == before


def test_applying_the_schema_function_file_again_changes_nothing(shop_db):
    with shop_db.begin() as conn:
        for version in ("005", "006"):                   # 006 redefines functions of 005
            script = next(sql_path("schema").glob(f"{version}_*.sql")).read_text(encoding="utf-8")
            run_script(conn, script)
            run_script(conn, script)
    assert call(shop_db, document())["status"] == "applied"


def test_pipelined_orders_are_each_their_own_transaction(shop_db):
    orders = [
        order("P-1", [line(101, "1")]),
        order("P-2", [line(102, "1")], currency="EURO"),        # too long for the column: the database refuses it
        order("P-3", [line(104, "9")], customer(phone="050 123 45 67")),
        order("P-1", [line(101, "1")]),                          # already there
    ]
    results = list(apply_orders(shop_db, SHOP, orders, WAREHOUSES, None, TODAY))
    assert [type(result) for result in results] == [ApplyResult, psycopg.errors.StringDataRightTruncation,
                                                    ApplyResult, ApplyResult]
    assert [result.status for result in results if isinstance(result, ApplyResult)] == ["applied", "flagged",
                                                                                          "skipped"]
    assert results[2].reasons == ["good 104 «Останні кеди»: ordered 9, only 5 free — reserved 5"]
    assert results[2].customer_action == "created"
    assert "value too long for type character(3)" in str(results[1])
    assert count(shop_db, "invoices") == 2 and count(shop_db, "reservations") == 3


def test_pipelined_orders_commit_without_waiting_for_the_disk(shop_db):
    from shopsync.orders.pipeline import pipeline_connection

    with pipeline_connection(shop_db) as conn:
        assert conn.autocommit
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
    with shop_db.connect() as conn:                              # the engine's own connections are untouched
        assert conn.execute(sa.text("SHOW synchronous_commit")).scalar() == "on"
