"""YML feeds (yml, rozetka_yml, prom_yml): parsed back with a non-resolving lxml parser."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from lxml import etree
from test_feeds_base import full_item, make_ctx, make_item, write_feed

from shopsync.catalog.columns import batch_from_items
from shopsync.catalog.feeds import get_writer
from shopsync.catalog.feeds.base import (
    CountingStream,
    format_money,
    format_quantity,
    write_batches,
)
from shopsync.catalog.model import CatalogItem, Category, Characteristic, FeedContext, WholesaleTier
from shopsync.core.config import FeedSettings

YML_PROFILES = ("yml", "rozetka_yml", "prom_yml")
OLD_PRICE_TAG = {"yml": "oldprice", "rozetka_yml": "price_old", "prom_yml": "oldprice"}
STOCK_TAG = {"yml": "stock_quantity", "rozetka_yml": "stock_quantity", "prom_yml": "quantity_in_stock"}


def parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


def offers(data: bytes) -> dict[str, etree._Element]:
    return {offer.get("id"): offer for offer in parse(data).iterfind("shop/offers/offer")}


def one_offer(profile: str, item: CatalogItem) -> etree._Element:
    (offer,) = offers(write_feed(profile, [item])[0]).values()
    return offer


# --- document ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", YML_PROFILES)
def test_document_head_and_shop(profile: str) -> None:
    data, stats = write_feed(profile, [make_item()])
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<yml_catalog date="2025-03-04 05:06">')
    root = parse(data)
    assert root.tag == "yml_catalog"
    assert [child.tag for child in root.find("shop")] == ["name", "company", "url", "currencies", "categories",
                                                         "offers"]
    assert root.findtext("shop/name") == "Демо & Ко"
    assert root.findtext("shop/company") == "ТОВ «Демо»"
    assert root.findtext("shop/url") == "https://shop.example"
    assert [dict(c.attrib) for c in root.iterfind("shop/currencies/currency")] == [{"id": "UAH", "rate": "1"}]
    assert stats.bytes == len(data)


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_categories_sorted_by_id_with_parent(profile: str) -> None:
    categories = parse(write_feed(profile, [])[0]).findall("shop/categories/category")
    assert [(c.get("id"), c.get("parentId"), c.text) for c in categories] == [
        ("1", None, "Взуття"), ("2", "1", "Балетки"), ("10", "1", "Туфлі")]


def test_rozetka_categories_carry_rz_id_where_mapped() -> None:
    categories = parse(write_feed("rozetka_yml", [])[0]).findall("shop/categories/category")
    assert [c.get("rz_id") for c in categories] == ["4634825", None, "77"]


@pytest.mark.parametrize("profile", ["yml", "prom_yml"])
def test_other_profiles_have_no_rz_id(profile: str) -> None:
    assert b"rz_id" not in write_feed(profile, [])[0]


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_only_visible_items_are_offers(profile: str) -> None:
    rows = [make_item(1), make_item(2, visible=False), make_item(3)]
    data, stats = write_feed(profile, rows)
    assert list(offers(data)) == ["1", "3"]
    assert (stats.rows, stats.skipped) == (2, 1)


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_available_follows_free_stock(profile: str) -> None:
    data, _ = write_feed(profile, [make_item(1, free_stock=2), make_item(2, free_stock=0)])
    assert {id_: offer.get("available") for id_, offer in offers(data).items()} == {"1": "true", "2": "false"}


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_output_is_deterministic(profile: str) -> None:
    rows = [full_item(), make_item(8), make_item(9, visible=False)]
    assert write_feed(profile, rows)[0] == write_feed(profile, iter(rows))[0]


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_empty_feed_is_well_formed(profile: str) -> None:
    data, stats = write_feed(profile, [])
    assert parse(data).find("shop/offers") is not None
    assert stats.rows == 0


def test_offers_are_written_while_rows_still_arrive() -> None:
    """Streaming: most of the file is out before the last row is produced (nothing collects the offers)."""
    stream_sizes: list[int] = []

    class Recorder:
        def __init__(self) -> None:
            self.size = 0

        def write(self, data: bytes) -> int:
            self.size += len(data)
            return len(data)

    out = Recorder()

    def rows() -> Iterator[CatalogItem]:
        for good_id in range(1, 3001):
            yield make_item(good_id)
        stream_sizes.append(out.size)

    stats = get_writer("rozetka_yml").write(rows(), out, make_ctx(), FeedSettings(profile="rozetka_yml"))
    assert stream_sizes[0] > 0.9 * stats.bytes


# --- offer content -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", YML_PROFILES)
def test_contract_elements(profile: str) -> None:
    """The element names the validation module reads."""
    offer = one_offer(profile, full_item())
    assert offer.get("id") == "7"
    assert offer.findtext("price") == "1958.36"
    assert offer.findtext(OLD_PRICE_TAG[profile]) == "2448.00"
    assert offer.findtext(STOCK_TAG[profile]) == "5"
    assert offer.findtext("categoryId") == "2"
    assert offer.findtext("name") == "Туфлі Ліра чорні 38"
    assert [p.text for p in offer.iterfind("picture")] == ["https://shop.example/photos/7_1.jpg",
                                                           "https://shop.example/photos/7_2.jpg"]


@pytest.mark.parametrize("profile", YML_PROFILES)
@pytest.mark.parametrize("old_price", [None, Decimal("1958.36"), Decimal("1000")])
def test_old_price_only_when_above_price(profile: str, old_price: Decimal | None) -> None:
    offer = one_offer(profile, make_item(1, old_price=old_price))
    assert offer.find(OLD_PRICE_TAG[profile]) is None
    assert offer.findtext("price") == "1958.36"


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_item_without_price_has_no_price_element(profile: str) -> None:
    offer = one_offer(profile, make_item(1, price=None, old_price=Decimal(10)))
    assert offer.find("price") is None and offer.find(OLD_PRICE_TAG[profile]) is None


def test_generic_yml_offer_in_dtd_order() -> None:
    offer = one_offer("yml", full_item())
    assert [child.tag for child in offer] == [
        "url", "price", "oldprice", "currencyId", "categoryId", "picture", "picture", "name", "vendor",
        "vendorCode", "description", "country_of_origin", "barcode", "stock_quantity",
        "param", "param", "param", "param", "param"]
    assert offer.findtext("url") == "https://shop.example/product/7"
    assert (offer.findtext("currencyId"), offer.findtext("vendor"), offer.findtext("vendorCode")) == \
        ("UAH", "Ліра", "ART-7")
    assert (offer.findtext("country_of_origin"), offer.findtext("barcode")) == ("Україна", "4820000000017")


def test_rozetka_offer_elements() -> None:
    offer = one_offer("rozetka_yml", full_item())
    assert [child.tag for child in offer][:14] == [
        "url", "price", "price_old", "currencyId", "categoryId", "picture", "picture", "vendor", "article",
        "stock_quantity", "name", "name_ua", "description", "description_ua"]
    assert (offer.findtext("article"), offer.findtext("name_ua")) == ("ART-7", "Туфлі Ліра")
    assert offer.find("oldprice") is None


def test_rozetka_descriptions_are_cdata() -> None:
    data, _ = write_feed("rozetka_yml", [full_item()])
    assert b"<description><![CDATA[<p>\xd0\xa8" in data
    assert "<description_ua><![CDATA[<p>Опис</p>]]></description_ua>".encode() in data
    assert one_offer("rozetka_yml", full_item()).findtext("description") == "<p>Шкіряні туфлі</p>"


@pytest.mark.parametrize("profile", ["rozetka_yml", "prom_yml"])
def test_description_containing_cdata_end_stays_well_formed_and_exact(profile: str) -> None:
    text = "<p>a]]>b</p> ]]> <![CDATA[x]]>"
    data, _ = write_feed(profile, [make_item(1, description=text, description_ua="<b>ок</b>")])
    offer = offers(data)["1"]
    assert offer.findtext("description") == text
    assert offer.findtext("description_ua") == "<b>ок</b>"
    assert "<description_ua><![CDATA[<b>ок</b>]]>".encode() in data


def test_name_ua_left_out_when_not_set() -> None:
    assert one_offer("rozetka_yml", make_item(1, name_ua=None)).find("name_ua") is None


def test_prom_offer_elements_and_attributes() -> None:
    offer = one_offer("prom_yml", full_item())
    assert dict(offer.attrib) == {"id": "7", "available": "true", "selling_type": "u", "group_id": "70"}
    assert [child.tag for child in offer][:16] == [
        "price", "oldprice", "currencyId", "categoryId", "picture", "picture", "name", "name_ua", "vendor",
        "vendorCode", "description", "description_ua", "quantity_in_stock", "presence", "prices", "param"]
    assert offer.findtext("presence") == "available"
    assert offer.find("url") is None


def test_prom_wholesale_tiers() -> None:
    offer = one_offer("prom_yml", full_item())
    assert [(p.findtext("value"), p.findtext("quantity")) for p in offer.iterfind("prices/price")] == [
        ("1800.00", "5"), ("1700.50", "20")]


def test_prom_retail_only_item() -> None:
    offer = one_offer("prom_yml", make_item(1, free_stock=0))
    assert dict(offer.attrib) == {"id": "1", "available": "false", "selling_type": "r"}
    assert offer.find("prices") is None
    assert (offer.findtext("presence"), offer.findtext("quantity_in_stock")) == ("not_available", "0")


def test_prom_marketplace_category_from_the_mapping() -> None:
    assert one_offer("prom_yml", make_item(1, category_id=10)).findtext("portal_category_id") == "77"
    assert one_offer("prom_yml", make_item(1, category_id=2)).find("portal_category_id") is None


def test_prom_descriptions_are_cdata() -> None:
    assert b"<description><![CDATA[<p>" in write_feed("prom_yml", [make_item()])[0]


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_params_with_and_without_unit(profile: str) -> None:
    item = make_item(1, characteristics=[
        Characteristic("Колір", "чорний", None, "kolir"), Characteristic("Висота підборів", "7", "см", "visota"),
        Characteristic("Порожня", "", None, "empty")])
    params = one_offer(profile, item).findall("param")
    assert [(dict(p.attrib), p.text) for p in params] == [
        ({"name": "Колір"}, "чорний"), ({"name": "Висота підборів", "unit": "см"}, "7")]


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_item_without_category_has_no_category_id(profile: str) -> None:
    assert one_offer(profile, make_item(1, category_id=None)).find("categoryId") is None


# --- escaping and illegal characters -------------------------------------------------------------------------

SPECIAL = "Tom & Jerry <b>\"quoted\"</b> it's > 5"


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_special_characters_are_escaped_and_read_back_exactly(profile: str) -> None:
    item = make_item(1, name=SPECIAL, brand="A&B", characteristics=[Characteristic('Розмір "EU"', "<38>", "&", "r")])
    data, _ = write_feed(profile, [item])
    offer = offers(data)["1"]
    assert offer.findtext("name") == SPECIAL
    assert offer.findtext("vendor") == "A&B"
    param = offer.find("param")
    assert (param.get("name"), param.get("unit"), param.text) == ('Розмір "EU"', "&", "<38>")
    assert b"<name>Tom &amp; Jerry &lt;b&gt;" in data
    assert 'name="Розмір &quot;EU&quot;"'.encode() in data


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_control_characters_are_removed_tab_and_newlines_kept(profile: str) -> None:
    dirty = "A\x00B\x01C\x08D\x0bE\x0cF\x1fG\tH\nI\rJ\ufffeK"
    item = make_item(1, name=dirty, description=dirty, brand="\x02Ліра",
                     characteristics=[Characteristic("Колір\x03", "чорний\x1b", None, "kolir")])
    data, _ = write_feed(profile, [item], ctx=make_ctx(shop_name="Shop\x07"))
    root = parse(data)
    offer = root.find("shop/offers/offer")
    clean = "ABCDEFG\tH\nI\rJK"
    assert offer.findtext("name") == clean                       # lxml writes CR as &#13;: it survives
    assert offer.findtext("description") in (clean, clean.replace("\r", "\n"))   # a raw CR in CDATA reads as LF
    assert offer.findtext("vendor") == "Ліра"
    assert (offer.find("param").get("name"), offer.find("param").text) == ("Колір", "чорний")
    assert root.findtext("shop/name") == "Shop"


def test_counting_stream_counts_what_passes() -> None:
    class Sink:
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        def write(self, data: bytes) -> int:
            self.parts.append(data)
            return len(data)

    sink = Sink()
    stream = CountingStream(sink)
    stream.write(b"abc")
    stream.write("ї".encode())
    assert stream.count == 5 and b"".join(sink.parts) == "abcї".encode()


# --- columnar rendering: randomized values with everything XML can trip over ---------------------------------
#
# The writers render with pyarrow kernels (escaping, cleaning, CDATA, lists re-nested per good). These tests
# build random items from nasty pieces, parse the output back, and compare every offer with what the rules in
# the yml module docstring say it must contain (a small reference model in Python, item by item).

NASTY_PIECES = ["&", "<", ">", '"', "'", "]]>", "]]", "]", "\x01", "\x0b", "\x00", "\x1f", "\x0c", "\t", "\r", "\n",
                "\r\n", "\ufffe", "\uffff", "😀", "é", "Ї", " ", "a", "7", "\x7f", "\x85", "\u2028", "<![CDATA[",
                "&amp;", "&#13;", "\ufdd0", "\U0010fffd", "Туфлі"]
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def nasty(rng: random.Random, allow_none: bool = True) -> str | None:
    roll = rng.random()
    if allow_none and roll < 0.1:
        return None
    if roll < 0.18:
        return ""
    if roll < 0.24:   # control characters only: an empty element
        return "".join(rng.choice(["\x01", "\x0b", "\ufffe", "\x1f"]) for _ in range(rng.randint(1, 3)))
    return "".join(rng.choice(NASTY_PIECES) for _ in range(rng.randint(1, 12)))


def random_money(rng: random.Random) -> Decimal:
    return Decimal(rng.choice([0, 1, -1, -500, 539900, 12345678901234, rng.randint(-10 ** 6, 10 ** 9)])) / 100


def random_ctx(rng: random.Random) -> FeedContext:
    categories = {
        category_id: Category(id=category_id, parent_id=rng.choice([None, 1]), name=nasty(rng, False) or "x",
                              name_ua=None, path=(), external_id=rng.choice([None, "", "4634825", nasty(rng, False)]))
        for category_id in (1, 2, 10, 10203)}
    return make_ctx(shop_name=nasty(rng, False), url=rng.choice(["https://shop.example/", "https://a.b/?x=1&y=<2>"]),
                    currency=rng.choice(["UAH", "U&H"]), categories=categories)


def random_item(rng: random.Random, good_id: int) -> CatalogItem:
    price = rng.choice([None, random_money(rng), random_money(rng)])
    old_price = rng.choice([None, random_money(rng), price, price + Decimal("0.01") if price is not None else None])
    return make_item(
        good_id, name=nasty(rng, False), price=price, old_price=old_price, free_stock=rng.choice([0, 1, 3, 1000]),
        category_id=rng.choice([None, 1, 2, 10, 10203, 999]), article=nasty(rng), barcode=nasty(rng),
        name_ua=nasty(rng), description=nasty(rng), description_ua=nasty(rng), brand=nasty(rng), country=nasty(rng),
        model_group_id=rng.choice([None, 0, 70, 123456789]), visible=rng.random() > 0.15,
        characteristics=[Characteristic(nasty(rng, False), nasty(rng, False), rng.choice([None, "", "см", nasty(rng)]),
                                        "slug") for _ in range(rng.randint(0, 5))],
        wholesale_tiers=[WholesaleTier(Decimal(rng.choice([1, 5, 20, 2500, 1234567])) / rng.choice([1, 2, 8, 1000]),
                                       random_money(rng)) for _ in range(rng.choice([0, 0, 1, 3]))],
        pictures=[rng.choice(["", "https://p.example/detail/a.jpg", nasty(rng, False)])
                  for _ in range(rng.randint(0, 3))],
    )


def clean(text: str) -> str:
    return XML_ILLEGAL.sub("", text)


def read_back_cdata(text: str) -> str:
    """A parser turns CR LF and lone CR inside CDATA into LF (outside CDATA lxml writes CR as &#13;)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def expected_offer(profile: str, item: CatalogItem, ctx: FeedContext) -> tuple[dict[str, str], list[tuple]]:
    """The offer's attributes and its children as (tag, attributes, text), per the module's rules."""
    children: list[tuple] = []

    def add(tag: str, value: str | None) -> None:
        if value:
            children.append((tag, {}, clean(value)))

    def add_description(tag: str, value: str | None) -> None:
        if value and profile == "yml":
            add(tag, value)
        elif value:
            cleaned = clean(value)
            children.append((tag, {}, cleaned if "]]>" in cleaned else read_back_cdata(cleaned)))

    def money(value: Decimal | None) -> str | None:
        return None if value is None else format_money(value)

    promo = item.price is not None and item.old_price is not None and item.old_price > item.price
    category = ctx.categories.get(item.category_id) if item.category_id is not None else None
    in_stock = item.free_stock > 0
    if profile != "prom_yml":
        add("url", f"{ctx.url.rstrip('/')}/product/{item.good_id}")
    add("price", money(item.price))
    add(OLD_PRICE_TAG[profile], money(item.old_price) if promo else None)
    add("currencyId", ctx.currency)
    add("categoryId", None if item.category_id is None else str(item.category_id))
    if profile == "prom_yml":
        add("portal_category_id", category.external_id if category else None)
    for url in item.pictures:
        add("picture", url)
    fields = {
        "yml": [("name", item.name), ("vendor", item.brand), ("vendorCode", item.article),
                ("description", item.description), ("country_of_origin", item.country),
                ("barcode", item.barcode), ("stock_quantity", str(item.free_stock))],
        "rozetka_yml": [("vendor", item.brand), ("article", item.article), ("stock_quantity", str(item.free_stock)),
                        ("name", item.name), ("name_ua", item.name_ua), ("description", item.description),
                        ("description_ua", item.description_ua)],
        "prom_yml": [("name", item.name), ("name_ua", item.name_ua), ("vendor", item.brand),
                     ("vendorCode", item.article), ("description", item.description),
                     ("description_ua", item.description_ua), ("quantity_in_stock", str(item.free_stock)),
                     ("presence", "available" if in_stock else "not_available")],
    }[profile]
    for tag, value in fields:
        (add_description if tag.startswith("description") else add)(tag, value)
    if profile == "prom_yml" and item.wholesale_tiers:
        children.append(("prices", {}, [(format_money(t.price), format_quantity(t.min_qty))
                                        for t in item.wholesale_tiers]))
    for characteristic in item.characteristics:
        value = clean(characteristic.value)
        if value:
            attributes = {"name": clean(characteristic.name)}
            if characteristic.unit:
                attributes["unit"] = clean(characteristic.unit)
            children.append(("param", attributes, value))
    attributes = {"id": str(item.good_id), "available": "true" if in_stock else "false"}
    if profile == "prom_yml":
        attributes["selling_type"] = "u" if item.wholesale_tiers else "r"
        if item.model_group_id is not None:
            attributes["group_id"] = str(item.model_group_id)
    return attributes, children


def parsed_offer(offer: etree._Element) -> tuple[dict[str, str], list[tuple]]:
    children: list[tuple] = []
    for child in offer:
        if child.tag == "prices":
            children.append(("prices", {}, [(p.findtext("value"), p.findtext("quantity")) for p in child]))
        else:
            children.append((child.tag, dict(child.attrib), child.text or ""))
    return dict(offer.attrib), children


@pytest.mark.parametrize("profile", YML_PROFILES)
@pytest.mark.parametrize("seed", range(4))
def test_random_nasty_values_read_back_exactly(profile: str, seed: int) -> None:
    rng = random.Random(seed)
    ctx = random_ctx(rng)
    items = [random_item(rng, good_id) for good_id in range(1, 76)]
    data, stats = write_feed(profile, items, ctx=ctx)
    root = parse(data)
    assert root.findtext("shop/name") == clean(ctx.shop_name)
    parsed = {offer.get("id"): offer for offer in root.iterfind("shop/offers/offer")}
    visible = [item for item in items if item.visible]
    assert list(parsed) == [str(item.good_id) for item in visible]
    assert (stats.rows, stats.skipped, stats.bytes) == (len(visible), len(items) - len(visible), len(data))
    for item in visible:
        assert parsed_offer(parsed[str(item.good_id)]) == expected_offer(profile, item, ctx), item


@pytest.mark.parametrize("profile", ["rozetka_yml", "prom_yml"])
def test_descriptions_are_cdata_unless_they_contain_its_end(profile: str) -> None:
    items = [make_item(1, description="<p>a & b\x01</p>", description_ua="x]]\x0b>y"),
             make_item(2, description="\x01\x02", description_ua="")]
    data, _ = write_feed(profile, items)
    assert b"<description><![CDATA[<p>a & b</p>]]></description>" in data
    assert b"<description_ua>x]]&gt;y</description_ua>" in data          # "]]>" only after cleaning
    assert b"<description><![CDATA[]]></description>" in data            # control characters only
    assert offers(data)["2"].find("description_ua") is None


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_escaping_matches_lxml_byte_for_byte(profile: str) -> None:
    """Text: & < > and CR as entities; attributes also " TAB LF CR; ' stays literal everywhere."""
    item = make_item(1, name="a&b<c>d\"e'f\tg\nh\ri", brand="\x01",
                     characteristics=[Characteristic("n&<>\"'\t\n\r", "v&<>\"'\t\n\r", "u\t\"", "s"),
                                      Characteristic("only control", "\x01\x0b", "см", "s")])
    data, _ = write_feed(profile, [item])
    assert b"<name>a&amp;b&lt;c&gt;d\"e'f\tg\nh&#13;i</name>" in data
    assert b"<vendor></vendor>" in data
    assert (b'<param name="n&amp;&lt;&gt;&quot;\'&#9;&#10;&#13;" unit="u&#9;&quot;">'
            b"v&amp;&lt;&gt;\"'\t\n&#13;</param>\n</offer>\n") in data


def test_prom_tier_quantities_and_money_formatting() -> None:
    item = make_item(1, price=Decimal("-5"), old_price=Decimal(0), wholesale_tiers=[
        WholesaleTier(Decimal("2.5"), Decimal(0)), WholesaleTier(Decimal("0.125"), Decimal("-0.05")),
        WholesaleTier(Decimal(1000), Decimal("123456789012.34")), WholesaleTier(Decimal("10.100"), Decimal("7.1"))])
    offer = one_offer("prom_yml", item)
    assert (offer.findtext("price"), offer.findtext("oldprice")) == ("-5.00", "0.00")
    assert [(p.findtext("value"), p.findtext("quantity")) for p in offer.iterfind("prices/price")] == [
        ("0.00", "2.5"), ("-0.05", "0.125"), ("123456789012.34", "1000"), ("7.10", "10.1")]


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_render_gives_one_fragment_per_row_and_the_file_is_header_fragments_footer(profile: str) -> None:
    rng = random.Random(7)
    ctx = random_ctx(rng)
    items = [random_item(rng, good_id) for good_id in range(1, 41)]
    writer = get_writer(profile)
    settings = FeedSettings(profile=profile)
    batch = batch_from_items(items)
    rendered = writer.render(batch, ctx, settings)
    fragments = rendered.fragments.to_pylist()
    assert len(fragments) == len(items)
    assert [fragment == "" for fragment in fragments] == [not item.visible for item in items]
    assert rendered.skipped == sum(not item.visible for item in items)
    assert all(f.startswith(f'<offer id="{i.good_id}"') and f.endswith("</offer>\n")
               for f, i in zip(fragments, items, strict=True) if i.visible)
    text = writer.header(ctx, settings) + "".join(fragments) + writer.footer(ctx, settings)
    assert text.encode() == write_feed(profile, items, ctx=ctx)[0]
    assert writer.encoding(settings) == "utf-8"
    assert writer.footer(ctx, settings) == "</offers>\n</shop>\n</yml_catalog>\n"
    # A slice of a batch (offsets not starting at 0) renders the same rows the same way.
    assert writer.render(batch.slice(5, 20), ctx, settings).fragments.to_pylist() == fragments[5:25]


@pytest.mark.parametrize("profile", YML_PROFILES)
def test_write_batches_renders_feed_batches(profile: str) -> None:
    items = [full_item(), make_item(8), make_item(9, visible=False)]
    out = io.BytesIO()
    stats = write_batches(get_writer(profile), [batch_from_items(items)], out,
                          make_ctx(), FeedSettings(profile=profile))
    assert out.getvalue() == write_feed(profile, items)[0]
    assert (stats.rows, stats.skipped) == (2, 1)
