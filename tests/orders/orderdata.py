"""Small accounting data for the order tests (plain INSERTs) and helpers to build and inspect orders."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.orders.model import Order, OrderCustomer, OrderLine

TODAY = date(2025, 6, 1)
SHOP = "demo"
WAREHOUSES = [1, 2]                  # the shop's warehouses; warehouse 3 belongs to nobody here
KNOWN_PHONE = "+380675746830"
KNOWN_EMAIL = "olena@example.com"

# good id -> (name, article, barcode, retail price, {warehouse: on hand})
GOODS = {
    101: ("Черевики", "ART-101", "4820000000101", "1500.00", {1: 2, 2: 3, 3: 10}),
    102: ("Кросівки", "ART-102", "4820000000102", "2200.00", {1: 10, 2: 10}),
    103: ("Туфлі", "ART-103", "4820000000103", "900.00", {3: 4}),
    104: ("Останні кеди", "ART-104", "4820000000104", "700.00", {1: 3, 2: 2, 3: 0}),
}


def execute(engine: Engine, sql: str, **params) -> sa.CursorResult:
    with engine.begin() as conn:
        return conn.execute(sa.text(sql), params)


def scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def load_shop_data(engine: Engine) -> None:
    """Category, goods 101-104, warehouses 1-3, stock, retail prices, a known customer, certificates."""
    with engine.begin() as conn:
        run = conn.execute
        run(sa.text("INSERT INTO categories (id, name) VALUES (1, 'Взуття')"))
        run(sa.text("INSERT INTO warehouses (id, code, name) VALUES"
                    " (1, 'MAIN', 'Основний'), (2, 'SHOP', 'Магазин'), (3, 'FAR', 'Віддалений')"))
        for good_id, (name, article, barcode, price, stock) in GOODS.items():
            run(sa.text("INSERT INTO goods (id, name, article, barcode, category_id) VALUES (:id, :n, :a, :b, 1)"),
                {"id": good_id, "n": name, "a": article, "b": barcode})
            run(sa.text("INSERT INTO prices (good_id, price_type_id, currency, price) VALUES (:g, 1, 'UAH', :p)"),
                {"g": good_id, "p": Decimal(price)})
            for warehouse_id, on_hand in stock.items():
                run(sa.text("INSERT INTO stock (good_id, warehouse_id, on_hand) VALUES (:g, :w, :q)"),
                    {"g": good_id, "w": warehouse_id, "q": on_hand})
        customer_id = run(sa.text(
            "INSERT INTO customers (full_name, email, city, np_branch, address, bonus_balance)"
            " VALUES ('Олена Петренко', :e, 'Київ', 'Відділення 12', 'вул. Хрещатик, 1', 100) RETURNING id"),
            {"e": KNOWN_EMAIL}).scalar_one()
        run(sa.text("INSERT INTO customer_phones (customer_id, phone_raw, phone_e164)"
                    " VALUES (:c, '067 574 68 30', :p)"), {"c": customer_id, "p": KNOWN_PHONE})
        certificates = [
            ("GC-VALID", "active", TODAY + timedelta(days=30)),
            ("GC-TODAY", "active", TODAY),
            ("GC-EXPIRED", "active", TODAY - timedelta(days=1)),
            ("GC-USED", "used", None),
            ("GC-BLOCKED", "blocked", None),
        ]
        for barcode, status, valid_until in certificates:
            run(sa.text("INSERT INTO gift_certificates (barcode, nominal, status, valid_until)"
                        " VALUES (:b, 500, :s, :v)"), {"b": barcode, "s": status, "v": valid_until})


RETAIL = "retail"   # line()'s default price: the good's retail price (an order far below it is flagged)


def line(good_id: int | None, quantity="1", price=RETAIL, good_ref: str | None = None, **extra) -> OrderLine:
    if price == RETAIL:
        price = GOODS[good_id][3] if good_id in GOODS else "100"
    return OrderLine(
        good_ref=good_ref if good_ref is not None else str(good_id),
        good_id=good_id,
        quantity=None if quantity is None else Decimal(quantity),
        price=None if price is None else Decimal(price),
        **extra,
    )


def customer(phone: str | None = "0675746830", email: str | None = None, **fields) -> OrderCustomer:
    return OrderCustomer(
        full_name=fields.pop("full_name", "Олена Петренко"),
        phones=[phone] if phone else [],
        email=email,
        **fields,
    )


def order(number: str, lines: list[OrderLine], buyer: OrderCustomer | None = None, **fields) -> Order:
    return Order(
        external_number=number,
        source_format="test",
        customer=buyer if buyer is not None else customer(),
        lines=lines,
        **fields,
    )


def free(engine: Engine, good_id: int, warehouses: list[int] = WAREHOUSES) -> Decimal:
    return scalar(engine, "SELECT coalesce(sum(free), 0) FROM free_stock WHERE good_id = :g"
                          " AND warehouse_id = ANY(:w)", g=good_id, w=warehouses)


def count(engine: Engine, table: str) -> int:
    return scalar(engine, f"SELECT count(*) FROM {table}")


def active_reserved(engine: Engine, invoice_id: int) -> list[tuple[int, int, Decimal]]:
    """(good_id, warehouse_id, quantity) of an invoice's active reservations, summed per good and warehouse."""
    found = rows(engine, "SELECT good_id, warehouse_id, sum(quantity) FROM reservations"
                         " WHERE invoice_id = :i AND status = 'active' GROUP BY 1, 2 ORDER BY 1, 2", i=invoice_id)
    return [tuple(row) for row in found]


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every data table's contents (rows as JSON, sorted): to show that nothing changed."""
    with engine.connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")).scalars().all()
        return {
            table: sorted(conn.execute(sa.text(f"SELECT to_jsonb(t)::text FROM {table} AS t")).scalars().all())
            for table in tables
        }
