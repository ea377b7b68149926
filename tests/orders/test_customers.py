"""Customers from orders: phones and e-mails normalised, found, updated without wiping, created once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from orderdata import KNOWN_EMAIL, KNOWN_PHONE, count, customer, rows, scalar

from shopsync.orders.customers import normalise_email, normalise_phone, upsert_customer


@pytest.mark.parametrize("raw", [
    "0675746830", "+38 (067) 574-68-30", "380675746830", "067 574 68 30", "+380675746830",
    "38 067 574 68 30", "8 067 574 68 30", " +380-67-574-68-30 ",
])
def test_phone_forms_of_one_person_normalise_to_the_same_e164(raw):
    assert normalise_phone(raw) == KNOWN_PHONE


@pytest.mark.parametrize("raw", [None, "", "   ", "abc", "123", "067 574", "not a phone", "+38 (000) 000-00-00"])
def test_garbage_phones_normalise_to_none(raw):
    assert normalise_phone(raw) is None


def test_foreign_phone_keeps_its_country():
    assert normalise_phone("+48 512 345 678") == "+48512345678"


@pytest.mark.parametrize(("raw", "expected"), [
    ("  Olena@Example.COM ", "olena@example.com"),
    ("", None),
    ("   ", None),
    (None, None),
    ("olena", None),
    ("olena@", None),
    ("olena@example", None),
    ("ol ena@example.com", None),
])
def test_normalise_email(raw, expected):
    assert normalise_email(raw) == expected


def _upsert(engine, buyer):
    """(customer id, action) of the order's customer."""
    return _match(engine, buyer)[:2]


def _match(engine, buyer):
    with engine.begin() as conn:
        return upsert_customer(conn, buyer)


def _known_id(engine) -> int:
    return scalar(engine, "SELECT id FROM customers WHERE email = :e", e=KNOWN_EMAIL)


def _customer_row(engine, customer_id):
    return rows(engine, "SELECT * FROM customers WHERE id = :i", i=customer_id)[0]


def test_found_by_phone_in_another_form_and_unchanged_when_nothing_is_new(shop_db):
    found_id, action = _upsert(shop_db, customer(phone="+38 (067) 574-68-30", city="Київ"))
    assert (found_id, action) == (_known_id(shop_db), "unchanged")
    assert count(shop_db, "customers") == 1
    assert count(shop_db, "customer_phones") == 1


def test_found_by_email_when_the_phone_is_new_and_the_phone_is_added(shop_db):
    found_id, action = _upsert(shop_db, customer(phone="050 123 45 67", email=" OLENA@example.com"))
    assert (found_id, action) == (_known_id(shop_db), "updated")
    phones = scalar(shop_db, "SELECT array_agg(phone_e164 ORDER BY phone_e164) FROM customer_phones"
                             " WHERE customer_id = :i", i=found_id)
    assert phones == ["+380501234567", KNOWN_PHONE]


def test_phone_wins_over_email_and_another_customers_email_is_not_copied(shop_db):
    known_id = _known_id(shop_db)
    other_id, _ = _upsert(shop_db, customer(phone="050 111 22 33", email="other@example.com", full_name="Інший"))
    found = _match(shop_db, customer(phone="0675746830", email="other@example.com"))
    assert found.customer_id == known_id != other_id
    assert _customer_row(shop_db, known_id).email == KNOWN_EMAIL          # the other customer's e-mail stays theirs
    assert found.reasons == [f"customer: e-mail other@example.com belongs to customer {other_id}: not copied onto"
                             f" customer {known_id}"]


def test_a_new_email_of_the_matched_customer_is_kept(shop_db):
    found = _match(shop_db, customer(phone="0675746830", email="olena.new@example.com"))
    assert (found.action, found.reasons) == ("updated", [])
    assert _customer_row(shop_db, found.customer_id).email == "olena.new@example.com"


def test_update_takes_new_contact_data_without_wiping_known_data(shop_db):
    found_id, action = _upsert(shop_db, customer(
        full_name="  петренко   ОЛЕНА ", email="", city="Львів", np_branch=None, address="  ", zip="79000",
    ))
    assert action == "updated"
    row = _customer_row(shop_db, found_id)
    assert row.city == "Львів" and row.zip == "79000"
    assert row.np_branch == "Відділення 12"
    assert row.address == "вул. Хрещатик, 1"
    assert row.email == KNOWN_EMAIL
    assert row.full_name == "Олена Петренко"      # a name is filled in, never replaced


def test_name_is_filled_in_when_none_was_known(shop_db):
    customer_id, _ = _upsert(shop_db, customer(phone="050 999 88 77", full_name=""))
    _, action = _upsert(shop_db, customer(phone="050 999 88 77", full_name="  Іван   Коваль "))
    assert action == "updated"
    assert _customer_row(shop_db, customer_id).full_name == "Іван Коваль"


def test_new_customer_is_created_with_normalised_contacts(shop_db):
    customer_id, action = _upsert(shop_db, customer(
        phone="+38 (093) 123-45-67", email="Ivan@Example.com", full_name="Іван Коваль", city="Одеса",
    ))
    assert action == "created"
    row = _customer_row(shop_db, customer_id)
    assert (row.full_name, row.email, row.city) == ("Іван Коваль", "ivan@example.com", "Одеса")
    phone = rows(shop_db, "SELECT phone_raw, phone_e164 FROM customer_phones WHERE customer_id = :i", i=customer_id)
    assert [tuple(p) for p in phone] == [("+38 (093) 123-45-67", "+380931234567")]


def test_customer_without_usable_phone_or_email_is_created(shop_db):
    _, action = _upsert(shop_db, customer(phone="garbage", email=None, full_name="Без контактів"))
    assert action == "created"
    assert count(shop_db, "customers") == 2


def test_concurrent_orders_of_one_new_customer_create_one_customer(thread_engine):
    threads = 10
    barrier = threading.Barrier(threads)
    forms = ["0931234567", "+380931234567", "380931234567", "093 123 45 67", "+38 (093) 123-45-67"]

    def upsert(number: int):
        barrier.wait()
        return _upsert(thread_engine, customer(phone=forms[number % len(forms)], full_name="Новий Клієнт"))

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(upsert, range(threads)))
    assert len({customer_id for customer_id, _ in results}) == 1
    assert sorted(action for _, action in results).count("created") == 1
    assert count(thread_engine, "customers") == 2          # the known customer and the new one
