"""RELIABILITY: concurrent apply_order calls, each in its own connection and transaction.

No oversell, no duplicate invoices, no deadlocks. Threads start together at a barrier so their
transactions really overlap.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from orderdata import TODAY, WAREHOUSES, count, customer, execute, free, line, order, scalar

from shopsync.orders.apply import ApplyResult, apply_order

SHOPS = ["demo", "prom", "rozetka"]
LAST_UNITS_GOOD = 104        # 3 units at warehouse 1, 2 at warehouse 2: 5 in all


def run_together(engine, orders_by_thread) -> list[ApplyResult]:
    """Apply (shop_id, order) pairs from as many threads, released at the same moment."""
    barrier = threading.Barrier(len(orders_by_thread))

    def apply(shop_and_order):
        shop_id, the_order = shop_and_order
        barrier.wait()
        return apply_order(engine, shop_id, the_order, WAREHOUSES, None, TODAY)

    with ThreadPoolExecutor(len(orders_by_thread)) as pool:
        return list(pool.map(apply, orders_by_thread))


def buyer(number: int):
    return customer(phone=f"050 100 {number // 100:02d} {number % 100:02d}", full_name=f"Покупець {number}")


def reserved_total(engine, good_id: int) -> Decimal:
    return scalar(engine, "SELECT coalesce(sum(quantity), 0) FROM reservations"
                          " WHERE good_id = :g AND status = 'active'", g=good_id)


def never_negative(engine) -> bool:
    return scalar(engine, "SELECT coalesce(min(free), 0) FROM free_stock") >= 0


def test_twenty_buyers_of_the_last_five_units_one_each(thread_engine):
    orders = [
        (SHOPS[n % 3], order(f"LAST-{n}", [line(LAST_UNITS_GOOD, "1")], buyer(n)))
        for n in range(20)
    ]
    results = run_together(thread_engine, orders)
    statuses = Counter(result.status for result in results)
    assert statuses == {"applied": 5, "flagged": 15}
    assert reserved_total(thread_engine, LAST_UNITS_GOOD) == 5
    assert free(thread_engine, LAST_UNITS_GOOD) == 0 and never_negative(thread_engine)
    assert count(thread_engine, "invoices") == 20
    assert scalar(thread_engine, "SELECT count(*) FROM invoices WHERE needs_attention AND status = 'new'") == 15
    assert sum(sum(result.reserved.values()) for result in results) == 5


def test_twenty_buyers_of_the_last_five_units_mixed_quantities(thread_engine):
    quantities = ["1", "2", "3", "1.5", "4"]
    orders = [
        (SHOPS[n % 3], order(f"MIX-{n}", [line(LAST_UNITS_GOOD, quantities[n % 5]), line(102, "1")], buyer(n)))
        for n in range(20)
    ]
    results = run_together(thread_engine, orders)
    assert reserved_total(thread_engine, LAST_UNITS_GOOD) == 5
    assert free(thread_engine, LAST_UNITS_GOOD) == 0 and never_negative(thread_engine)
    assert count(thread_engine, "invoices") == 20
    assert sum(result.reserved.get(LAST_UNITS_GOOD, 0) for result in results) == 5
    fully = [result for result in results if result.status == "applied"]
    assert all(result.reserved[LAST_UNITS_GOOD] == Decimal(quantities[int(result.external_number[4:]) % 5])
               for result in fully)


def test_same_order_number_from_ten_threads_makes_one_invoice(thread_engine):
    orders = [("demo", order("DUP-1", [line(101, "2")], customer(phone="050 777 66 55", full_name="Дубль")))] * 10
    results = run_together(thread_engine, orders)
    assert Counter(result.status for result in results) == {"applied": 1, "skipped": 9}
    assert len({result.invoice_id for result in results}) == 1
    assert count(thread_engine, "invoices") == 1
    assert reserved_total(thread_engine, 101) == 2
    assert scalar(thread_engine, "SELECT count(*) FROM customers WHERE full_name = 'Дубль'") == 1


def test_opposite_line_orders_of_the_same_goods_do_not_deadlock(thread_engine):
    execute(thread_engine, "UPDATE stock SET on_hand = 1000 WHERE good_id IN (101, 102)")
    orders = []
    for n in range(16):
        goods = [101, 102] if n % 2 else [102, 101]
        orders.append((SHOPS[n % 3], order(f"DL-{n}", [line(good, "1") for good in goods], buyer(n))))
    results = run_together(thread_engine, orders)
    assert Counter(result.status for result in results) == {"applied": 16}
    assert reserved_total(thread_engine, 101) == reserved_total(thread_engine, 102) == 16


def test_one_certificate_in_two_concurrent_orders_is_used_once(thread_engine):
    orders = [("demo", order(f"GC-{n}", [line(102)], buyer(n), gift_certificates=["GC-VALID"])) for n in range(6)]
    results = run_together(thread_engine, orders)
    assert Counter(result.status for result in results) == {"applied": 1, "flagged": 5}
    assert scalar(thread_engine, "SELECT count(*) FROM gift_certificates WHERE used_invoice_id IS NOT NULL") == 1


def test_concurrent_bonus_payments_never_overdraw_the_balance(thread_engine):
    orders = [("demo", order(f"BON-{n}", [line(102)], customer(), bonus_pay=Decimal(30))) for n in range(5)]
    results = run_together(thread_engine, orders)
    assert Counter(result.status for result in results) == {"applied": 3, "flagged": 2}
    assert scalar(thread_engine, "SELECT sum(bonus_paid) FROM invoices") == 100
    assert scalar(thread_engine, "SELECT bonus_balance FROM customers WHERE email = 'olena@example.com'") == 0
