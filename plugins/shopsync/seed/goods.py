"""Goods: models (one per model group) and their size/colour variants, then the rows of every goods table.

Planning draws models until `goods` variants exist; each model fixes the category, brand, price,
description and characteristic values, each variant (one good) its colour and size. Row builders
walk the plan in good-id order, each with a `random.Random` stream of its own, so a change in how one
table is filled never shifts the values of another.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from shopsync.seed.catalog import Catalog, Category, KindSlot
from shopsync.seed.codes import ean13, money, scatter, transliterate
from shopsync.seed.kinds import (
    FROM_BRAND,
    FROM_COLOUR,
    FROM_COUNTRY,
    FROM_INSOLE,
    FROM_MATERIAL,
    FROM_SEASON,
    FROM_SIZE,
    FROM_SIZE_NUMBER,
    Value,
    insole_length_cm,
)
from shopsync.seed.vocab import (
    BARCODE_PREFIXES,
    COUNTRIES_OF_MANUFACTURE,
    COUNTRY_NAMES_RU,
    ROOT_PROFILES,
    SPECIAL_SENTENCES,
    Brand,
    Colour,
    RootProfile,
)

CHARACTERISTICS_PER_GOOD = (10, 40)
CHARACTERISTICS_MODE = 14          # most goods carry 10-20 characteristics, a few up to 40
ZERO_PRICE_FIRST_ID, ZERO_PRICE_EVERY = 777, 1000
SPECIAL_EVERY = 30                 # one model in 30 has a description that needs escaping
LEADING_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(slots=True)
class Variant:
    good_id: int
    colour: Colour | None
    size: str | None
    size_index: int               # position of the size on the model's axis (price steps for electronics)


@dataclass(slots=True)
class Model:
    index: int
    group_id: int | None          # model_groups.id when the model has two or more variants
    category: Category
    profile: RootProfile
    brand: Brand
    country: str
    code: str                     # "TAM-10023": model number printed on the goods
    sex: int
    season: str | None
    collection: str | None
    material: tuple[str, str]     # (Ukrainian, Russian)
    unit: str
    min_order_qty: str
    retail_cents: int
    prime_ratio: float
    description: str | None
    description_ua: str | None
    characteristics: list[tuple[KindSlot, Value | None]]   # value None: taken from the variant
    variants: list[Variant] = field(default_factory=list)


def zero_price_good_ids(goods: int) -> list[int]:
    """Goods deliberately priced 0 (a bad item for export validation): ids 777, 1777, 2777, ...

    Below 777 goods the last good takes the role, so every seeded database has at least one.
    """
    return list(range(min(ZERO_PRICE_FIRST_ID, goods), goods + 1, ZERO_PRICE_EVERY))


# Planning -----------------------------------------------------------------------------------------------
def plan_models(catalog: Catalog, goods: int, seed: int) -> list[Model]:
    rng = random.Random(f"{seed}:models")
    roots = list(ROOT_PROFILES)
    root_weights = [ROOT_PROFILES[root].weight for root in roots]
    models: list[Model] = []
    next_good_id, next_group_id = 1, 1
    while next_good_id <= goods:
        root = rng.choices(roots, root_weights)[0]
        model, axes = plan_model(len(models), rng.choice(catalog.leaves_by_root[root]), catalog, rng)
        for colour, size, size_index in axes[: goods - next_good_id + 1]:
            model.variants.append(Variant(next_good_id, colour, size, size_index))
            next_good_id += 1
        if len(model.variants) > 1:
            model.group_id = next_group_id
            next_group_id += 1
        models.append(model)
    return models


Axis = tuple[Colour | None, str | None, int]   # (colour, size, position of the size in the model's run)


def plan_model(index: int, category: Category, catalog: Catalog, rng: random.Random) -> tuple[Model, list[Axis]]:
    """A model and the colour x size combinations its goods take."""
    profile = ROOT_PROFILES[category.root]
    brand = rng.choice(profile.brands)
    country = brand.country if rng.random() < 0.55 else rng.choice(COUNTRIES_OF_MANUFACTURE)
    node = category.node
    sex = rng.choice(node.sexes or profile.sexes)
    material = rng.choice(node.materials or profile.materials)
    prefix = re.sub(r"[^A-Z0-9]", "", transliterate(brand.name).upper())[:3]
    model = Model(
        index=index,
        group_id=None,
        category=category,
        profile=profile,
        brand=brand,
        country=country,
        code=f"{prefix}-{10000 + index}",
        sex=sex,
        season=rng.choice(profile.seasons) or None,
        collection=rng.choice(profile.collections) or None,
        material=material,
        unit="компл" if node.key == "bedding" else profile.unit,
        min_order_qty=rng.choices(("1", "2", "5", "10"), (94, 3, 2, 1))[0],
        retail_cents=retail_price(node.price, rng) * 100,
        prime_ratio=rng.uniform(0.42, 0.68),
        description=None,
        description_ua=None,
        characteristics=[],
    )
    model.description, model.description_ua = describe(model, rng)
    axes = variant_axes(model, rng)
    colour, size, _ = axes[0]
    model.characteristics = choose_characteristics(
        catalog, category, rng, lambda slot: can_fill(slot, model.season, colour, size))
    return model, axes


def retail_price(price_range: tuple[int, int], rng: random.Random) -> int:
    """Whole hryvnias, log-uniform in the range, ending in 9 the way shops price (149, 1499)."""
    low, high = price_range
    price = math.exp(rng.uniform(math.log(low), math.log(high)))
    step = 10 if price < 1000 else 100
    return max(low, min(high, int(round(price / step)) * step - 1))


def variant_axes(model: Model, rng: random.Random) -> list[Axis]:
    """Colour x size combinations of a model: a run of consecutive sizes, a few colours."""
    node, profile = model.category.node, model.profile
    sizes_axis = node.sizes if node.sizes is not None else profile.sizes_by_sex.get(
        model.sex, profile.sizes_by_sex[-1])
    colours_axis = node.colours if node.colours is not None else profile.colours
    sizes: list[tuple[str | None, int]] = [(None, 0)]
    if sizes_axis:
        length = min(len(sizes_axis), rng.randint(*profile.sizes_per_model))
        start = rng.randrange(len(sizes_axis) - length + 1)
        sizes = [(sizes_axis[i], i - start) for i in range(start, start + length)]
    colours: list[Colour | None] = [None]
    if colours_axis:
        colours = rng.sample(colours_axis, min(len(colours_axis), rng.randint(*profile.colours_per_model)))
    return [(colour, size, size_index) for colour in colours for size, size_index in sizes]


def choose_characteristics(catalog: Catalog, category: Category, rng: random.Random,
                           fillable: Callable[[KindSlot], bool]) -> list[tuple[KindSlot, Value | None]]:
    """The kinds a model's goods carry (10-40 of the category's set) with the model-wide values fixed."""
    kinds = catalog.category_kinds[category.id]
    always = [slot for slot in kinds.always if fillable(slot)]
    optional = [slot for slot in kinds.optional if fillable(slot)]
    low, high = CHARACTERISTICS_PER_GOOD
    wanted = min(len(always) + len(optional), high, max(low, round(rng.triangular(low, high, CHARACTERISTICS_MODE))))
    chosen = sorted(always + rng.sample(optional, max(0, wanted - len(always))), key=lambda slot: slot.kind_id)
    return [(slot, None if slot.source else rng.choice(slot.values)) for slot in chosen]


def can_fill(slot: KindSlot, season: str | None, colour: Colour | None, size: str | None) -> bool:
    """Whether a kind has a value for goods of this season, colour and size (sizes and colours of a model
    are all set or all unset)."""
    if slot.source == FROM_COLOUR:
        return colour is not None or bool(slot.values)
    if slot.source == FROM_SIZE:
        return size is not None
    if slot.source == FROM_INSOLE:
        return size is not None and size.isdigit()
    if slot.source == FROM_SEASON:
        return season is not None or bool(slot.values)
    return True


def describe(model: Model, rng: random.Random) -> tuple[str | None, str | None]:
    """(Russian, Ukrainian) description: 2-4 phrases; ~2% lack the Ukrainian one.

    Every SPECIAL_EVERY-th model (indexes 3, 33, 63, ...) adds a phrase with & < > " ' for feeds to escape,
    so any seed with a few models has some.
    """
    node = model.category.node
    fields = {
        "item": node.item, "item_ua": node.item_ua, "brand": model.brand.name,
        "material": model.material[0], "material_ru": model.material[1],
        "country": model.country, "country_ru": COUNTRY_NAMES_RU.get(model.country, model.country),
    }
    first, *others = model.profile.sentences
    chosen = [first] + rng.sample(others, rng.randint(1, min(3, len(others))))
    if model.index % SPECIAL_EVERY == 3:
        chosen.append(SPECIAL_SENTENCES[model.index // SPECIAL_EVERY % len(SPECIAL_SENTENCES)])
    russian = " ".join(ru.format(**fields) for ru, _ in chosen)
    ukrainian = " ".join(ua.format(**fields) for _, ua in chosen)
    return russian, (ukrainian if rng.random() >= 0.02 else None)


# Rows ---------------------------------------------------------------------------------------------------
MODEL_GROUP_COLUMNS = ["id", "name"]
GOOD_COLUMNS = [
    "id", "article", "barcode", "name", "name_ua", "short_name", "description", "description_ua", "brand",
    "country", "collection", "category_id", "model_group_id", "size", "color", "season", "sex", "unit",
    "min_order_qty", "prime_cost", "supplier_code", "is_active", "is_visible",
]
CHARACTERISTIC_COLUMNS = ["good_id", "kind_id", "value", "unit"]


def model_group_rows(models: list[Model]) -> Iterator[tuple]:
    for model in models:
        if model.group_id is not None:
            yield (model.group_id, f"{model.category.node.item_ua} {model.brand.name} {model.code}")


def good_rows(models: list[Model], seed: int) -> Iterator[tuple]:
    """~2% inactive (withdrawn), ~3% hidden, ~1% without barcode; zero-price goods stay active and visible."""
    rng = random.Random(f"{seed}:goods")
    zero_price = set(zero_price_good_ids(last_good_id(models)))
    for model in models:
        node = model.category.node
        for variant in model.variants:
            flagged = variant.good_id in zero_price
            cents = variant_retail_cents(model, variant)
            yield (
                variant.good_id,
                article(model, variant),
                barcode(model, variant) if rng.random() >= 0.01 else None,
                good_name(node.item, model, variant, russian=True),
                good_name(node.item_ua, model, variant, russian=False),
                f"{node.item} {model.brand.name}",
                model.description,
                model.description_ua,
                model.brand.name,
                model.country,
                model.collection,
                model.category.id,
                model.group_id,
                variant.size,
                variant.colour.name_ua if variant.colour else None,
                model.season,
                model.sex,
                model.unit,
                model.min_order_qty,
                money(round(cents * model.prime_ratio)),
                model.brand.supplier,
                flagged or rng.random() >= 0.02,
                flagged or rng.random() >= 0.03,
            )


def good_name(item: str, model: Model, variant: Variant, russian: bool) -> str:
    details = []
    if variant.colour is not None:
        details.append(variant.colour.name if russian else variant.colour.name_ua)
    if variant.size is not None:
        details.append(variant.size)
    name = f"{item} {model.brand.name} {model.code}"
    return f"{name} ({', '.join(details)})" if details else name


def article(model: Model, variant: Variant) -> str:
    parts = [model.code]
    if variant.colour is not None:
        parts.append(variant.colour.code)
    if variant.size is not None:
        parts.append(re.sub(r"[^0-9A-Z]", "", transliterate(variant.size).upper())[:6])
    return "-".join(parts)[:30]


def barcode(model: Model, variant: Variant) -> str:
    prefix = BARCODE_PREFIXES.get(model.country, "482")
    return ean13(prefix, scatter(variant.good_id, 12 - len(prefix)))


def characteristic_rows(models: list[Model]) -> Iterator[tuple]:
    """(good_id, kind_id, value, unit override): model-wide values plus the variant's own colour and size."""
    for model in models:
        for variant in model.variants:
            good_id = variant.good_id
            for slot, fixed in model.characteristics:
                value = fixed if fixed is not None else value_from_good(slot, model, variant)
                yield (good_id, slot.kind_id, value[0], value[1])


def value_from_good(slot: KindSlot, model: Model, variant: Variant) -> Value:
    source = slot.source
    if source == FROM_COLOUR:
        if variant.colour is not None:
            return variant.colour.name_ua, None
        return slot.values[model.index % len(slot.values)]
    if source == FROM_SIZE:
        return variant.size, None
    if source == FROM_SIZE_NUMBER:
        number = LEADING_NUMBER.match(variant.size or "")
        return (number.group(), None) if number else slot.values[model.index % len(slot.values)]
    if source == FROM_INSOLE:
        return f"{insole_length_cm(variant.size):.1f}", None
    if source == FROM_SEASON:
        return (model.season, None) if model.season else slot.values[0]
    if source == FROM_BRAND:
        return model.brand.name, None
    if source == FROM_COUNTRY:
        return model.country, None
    if source == FROM_MATERIAL:
        return model.material[0], None
    raise ValueError(f"unknown characteristic source {source!r}")


# Stock and prices ---------------------------------------------------------------------------------------
WAREHOUSE_COLUMNS = ["id", "code", "name", "is_active"]
WAREHOUSES = [
    (1, "MAIN", "Основний склад", True),
    (2, "SHOP1", "Магазин на Хрещатику", True),
    (3, "PARTNER", "Склад партнера (дропшипінг)", True),
]
STOCK_COLUMNS = ["good_id", "warehouse_id", "on_hand"]
# Per warehouse: (share of goods with nothing there, largest quantity).
STOCK_SHAPE = {1: (0.25, 60), 2: (0.45, 12), 3: (0.55, 150)}
PRICE_COLUMNS = ["good_id", "price_type_id", "currency", "price"]
TIER_COLUMNS = ["good_id", "currency", "min_qty", "price"]
RETAIL, OLD, WHOLESALE = 1, 2, 3
TIER_STEPS = ((3, 3), (5, 5), (10, 8), (20, 10), (50, 15))    # (from quantity, percent off retail)


def variant_retail_cents(model: Model, variant: Variant) -> int:
    """Electronics cost more per step of their size axis (memory, diagonal); other variants share a price."""
    if model.category.root == "electronics" and variant.size_index:
        return round(model.retail_cents * (1 + 0.3 * variant.size_index) / 10000) * 10000 - 100
    return model.retail_cents


def stock_rows(models: list[Model], seed: int) -> Iterator[tuple]:
    """A row per good and warehouse; ~7% of goods have nothing anywhere; ~0.3% of quantities are fractional."""
    rng = random.Random(f"{seed}:stock")
    zero_price = set(zero_price_good_ids(last_good_id(models)))
    for model in models:
        for variant in model.variants:
            nowhere = variant.good_id not in zero_price and rng.random() < 0.07
            for warehouse_id, (empty_share, largest) in STOCK_SHAPE.items():
                quantity = 0 if nowhere or rng.random() < empty_share else rng.randint(1, largest)
                if variant.good_id in zero_price and warehouse_id == 1:
                    quantity = max(quantity, 5)
                on_hand = f"{quantity}.5" if quantity and rng.random() < 0.003 else str(quantity)
                yield (variant.good_id, warehouse_id, on_hand)


def price_rows(models: list[Model], seed: int) -> tuple[list[tuple], list[tuple]]:
    """(prices rows, wholesale_tiers rows).

    Retail for every good (0 for zero_price_good_ids); per model: ~15% promo with an old price above
    retail, ~85% a wholesale price, ~30% quantity tiers (2-3 steps such as from 5 -5%, from 20 -10%).
    """
    rng = random.Random(f"{seed}:prices")
    zero_price = set(zero_price_good_ids(last_good_id(models)))
    prices: list[tuple] = []
    tiers: list[tuple] = []
    for model in models:
        old_factor = rng.uniform(1.15, 1.6) if rng.random() < 0.15 else None
        wholesale_factor = rng.uniform(0.75, 0.9) if rng.random() < 0.85 else None
        tier_steps = sorted(rng.sample(TIER_STEPS, rng.randint(2, 3))) if rng.random() < 0.3 else []
        for variant in model.variants:
            good_id = variant.good_id
            if good_id in zero_price:
                prices.append((good_id, RETAIL, "UAH", "0.00"))
                continue
            retail = variant_retail_cents(model, variant)
            prices.append((good_id, RETAIL, "UAH", money(retail)))
            if old_factor is not None:
                prices.append((good_id, OLD, "UAH", money(old_price_cents(retail, old_factor))))
            if wholesale_factor is not None:
                prices.append((good_id, WHOLESALE, "UAH", money(round(retail * wholesale_factor / 100) * 100)))
            for quantity, percent in tier_steps:
                tiers.append((good_id, "UAH", quantity, money(round(retail * (100 - percent) / 100))))
    return prices, tiers


def old_price_cents(retail_cents: int, factor: float) -> int:
    """A pre-promo price ending in 9 UAH, always above retail."""
    whole = int(retail_cents * factor / 100)
    return max((whole // 10) * 10 + 9, retail_cents // 100 + 9) * 100


def last_good_id(models: list[Model]) -> int:
    return models[-1].variants[-1].good_id if models else 0
