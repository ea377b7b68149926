"""Customer identity: a phone or e-mail alone does not make an order someone's; the names must agree.

The rule (docs/decisions.md, "Customer identity"): a customer found by phone or e-mail is the order's
customer only when the names agree after normalising (case, apostrophes, Latin/Cyrillic look-alikes,
spaces, word order, a patronymic on one side only); otherwise a new customer is created and the order
flagged. The normalising is the database's (shopsync_names_agree); the properties are checked on it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from orderdata import KNOWN_EMAIL, KNOWN_PHONE, SHOP, TODAY, WAREHOUSES, count, customer, line, order, rows, scalar

from shopsync.orders.apply import apply_order
from shopsync.orders.customers import names_agree

FIRST_NAMES = ["Олена", "Мар'яна", "Іван", "Петро", "Ольга", "Тетяна", "Сергій", "Наталія", "Ярослав", "Христина",
               "Андрій", "Оксана", "Василь", "Катерина"]
SURNAMES = ["Петренко", "Коваль", "Шевченко", "Бондаренко", "Мельник", "Ткачук", "Кравець", "Олійник", "Дем'яненко",
            "Сахарова", "Ярошевич", "Гончар"]
PATRONYMICS = ["Іванівна", "Петрович", "Олексіївна", "Сергійович", "Миколаївна", "Андріївна", "Ярославович",
               "Ивановна", "Ильинична"]
APOSTROPHES = ["'", "’", "ʼ", "`"]
# Cyrillic letter -> the Latin letter a person (or a keyboard layout) types for it
LOOK_ALIKES = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "к": "k",
               "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
               "Т": "T", "Х": "X", "І": "I", "У": "Y"}


@pytest.fixture(scope="module")
def conn(session_engine):
    with session_engine.connect() as connection:
        yield connection


@st.composite
def written(draw, words: list[str]) -> str:
    """The words as a person or a shop site may write them: any case, any apostrophe, Latin look-alike
    letters, extra spaces (the words are already in the order wanted)."""
    out = []
    for word in words:
        letters = []
        for letter in word:
            if letter == "'":
                letter = draw(st.sampled_from(APOSTROPHES))
            elif letter in LOOK_ALIKES and draw(st.booleans()):
                letter = LOOK_ALIKES[letter]
            letters.append(letter)
        word = "".join(letters)
        word = draw(st.sampled_from([word, word.upper(), word.lower(), word.capitalize()]))
        out.append(word)
    gaps = [draw(st.sampled_from([" ", "  ", "\t", " \u00a0 "])) for _ in out]
    lead, trail = draw(st.sampled_from(["", " ", "  "])), draw(st.sampled_from(["", " ", "\n"]))
    return lead + "".join(gap + word for gap, word in zip(gaps, out, strict=True)).lstrip() + trail


PERSON = st.tuples(st.sampled_from(FIRST_NAMES), st.sampled_from(SURNAMES), st.sampled_from(PATRONYMICS))


@settings(max_examples=150, deadline=None)
@given(person=PERSON, data=st.data())
def test_the_same_person_written_differently_agrees(conn, person, data):
    first, surname, patronymic = person
    known = f"{surname} {first} {patronymic}"
    words = data.draw(st.sampled_from([
        [surname, first, patronymic], [first, patronymic, surname], [first, surname], [surname, first],
        [first, surname, patronymic],
    ]))
    given_name = data.draw(written(words))
    assert names_agree(conn, known, given_name), (known, given_name)
    assert names_agree(conn, given_name, known), (given_name, known)               # symmetric


@settings(max_examples=150, deadline=None)
@given(one=PERSON, other=PERSON, data=st.data())
def test_another_first_name_or_surname_does_not_agree(conn, one, other, data):
    if one[0] == other[0] and one[1] == other[1]:
        return
    known = f"{one[1]} {one[0]} {one[2]}"
    given_name = data.draw(written([other[0], other[1]]))
    assert not names_agree(conn, known, given_name), (known, given_name)
    assert not names_agree(conn, data.draw(written([one[0], one[1]])), given_name)


@settings(max_examples=60, deadline=None)
@given(person=PERSON, other_patronymic=st.sampled_from(PATRONYMICS), data=st.data())
def test_another_patronymic_or_a_first_name_alone_does_not_agree(conn, person, other_patronymic, data):
    first, surname, patronymic = person
    known = f"{surname} {first} {patronymic}"
    if other_patronymic != patronymic:
        assert not names_agree(conn, known, data.draw(written([first, other_patronymic, surname])))
    assert not names_agree(conn, known, data.draw(written([first])))
    assert not names_agree(conn, f"{surname} {first}", data.draw(written([first])))
    assert not names_agree(conn, known, "")


def apply(engine, the_order):
    return apply_order(engine, SHOP, the_order, WAREHOUSES, None, TODAY)


def known_customer(engine):
    return rows(engine, "SELECT * FROM customers WHERE email = :e", e=KNOWN_EMAIL)[0]


def test_a_known_phone_with_another_name_makes_a_new_customer_and_leaves_the_known_one_alone(shop_db):
    before = known_customer(shop_db)
    result = apply(shop_db, order("I-1", [line(101)], customer(
        phone="+380675746830", full_name="Іван Сидоренко", email="ivan@example.com", city="Одеса",
        address="вул. Чужа, 9"), bonus_pay=Decimal(50)))
    assert result.status == "flagged" and result.customer_action == "created"
    assert result.customer_id != before.id
    assert known_customer(shop_db) == before                      # e-mail, address, bonus and the rest as they were
    assert result.reasons[0] == (
        f"customer: phone {KNOWN_PHONE} belongs to customer {before.id} «Олена Петренко», not to «Іван Сидоренко»: "
        f"a new customer {result.customer_id} was created (the order does not use the other customer's bonus or "
        "data); check whether it is the same person")
    assert "bonus payment 50 but the customer had only 0 — deducted 0" in result.reasons
    new = rows(shop_db, "SELECT * FROM customers WHERE id = :i", i=result.customer_id)[0]
    assert (new.full_name, new.email, new.city) == ("Іван Сидоренко", "ivan@example.com", "Одеса")
    assert scalar(shop_db, "SELECT customer_id FROM invoices WHERE external_number = 'I-1'") == new.id

    again = apply(shop_db, order("I-2", [line(102)], customer(phone="067 574 68 30", full_name="Сидоренко Іван")))
    assert (again.status, again.customer_id, again.customer_action) == ("applied", new.id, "unchanged")
    assert count(shop_db, "customers") == 2


def test_the_known_customer_written_differently_is_matched_and_pays_with_bonus(shop_db):
    before = known_customer(shop_db)
    result = apply(shop_db, order("I-3", [line(101)], customer(
        phone="0675746830", full_name="  ПETPEНKО   oлена  Іванівна "), bonus_pay=Decimal(30)))   # Latin look-alikes
    assert (result.status, result.reasons) == ("applied", [])
    assert result.customer_id == before.id
    assert known_customer(shop_db).bonus_balance == Decimal(70)


def test_a_known_email_with_another_name_makes_a_new_customer_without_that_email(shop_db):
    before = known_customer(shop_db)
    result = apply(shop_db, order("I-4", [line(101)], customer(phone=None, email=KNOWN_EMAIL, full_name="Хтось Інший",
                                                               city="Дніпро")))
    assert result.customer_action == "created" and result.customer_id != before.id
    assert known_customer(shop_db) == before
    assert result.reasons == [
        f"customer: e-mail {KNOWN_EMAIL} belongs to customer {before.id} «Олена Петренко», not to «Хтось Інший»: a new "
        f"customer {result.customer_id} was created (the order does not use the other customer's bonus or data); "
        "check whether it is the same person"]
    assert scalar(shop_db, "SELECT email FROM customers WHERE id = :i", i=result.customer_id) is None


def test_an_order_without_a_name_is_not_someone_elses(shop_db):
    before = known_customer(shop_db)
    result = apply(shop_db, order("I-5", [line(101)], customer(full_name="", address="вул. Інша, 1"),
                                  bonus_pay=Decimal(10)))
    assert result.customer_action == "created" and result.customer_id != before.id
    assert known_customer(shop_db) == before


def test_an_email_of_another_customer_is_not_stored_on_a_new_one(shop_db):
    result = apply(shop_db, order("I-6", [line(101)], customer(phone="050 555 44 33", email=KNOWN_EMAIL,
                                                               full_name="Олена Петренко")))
    # the names agree: found by e-mail, it is the known customer, who gets the new phone
    assert result.customer_id == known_customer(shop_db).id and result.reasons == []
    other = apply(shop_db, order("I-7", [line(101)], customer(phone="050 555 44 22", email=KNOWN_EMAIL,
                                                              full_name="Петро Гончар")))
    assert other.customer_action == "created"
    assert scalar(shop_db, "SELECT email FROM customers WHERE id = :i", i=other.customer_id) is None
