"""Realistic Ukrainian buyers, places and goods for the fake channel servers' order builders
(deterministic: the n-th order of a fake always gets the same person)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

FIRST_NAMES = ["Олена", "Тарас", "Ірина", "Богдан", "Оксана", "Андрій", "Наталія", "Віталій", "Соломія", "Юрій"]
LAST_NAMES = ["Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравчук", "Мельник", "Олійник", "Петренко",
              "Савчук", "Гнатюк"]
PATRONYMICS = ["Іванівна", "Петрович", "Миколаївна", "Степанович", "Василівна", "Олегович", "Андріївна",
               "Богданович", "Тарасівна", "Юрійович"]
CITIES = [("Київ", "8d5a980d-391c-11dd-90d9-001a92567626"), ("Львів", "db5c88f5-391c-11dd-90d9-001a92567626"),
          ("Одеса", "db5c88d0-391c-11dd-90d9-001a92567626"), ("Харків", "db5c88e0-391c-11dd-90d9-001a92567626"),
          ("Вінниця", "db5c88de-391c-11dd-90d9-001a92567626")]


@dataclass(frozen=True)
class Goods:
    external_id: str
    name_uk: str
    name_ru: str
    price: Decimal


CATALOG = [
    Goods("SKU-1001", "Чайник електричний 1,7 л", "Чайник электрический 1,7 л", Decimal("1202.00")),
    Goods("SKU-1002", "Рушник махровий 70×140", "Полотенце махровое 70×140", Decimal("244")),
    Goods("SKU-1003", "Ковдра вовняна", "Одеяло шерстяное", Decimal("1899.50")),
    Goods("SKU-1004", "Горнятко керамічне «Мак»", "Кружка керамическая «Мак»", Decimal("129.90")),
    Goods("SKU-1005", "Сковорода 28 см", "Сковорода 28 см", Decimal("760")),
]


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    second_name: str
    phone: str            # +380XXXXXXXXX
    email: str | None
    city: str
    city_ref: str
    warehouse_number: str


def person(n: int) -> Person:
    city, ref = CITIES[n % len(CITIES)]
    email = None if n % 3 == 2 else f"buyer{n}@example.com.ua"   # Prom sends null for some buyers
    return Person(FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[(n * 3) % len(LAST_NAMES)],
                  PATRONYMICS[n % len(PATRONYMICS)], f"+38067{1234500 + n % 700000:07d}", email, city, ref,
                  str(1 + (n * 7) % 40))


def goods(external_id: str) -> Goods:
    for item in CATALOG:
        if item.external_id == external_id:
            return item
    return Goods(external_id, f"Товар {external_id}", f"Товар {external_id}", Decimal("100"))


def lines_of(products: list[tuple[str, float]] | None, n: int) -> list[tuple[Goods, float]]:
    """(goods, quantity) pairs: the given (external id, quantity) list, or one or two goods picked by n."""
    if products is not None:
        return [(goods(ext), qty) for ext, qty in products]
    first = CATALOG[n % len(CATALOG)]
    if n % 2:
        return [(first, 1.0)]
    return [(first, 1.0), (CATALOG[(n + 1) % len(CATALOG)], 2.0)]
