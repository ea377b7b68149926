"""Torgsoft-compatible order JSON -> Order, field by field."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from formats_helpers import only_order, parse_json, parse_sample, torgsoft_order

from shopsync.orders.model import OrderLine


def test_sample_maps_every_field():
    parsed = parse_sample("torgsoft_orders.json")
    assert parsed.format == "torgsoft_json"
    assert not parsed.rejected
    first, second, third = parsed.orders

    assert first.external_number == "SITE-10231"
    assert first.source_format == "torgsoft_json"
    customer = first.customer
    assert customer.full_name == "Шевченко Олена Василівна"
    assert customer.phones == ["+38 (050) 123-45-67", "044 234 56 78"]
    assert customer.email == "olena.shevchenko@ukr.net"
    assert (customer.country, customer.region, customer.city, customer.zip) == (
        "Україна", "Київська обл.", "Київ", "01004"
    )
    assert customer.address == "вул. Велика Васильківська, 72, кв. 14"
    assert customer.np_branch == "Відділення №52 (до 30 кг): вул. Антоновича, 43"
    assert first.delivery_branch == customer.np_branch
    assert first.delivery_address is None
    assert first.delivery_city == "Київ"
    assert first.delivery_method == "Нова Пошта"
    assert first.comment == "Будь ласка, зателефонуйте перед відправкою"
    assert first.order_date == datetime(2024, 5, 15, 9, 41, 27)
    assert first.reserve_until == date(2024, 5, 18)
    assert first.bonus_pay == Decimal("50.00")
    assert first.gift_certificates == ["2000000012345", "2000000012352"]
    assert first.currency == "UAH"
    assert first.payment_status == "paid"
    assert first.payment_method == "Оплата карткою на сайті"
    assert first.warnings == []
    assert first.lines == [
        OrderLine(good_ref="17", good_id=17, quantity=Decimal("1"), price=Decimal("1958.36")),
        OrderLine(good_ref="254", good_id=254, quantity=Decimal("2"), price=Decimal("349.00")),
    ]

    assert second.customer.phones == ["0671112233"]
    assert second.customer.email is None
    assert second.delivery_address == "вул. Городоцька, 120, кв. 8"
    assert second.delivery_branch is None
    assert second.delivery_method == "Кур'єр Нова Пошта"  # DeliveryCondition when DeliveryMethod is absent
    assert second.payment_status == "cod"                 # inferred from PaymentMethod "Післяплата"
    assert second.currency == "UAH"                       # ISO number 980
    assert second.reserve_until is None
    assert second.bonus_pay == 0

    assert third.delivery_branch == "Поштомат №2241"      # explicit Branch wins
    assert third.delivery_address == "вул. Дерибасівська, 5"
    assert third.payment_status == "unpaid"
    assert third.comment == "Подарункова упаковка, будь ласка 🎁"
    assert [line.good_id for line in third.lines] == [3, 198, 300]


def test_single_object_file_is_one_order():
    order = only_order(parse_json(torgsoft_order("A-1")))
    assert order.external_number == "A-1"


def test_json_numbers_are_tolerated():
    document = {
        "Client": {"Name": "Іван", "MPhone": 380501112233},
        "Options": {"OrderNumber": 20045, "BonusPay": 12.5},
        "Goods": [{"GoodID": 12, "Price": 1958.36, "Count": 2}],
    }
    order = only_order(parse_json(document))
    assert order.external_number == "20045"
    assert order.customer.phones == ["380501112233"]
    assert order.bonus_pay == Decimal("12.5")
    assert order.lines == [OrderLine(good_ref="12", good_id=12, quantity=Decimal(2), price=Decimal("1958.36"))]


@pytest.mark.parametrize(
    ("price", "expected"),
    [("1958,36", "1958.36"), ("1 958,36", "1958.36"), ("1\u00a0958.36", "1958.36"), ("1.958,36", "1958.36"),
     ("1,958.36", "1958.36"), ("450 грн", "450"), ("0", "0")],
)
def test_decimal_commas_and_grouping(price: str, expected: str):
    order = only_order(parse_json(torgsoft_order(goods=[{"GoodID": "1", "Price": price, "Count": "1,5"}])))
    assert order.lines[0].price == Decimal(expected)
    assert order.lines[0].quantity == Decimal("1.5")
    assert order.lines[0].problems == []


@pytest.mark.parametrize(
    ("count", "price", "problem"),
    [
        ("abc", "10", "quantity 'abc' is not a number"),
        ("0", "10", "quantity 0 must be more than zero"),
        ("-2", "10", "quantity -2 must be more than zero"),
        ("1000000000", "10", "quantity 1000000000 is implausible"),
        ("NaN", "10", "quantity 'NaN' is not a number"),
        (None, "10", "quantity is missing"),
        ("1", "-450,00", "price -450 is negative"),
        ("1", "дорого", "price 'дорого' is not a number"),
        ("1", None, "price is missing"),
        ("1", "99999999999", "price 99999999999 is implausible"),
    ],
)
def test_line_problems_flag_but_keep_the_order(count: str | None, price: str | None, problem: str):
    good = {"GoodID": "12", "Count": count, "Price": price}
    order = only_order(parse_json(torgsoft_order(goods=[{k: v for k, v in good.items() if v is not None}])))
    assert order.lines[0].problems == [problem]


def test_unparseable_quantity_is_none():
    order = only_order(parse_json(torgsoft_order(goods=[{"GoodID": "12", "Price": "1", "Count": "два"}])))
    assert order.lines[0].quantity is None


@pytest.mark.parametrize(
    ("good_id", "expected"),
    [("12", 12), ("007", 7), ("0", None), ("-5", None), ("ABC-12", None), ("99999999999999", None),
     ("2147483647", 2147483647), ("2147483648", None), ("١٢", None)],
)
def test_good_id_only_for_positive_integers_that_fit(good_id: str, expected: int | None):
    order = only_order(parse_json(torgsoft_order(goods=[{"GoodID": good_id, "Price": "1", "Count": "1"}])))
    assert order.lines[0].good_ref == good_id
    assert order.lines[0].good_id == expected
    assert order.lines[0].problems == []


def test_missing_good_id_is_a_line_problem():
    order = only_order(parse_json(torgsoft_order(goods=[{"Price": "1", "Count": "1"}])))
    assert order.lines[0].problems == ["GoodID is missing"]


@pytest.mark.parametrize("key", ["Місто", "City", "місто", "Mісто", "Мiсто", "МІСТО", "Misto"])
def test_city_key_variants(key: str):
    document = torgsoft_order()
    document["Client"] = {"Name": "Іван", key: "Рівне"}
    assert only_order(parse_json(document)).customer.city == "Рівне"


def test_field_names_match_loosely():
    document = {"client": {"NAME": "Іван", "e_mail": "i@x.ua"}, "options": {"order_number": "L-1"},
                "goods": [{"goodid": "5", "price": "1", "count": "1"}]}
    order = only_order(parse_json(document))
    assert (order.external_number, order.customer.full_name, order.customer.email) == ("L-1", "Іван", "i@x.ua")
    assert order.lines[0].good_id == 5


@pytest.mark.parametrize(
    ("address", "is_branch"),
    [("Відділення №12", True), ("отделение 5", True), ("№ 12", True), ("Поштомат 2231", True),
     ("відділення нової пошти 3", True), ("вул. Хрещатик, 22, кв. 5", False), ("просп. Перемоги 10", False)],
)
def test_delivery_address_or_branch(address: str, is_branch: bool):
    order = only_order(parse_json(torgsoft_order(DeliveryAddress=address)))
    assert order.delivery_branch == (address if is_branch else None)
    assert order.customer.np_branch == order.delivery_branch
    assert order.delivery_address == (None if is_branch else address)


@pytest.mark.parametrize(
    ("options", "expected"),
    [({}, "unpaid"), ({"PaymentStatus": "paid"}, "paid"), ({"PaymentStatus": "PAID"}, "paid"),
     ({"PaymentStatus": "unpaid"}, "unpaid"), ({"PaymentStatus": "cod"}, "cod"),
     ({"PaymentStatus": "оплачено"}, "paid"), ({"PaymentStatus": "Післяплата"}, "cod"),
     ({"PaymentMethod": "Наложенный платеж"}, "cod"), ({"PaymentMethod": "Картка"}, "unpaid"),
     ({"PaymentStatus": "paid", "PaymentMethod": "Післяплата"}, "paid")],
)
def test_payment_status(options: dict[str, str], expected: str):
    assert only_order(parse_json(torgsoft_order(**options))).payment_status == expected


def test_unknown_payment_status_is_a_warning():
    order = only_order(parse_json(torgsoft_order(PaymentStatus="maybe")))
    assert order.payment_status == "unpaid"
    assert order.warnings == ["payment status 'maybe' is not paid/unpaid/cod; taken as unpaid"]


def test_bad_dates_are_warnings_not_rejections():
    order = only_order(parse_json(torgsoft_order(OrderDate="15/05/2024 10:00", ReserveDate="2024-13-45")))
    assert order.order_date is None
    assert order.reserve_until is None
    assert order.warnings == [
        "order date '15/05/2024 10:00' is not a date (expected YYYY-MM-DD HH:MM:SS); left empty",
        "reserve date '2024-13-45' is not a date (expected DDMMYYYY); left empty",
    ]


def test_other_date_spellings():
    order = only_order(parse_json(torgsoft_order(OrderDate="15.05.2024 10:30", ReserveDate="20.05.2024")))
    assert order.order_date == datetime(2024, 5, 15, 10, 30)
    assert order.reserve_until == date(2024, 5, 20)


@pytest.mark.parametrize(
    ("bonus", "expected", "warning"),
    [("-5", Decimal(0), "bonus payment -5 is negative; taken as 0"),
     ("багато", Decimal(0), "bonus payment 'багато' is not a number; taken as 0"),
     ("12,50", Decimal("12.50"), None), ("", Decimal(0), None)],
)
def test_bonus_pay(bonus: str, expected: Decimal, warning: str | None):
    order = only_order(parse_json(torgsoft_order(BonusPay=bonus)))
    assert order.bonus_pay == expected
    assert order.warnings == ([warning] if warning else [])


def test_gift_certificates_split_and_stripped():
    order = only_order(parse_json(torgsoft_order(GiftCertificate=" 111, 222 ,,333 ")))
    assert order.gift_certificates == ["111", "222", "333"]


@pytest.mark.parametrize(("code", "expected"), [("UAH", "UAH"), ("uah", "UAH"), ("980", "UAH"), ("978", "EUR"),
                                                ("грн", "UAH"), ("", "UAH")])
def test_currency(code: str, expected: str):
    assert only_order(parse_json(torgsoft_order(CurrencyInternationalCode=code))).currency == expected


def test_unknown_currency_is_a_warning():
    order = only_order(parse_json(torgsoft_order(CurrencyInternationalCode="гривні")))
    assert order.currency == "UAH"
    assert order.warnings == ["currency 'гривні' is not a known currency code; taken as UAH"]


def test_duplicate_phone_is_kept_once():
    document = torgsoft_order()
    document["Client"].update({"MPhone": "0501112233", "CPhone": "0501112233"})
    assert only_order(parse_json(document)).customer.phones == ["0501112233"]


def test_formula_sql_and_emoji_survive_intact():
    document = torgsoft_order(Comment="'; DROP TABLE invoices; --")
    document["Client"]["Name"] = '=HYPERLINK("http://evil.example","Натисни") 😊'
    order = only_order(parse_json(document))
    assert order.comment == "'; DROP TABLE invoices; --"
    assert order.customer.full_name == '=HYPERLINK("http://evil.example","Натисни") 😊'


def test_control_characters_removed_except_tab_and_newline():
    document = torgsoft_order(Comment="рядок 1\r\nрядок 2\tтаб\u0007!")
    document["Client"]["Name"] = "  Іван\u0000 \u001bПетренко\u0085 "
    order = only_order(parse_json(document))
    assert order.customer.full_name == "Іван Петренко"
    assert order.comment == "рядок 1\nрядок 2\tтаб!"


@pytest.mark.parametrize(
    ("document", "reasons"),
    [
        (torgsoft_order(""), ["no order number"]),
        (torgsoft_order("  "), ["no order number"]),
        (torgsoft_order(goods=[]), ["the order has no goods"]),
        ({"Client": {"Name": "Іван"}, "Options": {"OrderNumber": "X"}}, ["the order has no goods"]),
        (torgsoft_order(goods="12:1"), ["the field Goods should be a list of goods, not text"]),
        (torgsoft_order(goods=[{"GoodID": "1", "Price": "1", "Count": {"n": 1}}]),
         ["the field Goods[1].Count should be text or a number, not an object"]),
        (torgsoft_order(goods=[{"GoodID": ["1"], "Price": "1", "Count": "1"}]),
         ["the field Goods[1].GoodID should be text, not a list"]),
        (torgsoft_order(Comment={"text": "x"}), ["the field Options.Comment should be text, not an object"]),
        ({**torgsoft_order(), "Client": "Іван"}, ["the field Client should be an object, not text"]),
    ],
)
def test_rejected_orders_name_the_reason(document, reasons):
    parsed = parse_json([document])
    assert parsed.orders == []
    assert parsed.rejected[0].reasons == reasons
    assert parsed.rejected[0].position == 1


def test_rejected_order_keeps_its_number():
    parsed = parse_json([torgsoft_order("OK-1"), torgsoft_order("BAD-2", goods=[])])
    assert [order.external_number for order in parsed.orders] == ["OK-1"]
    assert (parsed.rejected[0].position, parsed.rejected[0].external_number) == (2, "BAD-2")


def test_one_good_given_as_an_object_is_accepted():
    order = only_order(parse_json(torgsoft_order(goods={"GoodID": "5", "Price": "1", "Count": "1"})))
    assert order.lines[0].good_id == 5
