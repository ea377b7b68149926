"""The accounting schema holds its promises: versions, constraints, free stock, change capture."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from shopsync.core.schema import current_version, function_files, init_schema, migrations


def _exec(engine, sql: str, **params):
    with engine.begin() as conn:
        return conn.execute(sa.text(sql), params)


def _base_goods(engine) -> None:
    _exec(engine, "INSERT INTO categories (id, name) VALUES (1, 'Взуття')")
    _exec(engine, "INSERT INTO warehouses (id, code, name) VALUES (1, 'MAIN', 'Основний'), (2, 'SHOP', 'Магазин')")
    _exec(engine, "INSERT INTO goods (id, name, category_id) VALUES (10, 'Балетки', 1), (11, 'Кеди', 1)")
    _exec(engine, "INSERT INTO stock (good_id, warehouse_id, on_hand) VALUES (10, 1, 5), (10, 2, 1), (11, 1, 0)")


def _invoice(engine, shop: str, number: str) -> int:
    return _exec(
        engine, "INSERT INTO invoices (shop_id, external_number) VALUES (:s, :n) RETURNING id", s=shop, n=number
    ).scalar_one()


def _reserve(engine, invoice_id: int, good_id: int, warehouse_id: int, qty: int, status: str = "active") -> None:
    with engine.begin() as conn:
        line_no = conn.execute(sa.text(
            "SELECT coalesce(max(line_no), 0) + 1 FROM invoice_lines WHERE invoice_id = :i"), {"i": invoice_id}
        ).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO invoice_lines (invoice_id, line_no, good_id, quantity) VALUES (:i, :l, :g, :q)"),
            {"i": invoice_id, "l": line_no, "g": good_id, "q": qty})
        conn.execute(sa.text(
            "INSERT INTO reservations (invoice_id, line_no, good_id, warehouse_id, quantity, status)"
            " VALUES (:i, :l, :g, :w, :q, :s)"),
            {"i": invoice_id, "l": line_no, "g": good_id, "w": warehouse_id, "q": qty, "s": status})


def test_init_schema_is_idempotent_and_versioned(engine):
    assert init_schema(engine) == []
    assert current_version(engine) == max(m.version for m in migrations())


FUNCTION_DEFINITIONS = """
    SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.prokind = 'f' ORDER BY p.proname"""


def _functions(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(FUNCTION_DEFINITIONS)).all())


def test_every_database_function_has_its_file(engine):
    """include/sql/functions/ is the source of every function (applied after the migrations): no function is
    left that only an old migration made, and every file names the function it creates."""
    assert sorted(path.stem for path in function_files()) == sorted(_functions(engine))


def test_db_init_applies_the_function_files_after_the_migrations(engine):
    _exec(engine, "DROP FUNCTION shopsync_is_patronymic(text) CASCADE")

    assert init_schema(engine) == []   # no migration ran, yet the function is back
    assert "shopsync_is_patronymic" in _functions(engine)


def test_stock_cannot_go_negative(engine):
    _base_goods(engine)
    with pytest.raises(IntegrityError, match="on_hand"):
        _exec(engine, "UPDATE stock SET on_hand = -1 WHERE good_id = 10 AND warehouse_id = 1")


def test_one_invoice_per_external_order_and_shop(engine):
    _invoice(engine, "demo", "A-1")
    _invoice(engine, "other", "A-1")
    with pytest.raises(IntegrityError, match="invoices_one_per_external_order"):
        _invoice(engine, "demo", "A-1")


def test_free_stock_is_on_hand_minus_active_reservations(engine):
    _base_goods(engine)
    invoice = _invoice(engine, "demo", "1")
    _reserve(engine, invoice, 10, 1, 2)
    _reserve(engine, invoice, 10, 1, 1, status="released")
    rows = _exec(engine, "SELECT warehouse_id, on_hand, reserved, free FROM free_stock WHERE good_id = 10"
                 " ORDER BY warehouse_id").all()
    assert [(r.warehouse_id, int(r.on_hand), int(r.reserved), int(r.free)) for r in rows] == [
        (1, 5, 2, 3), (2, 1, 0, 1)
    ]


def test_reservations_cannot_exceed_stock(engine):
    _base_goods(engine)
    invoice = _invoice(engine, "demo", "1")
    _reserve(engine, invoice, 10, 2, 1)
    with pytest.raises(DBAPIError, match="free stock of good 10 at warehouse 2 would be -1"):
        _reserve(engine, invoice, 10, 2, 1)
    with pytest.raises(DBAPIError, match="would be"):
        _exec(engine, "UPDATE stock SET on_hand = 0 WHERE good_id = 10 AND warehouse_id = 2")


def test_updated_at_is_maintained_by_the_database(engine):
    _base_goods(engine)
    before = _exec(engine, "SELECT updated_at FROM goods WHERE id = 10").scalar_one()
    _exec(engine, "UPDATE goods SET name = 'Балетки шкіряні' WHERE id = 10")
    after = _exec(engine, "SELECT updated_at FROM goods WHERE id = 10").scalar_one()
    assert after > before


def test_change_log_records_changes_deletions_and_deactivations(engine):
    _base_goods(engine)
    _exec(engine, "DELETE FROM change_log")
    _exec(engine, "UPDATE stock SET on_hand = 7 WHERE good_id = 10 AND warehouse_id = 1")
    _exec(engine, "UPDATE goods SET is_active = false WHERE id = 11")
    customer_id = _exec(engine, "INSERT INTO customers (full_name) VALUES ('Олена Петренко') RETURNING id").scalar()
    _exec(engine, "DELETE FROM stock WHERE good_id = 11")
    _exec(engine, "DELETE FROM goods WHERE id = 11")
    rows = _exec(engine, "SELECT entity, entity_id, op FROM change_log ORDER BY id").all()
    assert ("good", 10, "U") in rows
    assert ("good", 11, "U") in rows
    assert ("good", 11, "D") in rows
    assert ("customer", customer_id, "I") in rows


def test_reservation_changes_mark_the_good_changed(engine):
    _base_goods(engine)
    invoice = _invoice(engine, "demo", "1")
    _exec(engine, "DELETE FROM change_log")
    _reserve(engine, invoice, 10, 1, 1)
    assert _exec(engine, "SELECT entity_id FROM change_log WHERE entity = 'good'").scalars().all() == [10]


def test_prices_and_certificates_have_checks(engine):
    _base_goods(engine)
    with pytest.raises(IntegrityError):
        _exec(engine, "INSERT INTO prices (good_id, price_type_id, price) VALUES (10, 1, -5)")
    with pytest.raises(IntegrityError):
        _exec(engine, "INSERT INTO gift_certificates (barcode, nominal, status) VALUES ('1', 100, 'lost')")
    with pytest.raises(IntegrityError):
        _exec(engine, "INSERT INTO customers (full_name, bonus_balance) VALUES ('X', -1)")
