"""Customers (Ukrainian- and Russian-speaking), their phones as people type them, and gift certificates.

Faker is slow per call, so it fills small pools of name parts and street names once (seeded, `uk_UA`
and `ru_RU`); every customer is then assembled from the pools with a `random.Random` of its own stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import phonenumbers
from faker import Faker

from shopsync.seed.codes import ean13, money, scatter, slugify

POOL_SIZE = 400          # of each name part and of street names, per locale
MAX_CUSTOMERS = 50_000

# Ukrainian mobile operator codes (Kyivstar, Vodafone, lifecell, ...).
OPERATOR_CODES = ("50", "66", "95", "99", "67", "68", "96", "97", "98", "63", "73", "93", "91", "92", "94")
EMAIL_DOMAINS = ("gmail.com",) * 9 + ("ukr.net",) * 5 + ("i.ua", "meta.ua", "outlook.com", "icloud.com", "yahoo.com")
DISCOUNT_PERCENTS = (0, 3, 3, 5, 5, 5, 7, 10)


@dataclass(frozen=True)
class City:
    name_ua: str
    name_ru: str
    region: str
    zip_prefix: str
    branches: int        # Nova Poshta branches to pick a number from
    weight: int


CITIES = (
    City("Київ", "Киев", "м. Київ", "0", 450, 30),
    City("Харків", "Харьков", "Харківська область", "61", 180, 9),
    City("Одеса", "Одесса", "Одеська область", "65", 170, 8),
    City("Дніпро", "Днепр", "Дніпропетровська область", "49", 160, 8),
    City("Львів", "Львов", "Львівська область", "79", 150, 8),
    City("Запоріжжя", "Запорожье", "Запорізька область", "69", 90, 4),
    City("Вінниця", "Винница", "Вінницька область", "21", 70, 3),
    City("Полтава", "Полтава", "Полтавська область", "36", 60, 3),
    City("Чернігів", "Чернигов", "Чернігівська область", "14", 45, 2),
    City("Черкаси", "Черкассы", "Черкаська область", "18", 50, 2),
    City("Житомир", "Житомир", "Житомирська область", "10", 50, 2),
    City("Суми", "Сумы", "Сумська область", "40", 45, 2),
    City("Рівне", "Ровно", "Рівненська область", "33", 45, 2),
    City("Івано-Франківськ", "Ивано-Франковск", "Івано-Франківська область", "76", 50, 2),
    City("Тернопіль", "Тернополь", "Тернопільська область", "46", 45, 2),
    City("Луцьк", "Луцк", "Волинська область", "43", 40, 2),
    City("Ужгород", "Ужгород", "Закарпатська область", "88", 35, 1),
    City("Чернівці", "Черновцы", "Чернівецька область", "58", 40, 1),
    City("Хмельницький", "Хмельницкий", "Хмельницька область", "29", 45, 2),
    City("Кропивницький", "Кропивницкий", "Кіровоградська область", "25", 35, 1),
    City("Миколаїв", "Николаев", "Миколаївська область", "54", 60, 2),
    City("Кривий Ріг", "Кривой Рог", "Дніпропетровська область", "50", 60, 2),
    City("Біла Церква", "Белая Церковь", "Київська область", "09", 25, 1),
    City("Бровари", "Бровары", "Київська область", "07", 20, 1),
    City("Ірпінь", "Ирпень", "Київська область", "08", 15, 1),
    City("Мукачево", "Мукачево", "Закарпатська область", "89", 12, 1),
)


@dataclass(frozen=True)
class LocalePool:
    """Name parts and street names of one locale, drawn once from a seeded Faker."""

    male: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]      # (last, first, middle) names
    female: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]
    streets: tuple[str, ...]
    street_prefix: str          # "вул." / "ул."
    flat_prefix: str            # "кв."
    house_prefix: str           # "" / "д. "


def _draw(generate: Callable[[], str], count: int) -> tuple[str, ...]:
    return tuple(generate() for _ in range(count))


def locale_pool(locale: str, seed: int) -> LocalePool:
    fake = Faker(locale)
    fake.seed_instance(seed)
    male = (_draw(fake.last_name_male, POOL_SIZE), _draw(fake.first_name_male, POOL_SIZE),
            _draw(fake.middle_name_male, POOL_SIZE))
    female = (_draw(fake.last_name_female, POOL_SIZE), _draw(fake.first_name_female, POOL_SIZE),
              _draw(fake.middle_name_female, POOL_SIZE))
    if locale == "ru_RU":
        # ru_RU street_title is the bare name ("Садовая"); its street_name carries a prefix.
        return LocalePool(male, female, _draw(fake.street_title, POOL_SIZE), "ул.", "кв.", "д. ")
    # uk_UA is the other way round: street_name is the bare name ("Олександра Богомольця").
    return LocalePool(male, female, _draw(fake.street_name, POOL_SIZE), "вул.", "кв.", "")


# Phones -----------------------------------------------------------------------------------------------
def phone_as_typed(national: str, style: int) -> str:
    """One of the ways people type the number 0XX XXX XX XX (`national` is the 10-digit form)."""
    code, a, b, c = national[:3], national[3:6], national[6:8], national[8:]
    styles = (
        national,                                   # 0675746830
        f"+38 ({code}) {a}-{b}-{c}",                # +38 (067) 574-68-30
        f"38{national}",                            # 380675746830
        f"{code} {a} {b} {c}",                      # 067 574 68 30
        f"+38{national}",                           # +380675746830
        f"({code}) {a}-{b}-{c}",                    # (067) 574-68-30
        f"+38 {code} {a} {b} {c}",                  # +38 067 574 68 30
        f"{code}-{a}-{b}-{c}",                      # 067-574-68-30
        f"+38({code}){a}{b}{c}",                    # +38(067)5746830
        f" {national} ",                            # stray spaces from a copy-paste
    )
    return styles[style % len(styles)]


def phone_e164(raw: str) -> str:
    """E.164 of a Ukrainian number as typed, by `phonenumbers` (region UA)."""
    parsed = phonenumbers.parse(raw, "UA")
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"seed produced an invalid phone number {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def new_national_number(rng: random.Random, used: set[str]) -> str:
    while True:
        national = f"0{rng.choice(OPERATOR_CODES)}{rng.randrange(10**7):07d}"
        if national not in used:
            used.add(national)
            return national


# Customers --------------------------------------------------------------------------------------------
CUSTOMER_COLUMNS = ["id", "full_name", "email", "country", "region", "city", "zip", "np_branch", "address",
                    "discount_card", "discount_percent", "bonus_balance", "is_active"]
PHONE_COLUMNS = ["customer_id", "phone_raw", "phone_e164"]


def customer_count(goods: int) -> int:
    return min(MAX_CUSTOMERS, max(200, goods // 20))


def full_name(rng: random.Random, pool: LocalePool) -> tuple[str, str, str]:
    """(full name as stored, first name, last name)."""
    last_names, first_names, middle_names = pool.male if rng.random() < 0.45 else pool.female
    last, first, middle = rng.choice(last_names), rng.choice(first_names), rng.choice(middle_names)
    shape = rng.random()
    if shape < 0.45:
        return f"{last} {first} {middle}", first, last
    if shape < 0.8:
        return f"{last} {first}", first, last
    return f"{first} {last}", first, last


def email_for(rng: random.Random, first: str, last: str) -> str:
    first_ascii = slugify(first).replace("_", "")
    last_ascii = slugify(last).replace("_", "")
    shape = rng.randrange(4)
    if shape == 0:
        local = f"{first_ascii}.{last_ascii}"
    elif shape == 1:
        local = f"{last_ascii}{rng.randrange(1, 99)}"
    elif shape == 2:
        local = f"{first_ascii[:1]}{last_ascii}{rng.randrange(1970, 2006)}"
    else:
        local = f"{first_ascii}_{last_ascii}{rng.randrange(1, 999)}"
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}".lower()


def np_branch_for(rng: random.Random, city: City, streets: tuple[str, ...]) -> str:
    street = f"вул. {rng.choice(streets)}, {rng.randrange(1, 150)}"
    if rng.random() < 0.12:
        return f"Поштомат №{rng.randrange(1000, 40000)}: {street}"
    return f"Відділення №{rng.randrange(1, city.branches + 1)}: {street}"


def address_for(rng: random.Random, pool: LocalePool) -> str:
    house = f"{pool.house_prefix}{rng.randrange(1, 180)}"
    address = f"{pool.street_prefix} {rng.choice(pool.streets)}, {house}"
    if rng.random() < 0.75:
        address += f", {pool.flat_prefix} {rng.randrange(1, 300)}"
    return address


def discount_card_number(customer_id: int) -> str:
    """Internal-use EAN-13 (prefix 28): unique per customer."""
    return ean13("28", scatter(customer_id, 10))


def build_customers(count: int, seed: int) -> tuple[list[tuple], list[tuple]]:
    """(customers rows, customer_phones rows): ~70% Ukrainian names, ~30% Russian; 1-2 phones each."""
    rng = random.Random(f"{seed}:customers")
    pools = {"uk": locale_pool("uk_UA", seed), "ru": locale_pool("ru_RU", seed)}
    uk_pool = pools["uk"]
    cities, weights = CITIES, [city.weight for city in CITIES]
    used_numbers: set[str] = set()
    customers: list[tuple] = []
    phones: list[tuple] = []
    for customer_id in range(1, count + 1):
        russian = rng.random() < 0.3
        pool = pools["ru" if russian else "uk"]
        name, first, last = full_name(rng, pool)
        city = rng.choices(cities, weights)[0]
        has_card = rng.random() < 0.4
        customers.append((
            customer_id,
            name,
            email_for(rng, first, last) if rng.random() < 0.88 else None,
            "Україна",
            city.region,
            city.name_ru if russian and rng.random() < 0.6 else city.name_ua,
            f"{city.zip_prefix}{rng.randrange(10 ** (5 - len(city.zip_prefix))):0{5 - len(city.zip_prefix)}d}",
            np_branch_for(rng, city, uk_pool.streets) if rng.random() < 0.88 else None,
            address_for(rng, pool) if rng.random() < 0.7 else None,
            discount_card_number(customer_id) if has_card else None,
            rng.choice(DISCOUNT_PERCENTS) if has_card else 0,
            money(rng.randrange(1, 200_000)) if rng.random() < 0.4 else "0.00",
            rng.random() >= 0.02,
        ))
        for _ in range(1 if rng.random() < 0.7 else 2):
            raw = phone_as_typed(new_national_number(rng, used_numbers), rng.randrange(10))
            phones.append((customer_id, raw, phone_e164(raw)))
    return customers, phones


# Gift certificates ------------------------------------------------------------------------------------
CERTIFICATE_COLUMNS = ["id", "barcode", "nominal", "currency", "status", "valid_until", "used_at"]
# Fixed dates keep the rows identical run after run: expired ones lie in the past, valid ones far ahead.
EXPIRED_FROM, EXPIRED_DAYS = date(2023, 1, 1), 700
VALID_FROM, VALID_DAYS = date(2030, 1, 1), 1000
USED_FROM = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def certificate_count(goods: int) -> int:
    return max(20, goods // 200)


def build_certificates(count: int, seed: int) -> list[tuple]:
    """Nominal 500/1000/2000; ~60% active, ~30% used, ~10% blocked; ~20% expired (valid_until in the past)."""
    rng = random.Random(f"{seed}:certificates")
    rows = []
    for certificate_id in range(1, count + 1):
        status = rng.choices(("active", "used", "blocked"), (6, 3, 1))[0]
        if rng.random() < 0.2:
            valid_until = EXPIRED_FROM + timedelta(days=rng.randrange(EXPIRED_DAYS))
        else:
            valid_until = VALID_FROM + timedelta(days=rng.randrange(VALID_DAYS))
        used_at = USED_FROM + timedelta(minutes=rng.randrange(600_000)) if status == "used" else None
        rows.append((
            certificate_id,
            ean13("299", scatter(certificate_id, 9)),
            rng.choice(("500.00", "1000.00", "1000.00", "2000.00")),
            "UAH",
            status,
            valid_until,
            used_at,
        ))
    return rows
