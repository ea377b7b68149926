"""The seed: deterministic, realistic, and with the deliberate defects the export must catch."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from pathlib import Path

import phonenumbers
import pytest
import sqlalchemy as sa
from PIL import Image, UnidentifiedImageError
from sqlalchemy.engine import Engine

from shopsync.seed import SeedSummary, seed_database
from shopsync.seed.codes import ean13_check_digit

GOODS = 600
TIMESTAMP_COLUMNS = {"created_at", "updated_at", "changed_at"}
SEEDED_TABLES = (
    "categories", "shop_category_map", "characteristic_kinds", "category_characteristics", "model_groups", "goods",
    "good_characteristics", "warehouses", "stock", "prices", "wholesale_tiers", "photos", "customers",
    "customer_phones", "gift_certificates",
)


# One worker runs them all, so the read-only tests share one seeding.
pytestmark = pytest.mark.xdist_group("seed")
_shared: dict[str, tuple[SeedSummary, str]] = {}


@pytest.fixture(scope="module")
def shared_photos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seed-photos")


@pytest.fixture
def seeded(session_engine: Engine, shared_photos_dir: Path, monkeypatch: pytest.MonkeyPatch) -> SeedSummary:
    """The run's database holding a GOODS-goods seed: seeded on first use, again only if another test replaced it."""
    summary, fingerprint = _shared.get("seed", (None, ""))
    if summary is None or goods_fingerprint(session_engine) != fingerprint:
        monkeypatch.setenv("SHOPSYNC_PHOTOS_DIR", str(shared_photos_dir))
        summary = seed_database(session_engine, goods=GOODS, seed=7)
        _shared["seed"] = (summary, goods_fingerprint(session_engine))
    return summary


@pytest.fixture
def db(seeded: SeedSummary, session_engine: Engine) -> Engine:
    return session_engine


def goods_fingerprint(engine: Engine) -> str:
    with engine.connect() as conn:
        return table_digest(conn, "goods") + table_digest(conn, "photos")


def rows(engine: Engine, sql: str, **params: object) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def table_digest(conn: sa.Connection, table: str) -> str:
    """md5 over the table's rows without timestamps, in a fixed order."""
    columns = conn.execute(sa.text(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = :t ORDER BY ordinal_position"
    ), {"t": table}).scalars().all()
    kept = ", ".join(c for c in columns if c not in TIMESTAMP_COLUMNS and not (table == "change_log" and c == "id"))
    return conn.execute(sa.text(
        f"SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '')"
        f" FROM (SELECT {kept} FROM {table}) r"
    )).scalar_one()


def database_digests(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {table: table_digest(conn, table) for table in (*SEEDED_TABLES, "change_log")}


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*")) if path.is_file()
    }


def test_summary_reports_counts_photo_dir_and_deliberate_defects(seeded: SeedSummary):
    text = "\n".join(seeded.lines())
    assert f"{GOODS:,}" in text
    assert str(seeded.photos_dir) in text
    assert seeded.counts["goods"] == GOODS
    assert seeded.missing_photo_rows >= 1 and seeded.corrupt_photo_rows == 2
    assert "retail price 0" in text


# Catalog ------------------------------------------------------------------------------------------------
def test_category_tree_has_the_five_roots_with_4_to_8_children_and_a_third_level(db: Engine):
    roots = {r.name_ua: r.id for r in rows(db, "SELECT id, name_ua FROM categories WHERE parent_id IS NULL")}
    assert set(roots) == {"Одяг", "Взуття", "Косметика", "Дім", "Електроніка"}
    children = Counter(r.parent_id for r in rows(db, "SELECT parent_id FROM categories"))
    assert all(4 <= children[root_id] <= 8 for root_id in roots.values())
    depth3 = rows(db, "SELECT c.id FROM categories c JOIN categories p ON c.parent_id = p.id"
                          " WHERE p.parent_id IS NOT NULL")
    assert depth3
    leaves = {r.id for r in rows(db, "SELECT id FROM categories c WHERE NOT EXISTS"
                                         " (SELECT 1 FROM categories k WHERE k.parent_id = c.id)")}
    mapped = {r.category_id for r in rows(db, "SELECT category_id FROM shop_category_map WHERE shop_id = 'demo'")}
    assert mapped == leaves
    assert all(r.external_id.isdigit() for r in rows(db, "SELECT external_id FROM shop_category_map"))
    goods_categories = {r.category_id for r in rows(db, "SELECT DISTINCT category_id FROM goods")}
    assert goods_categories <= leaves


def test_hundreds_of_kinds_with_the_torgsoft_slugs(db: Engine):
    kinds = {r.slug: r for r in rows(db, "SELECT slug, name, unit FROM characteristic_kinds")}
    assert len(kinds) >= 200
    assert all(re.fullmatch(r"[a-z0-9_]+", slug) for slug in kinds)
    assert (kinds["material_verha"].name, kinds["material_verha"].unit) == ("Матеріал верху", None)
    assert (kinds["visota_kabluka"].name, kinds["visota_kabluka"].unit) == ("Висота підборів", "см")


def test_characteristics_vary_by_category_and_number_10_to_40_per_good(db: Engine):
    kinds_by_category: dict[int, set[int]] = defaultdict(set)
    for r in rows(db, "SELECT category_id, kind_id FROM category_characteristics"):
        kinds_by_category[r.category_id].add(r.kind_id)
    assert len({frozenset(kinds) for kinds in kinds_by_category.values()}) == len(kinds_by_category)

    per_good = rows(db, """
        SELECT g.id, g.category_id, count(*) AS n, array_agg(gc.kind_id) AS kinds
        FROM goods g JOIN good_characteristics gc ON gc.good_id = g.id GROUP BY g.id, g.category_id""")
    assert len(per_good) == GOODS
    assert all(10 <= r.n <= 40 for r in per_good)
    assert all(set(r.kinds) <= kinds_by_category[r.category_id] for r in per_good)
    assert len({r.n for r in per_good}) > 5
    heel = rows(db, """
        SELECT c.name_ua, count(*) FROM good_characteristics gc
        JOIN characteristic_kinds k ON k.id = gc.kind_id JOIN goods g ON g.id = gc.good_id
        JOIN categories c ON c.id = g.category_id WHERE k.slug = 'visota_kabluka' GROUP BY c.name_ua""")
    assert heel and all(name not in ("Кросівки", "Смартфони", "Сукні") for name, _ in heel)


def test_a_goods_colour_and_size_are_its_characteristics(db: Engine):
    mismatched = rows(db, """
        SELECT g.id FROM goods g JOIN good_characteristics gc ON gc.good_id = g.id
        JOIN characteristic_kinds k ON k.id = gc.kind_id
        WHERE (k.slug = 'tsvet' AND g.color IS NOT NULL AND gc.value <> g.color)
           OR (k.slug = 'razmer' AND gc.value IS DISTINCT FROM g.size)""")
    assert mismatched == []


# Goods --------------------------------------------------------------------------------------------------
def test_goods_have_stable_ids_valid_barcodes_and_short_articles(db: Engine):
    goods = rows(db, "SELECT id, article, barcode, name, name_ua, description, is_active, is_visible,"
                         " sex, prime_cost FROM goods ORDER BY id")
    assert [g.id for g in goods] == list(range(1, GOODS + 1))
    barcodes = [g.barcode for g in goods if g.barcode]
    assert len(barcodes) > GOODS * 0.95 and len(set(barcodes)) == len(barcodes)
    assert all(len(b) == 13 and b.isdigit() and b[-1] == ean13_check_digit(b[:12]) for b in barcodes)
    assert all(g.article and len(g.article) <= 30 for g in goods)
    assert len({g.name for g in goods}) == GOODS
    assert all(g.name and g.name_ua and 0 <= g.sex <= 5 for g in goods)
    assert any(not g.is_active for g in goods) and any(not g.is_visible for g in goods)
    assert sum(g.is_active for g in goods) > GOODS * 0.9


def test_some_descriptions_need_escaping(db: Engine):
    special = rows(db, """SELECT count(*) FROM goods WHERE description ~ '[&<>"'']'""")[0][0]
    assert 0 < special < GOODS * 0.2


def test_goods_of_a_model_group_differ_by_size_and_colour(db: Engine):
    groups = rows(db, """
        SELECT model_group_id, count(*) AS n, count(DISTINCT (size, color)) AS variants,
               count(DISTINCT category_id) AS categories, count(DISTINCT brand) AS brands
        FROM goods WHERE model_group_id IS NOT NULL GROUP BY model_group_id""")
    assert len(groups) > 10
    assert all(g.n == g.variants and g.categories == 1 and g.brands == 1 for g in groups)
    shoe_sizes = {r.size for r in rows(db, """
        SELECT g.size FROM goods g JOIN categories c ON c.id = g.category_id
        JOIN categories p ON p.id = c.parent_id WHERE p.name_ua = 'Черевики' OR c.name_ua = 'Кросівки'""")}
    assert shoe_sizes & {"36", "37", "38", "39", "40", "41"}
    clothes_sizes = {r.size for r in rows(db, "SELECT size FROM goods WHERE category_id IN (103, 105)")}
    assert clothes_sizes & {"S", "M", "L", "XL", "XXL"}


def test_stock_per_warehouse_with_goods_out_of_stock_everywhere(db: Engine):
    warehouses = {r.id: r.code for r in rows(db, "SELECT id, code FROM warehouses")}
    assert {1, 2, 3} <= set(warehouses) and "MAIN" in warehouses.values()
    assert rows(db, "SELECT count(*) FROM stock")[0][0] == GOODS * len(warehouses)
    totals = rows(db, "SELECT good_id, sum(on_hand) AS total FROM stock GROUP BY good_id")
    assert any(t.total == 0 for t in totals) and sum(t.total > 0 for t in totals) > GOODS * 0.8


# Prices -------------------------------------------------------------------------------------------------
def test_prices_old_above_retail_tiers_below_and_a_zero_price_good(db: Engine, seeded: SeedSummary):
    prices = rows(db, """
        SELECT g.id, r.price AS retail, o.price AS old, w.price AS wholesale, g.is_active, g.is_visible
        FROM goods g LEFT JOIN prices r ON r.good_id = g.id AND r.price_type_id = 1
        LEFT JOIN prices o ON o.good_id = g.id AND o.price_type_id = 2
        LEFT JOIN prices w ON w.good_id = g.id AND w.price_type_id = 3""")
    assert all(p.retail is not None for p in prices)
    zero = [p for p in prices if p.retail == 0]
    assert [p.id for p in zero] == seeded.zero_price_goods and len(zero) >= 1
    assert all(p.is_active and p.is_visible for p in zero)
    priced = [p for p in prices if p.retail > 0]
    assert all(100 <= p.retail <= 30000 for p in priced)
    with_old = [p for p in priced if p.old is not None]
    assert 0.05 < len(with_old) / GOODS < 0.3
    assert all(p.old > p.retail for p in with_old)
    assert sum(p.wholesale is not None for p in priced) > GOODS * 0.6
    tiers = defaultdict(list)
    for t in rows(db, "SELECT good_id, min_qty, price FROM wholesale_tiers ORDER BY good_id, min_qty"):
        tiers[t.good_id].append(t)
    assert 0.1 < len(tiers) / GOODS < 0.5
    retail = {p.id: p.retail for p in prices}
    for good_tiers in tiers.values():
        assert 2 <= len(good_tiers) <= 3
        assert all(0 < t.price < retail[t.good_id] for t in good_tiers)
        assert [t.price for t in good_tiers] == sorted((t.price for t in good_tiers), reverse=True)


# Photos -------------------------------------------------------------------------------------------------
def test_photos_are_real_jpegs_except_the_deliberately_broken_ones(db: Engine, seeded: SeedSummary):
    root = seeded.photos_dir
    photos = rows(db, "SELECT good_id, position, original_path, checksum FROM photos")
    per_good = Counter(p.good_id for p in photos)
    assert set(per_good) == set(range(1, GOODS + 1)) and set(per_good.values()) <= {1, 2, 3}
    missing, corrupt, sizes, rotated = [], [], Counter(), 0
    for photo in photos:
        path = root / photo.original_path
        if not path.exists():
            missing.append(photo)
            continue
        assert hashlib.sha256(path.read_bytes()).hexdigest() == photo.checksum
        try:
            with Image.open(path) as image:
                image.load()
                sizes[image.size] += 1
                rotated += image.getexif().get(0x0112) == 6
        except (UnidentifiedImageError, OSError):
            corrupt.append(photo)
    assert len(missing) == seeded.missing_photo_rows >= 1
    assert len(corrupt) == seeded.corrupt_photo_rows == 2
    assert set(sizes) <= {(640, 480), (480, 640), (600, 600)}
    assert sizes[(480, 640)] > 0 and rotated > 0


# Customers and certificates ------------------------------------------------------------------------------
def test_phones_are_typed_in_many_ways_and_normalise_to_e164(db: Engine):
    phones = rows(db, "SELECT customer_id, phone_raw, phone_e164 FROM customer_phones")
    customers = rows(db, "SELECT id FROM customers")
    assert len(customers) >= 200
    assert set(Counter(p.customer_id for p in phones).values()) == {1, 2}
    for phone in phones:
        assert re.fullmatch(r"\+380\d{9}", phone.phone_e164)
        parsed = phonenumbers.parse(phone.phone_raw, "UA")
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == phone.phone_e164
    shapes = {re.sub(r"\d", "9", p.phone_raw) for p in phones}
    assert {"9999999999", "+99 (999) 999-99-99", "999999999999", "999 999 99 99"} <= shapes


def test_customers_look_ukrainian_with_lower_case_emails_and_cards(db: Engine):
    customers = rows(db, "SELECT full_name, email, city, region, zip, np_branch, discount_card,"
                             " discount_percent FROM customers")
    assert all(re.search(r"[А-ЯІЇЄҐа-яіїєґ]", c.full_name) for c in customers)
    assert any(re.search(r"[іїєґ]", c.full_name, re.I) for c in customers)     # Ukrainian letters
    assert any(re.search(r"[ыэъё]", c.full_name, re.I) for c in customers)    # Russian letters
    emails = [c.email for c in customers if c.email]
    assert emails and all(e == e.lower() and "@" in e for e in emails)
    assert any(c.np_branch and c.np_branch.startswith("Відділення №") for c in customers)
    assert all(c.city and c.region and re.fullmatch(r"\d{5}", c.zip) for c in customers)
    cards = [c.discount_card for c in customers if c.discount_card]
    assert 0.25 < len(cards) / len(customers) < 0.55 and len(set(cards)) == len(cards)
    assert {c.discount_percent for c in customers} <= {0, 3, 5, 7, 10}


def test_gift_certificates_expired_and_valid_in_every_status(db: Engine):
    certificates = rows(db, "SELECT barcode, nominal, status, valid_until, used_at FROM gift_certificates")
    assert len(certificates) >= 20
    assert {c.status for c in certificates} == {"active", "used", "blocked"}
    assert {c.nominal for c in certificates} <= {500, 1000, 2000}
    assert len({c.barcode for c in certificates}) == len(certificates)
    today = rows(db, "SELECT current_date")[0][0]
    assert any(c.valid_until < today for c in certificates) and any(c.valid_until > today for c in certificates)
    assert all((c.used_at is not None) == (c.status == "used") for c in certificates)


# Seeding again, elsewhere, or with another seed -------------------------------------------------------------
@pytest.mark.slow
def test_same_seed_gives_identical_tables_and_photo_files_in_two_databases(
    engine: Engine, fresh_database: str, local_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    first_photos, second_photos = local_dir / "photos-a", local_dir / "photos-b"
    monkeypatch.setenv("SHOPSYNC_PHOTOS_DIR", str(first_photos))
    seed_database(engine, goods=400, seed=11)
    monkeypatch.setenv("SHOPSYNC_PHOTOS_DIR", str(second_photos))
    other = sa.create_engine(fresh_database)
    try:
        seed_database(other, goods=400, seed=11)
        assert database_digests(other) == database_digests(engine)
    finally:
        other.dispose()
    first_files = file_digests(first_photos)
    assert len(first_files) > 400
    assert file_digests(second_photos) == first_files


def test_another_seed_gives_other_goods_but_the_same_classifier(engine: Engine, local_dir: Path):
    seed_database(engine, goods=150, seed=1)
    first = database_digests(engine)
    seed_database(engine, goods=150, seed=2)
    second = database_digests(engine)
    for table in ("categories", "characteristic_kinds", "category_characteristics", "shop_category_map"):
        assert first[table] == second[table]
    for table in ("goods", "good_characteristics", "prices", "customers", "customer_phones"):
        assert first[table] != second[table]


def test_reseeding_replaces_the_data_with_the_same_counts(engine: Engine, local_dir: Path):
    first = seed_database(engine, goods=150, seed=3)
    second = seed_database(engine, goods=150, seed=3)
    assert second.counts == first.counts
    counts = {table: rows(engine, f"SELECT count(*) FROM {table}")[0][0] for table in first.counts}
    assert counts == first.counts
    # ids were loaded explicitly: the serial sequences must have moved past them
    with engine.begin() as conn:
        new_id = conn.execute(sa.text("INSERT INTO customers (full_name) VALUES ('Новий Клієнт') RETURNING id"))
        assert new_id.scalar_one() == first.counts["customers"] + 1


def test_foreign_keys_are_back_after_seeding(engine: Engine, local_dir: Path):
    def foreign_keys() -> list[tuple]:
        return [tuple(r) for r in rows(engine, (
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' ORDER BY 1, 2"
        ))]

    before = foreign_keys()
    seed_database(engine, goods=100, seed=5)
    assert foreign_keys() == before
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO stock (good_id, warehouse_id, on_hand) VALUES (999999, 1, 1)"))


def test_invalid_number_of_goods_is_refused(engine: Engine, local_dir: Path):
    with pytest.raises(ValueError, match="at least 1"):
        seed_database(engine, goods=0)
