"""YML feeds (yml, rozetka_yml, prom_yml): parsed back with a non-resolving lxml parser."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from lxml import etree
from test_feeds_base import full_item, make_ctx, make_item, write_feed

from shopsync.catalog.feeds import get_writer
from shopsync.catalog.feeds.base import CountingStream
from shopsync.catalog.model import CatalogItem, Characteristic
from shopsync.config import FeedSettings

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
