"""YML (Yandex Market Language) feeds: generic `yml`, `rozetka_yml` and `prom_yml`.

Streaming: the file is written with lxml's incremental `etree.xmlfile`; only one <offer> element exists in
memory at a time, so 100k+ offers take the same memory as ten.

Shared rules (formats.md section 3; Rozetka's price-list requirements say the same):
- UTF-8, `<?xml version="1.0" encoding="UTF-8"?>`, `<yml_catalog date="YYYY-MM-DD HH:MM">` from
  ctx.generated_at (the only timestamp: output is deterministic).
- Control characters 0-31 other than TAB/LF/CR (and U+FFFE/U+FFFF, lone surrogates) are removed from all
  text; lxml would refuse them and marketplaces reject the feed.
- Escaping is lxml's: `&`, `<`, `>` in text and `&`, `<`, `>`, `"` in attributes become entities. `"` and `'`
  in element text stay literal: that is well-formed XML and every parser reads back the same string.
- Only visible items are written (an invisible item is a deletion); they are counted in stats.skipped.
- `available` is "true" when free stock > 0. The old price element is written only when it is above price.
- A missing value omits its element (an item without price has no <price>; validation reports it).
- Parameters: one <param name=".." [unit=".."]>value</param> per characteristic with a non-empty value.

Element names the validation module relies on (keep them): offer@id, price, the old price element
(`oldprice`; Rozetka `price_old`), the stock element (`stock_quantity`; Prom `quantity_in_stock`),
categoryId, picture, name.

Profile decisions:
- rozetka_yml: <category rz_id=".."> from Category.external_id; description/description_ua in CDATA. CDATA
  cannot contain "]]>", so such a description is written as ordinary escaped text instead: any XML parser
  returns exactly the same string, while splitting or rewriting it inside CDATA would change the content.
- prom_yml: `selling_type` ("u" with wholesale tiers, else "r") and `group_id` (model group: sizes/colours
  become Prom "різновиди") are attributes of <offer>, the way Prom reads them (as child elements Prom
  ignores them). Wholesale tiers: <prices><price><value>..</value><quantity>..</quantity></price></prices>.
  The marketplace category (Category.external_id) goes to <portal_category_id>. Descriptions in CDATA as for
  Rozetka (Prom requires HTML descriptions in CDATA).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import BinaryIO, ClassVar

from lxml import etree

from shopsync.catalog.feeds.base import (
    CountingStream,
    RowKind,
    SortKey,
    WriteStats,
    format_money,
    format_quantity,
    has_promo,
)
from shopsync.catalog.model import CatalogItem, Category, FeedContext
from shopsync.config import FeedSettings

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
CDATA_END = "]]>"


def xml_text(text: str) -> str:
    """The text without the characters XML 1.0 cannot carry."""
    # Fast path: a printable string has no control characters; the regex decides for the rest (TAB, LF, ...).
    return text if text.isprintable() else _XML_ILLEGAL.sub("", text)


def _add(parent: etree._Element, tag: str, text: str | None) -> None:
    """A child element with text; nothing when there is no text."""
    if text:
        etree.SubElement(parent, tag).text = xml_text(text)


def _add_cdata(parent: etree._Element, tag: str, text: str | None) -> None:
    if not text:
        return
    cleaned = xml_text(text)
    etree.SubElement(parent, tag).text = cleaned if CDATA_END in cleaned else etree.CDATA(cleaned)


def _add_pictures(offer: etree._Element, item: CatalogItem) -> None:
    for url in item.pictures:
        _add(offer, "picture", url)


def _add_params(offer: etree._Element, item: CatalogItem) -> None:
    for characteristic in item.characteristics:
        value = xml_text(characteristic.value)
        if not value:
            continue
        attributes = {"name": xml_text(characteristic.name)}
        if characteristic.unit:
            attributes["unit"] = xml_text(characteristic.unit)
        etree.SubElement(offer, "param", attributes).text = value


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)


class YmlWriter:
    """Generic YML: the old DTD order plus the widely used oldprice / stock_quantity extensions."""

    profile: ClassVar[str] = "yml"
    default_file: ClassVar[str] = "yml.xml"
    kind: ClassVar[RowKind] = "catalog"
    sort_key: ClassVar[SortKey] = "good_id"

    def write(self, rows: Iterable[CatalogItem], out: BinaryIO, ctx: FeedContext,
              settings: FeedSettings) -> WriteStats:
        stream = CountingStream(out)
        stream.write(XML_DECLARATION)
        written = skipped = 0
        with etree.xmlfile(stream, encoding="utf-8") as xf:
            with xf.element("yml_catalog", date=ctx.generated_at.strftime("%Y-%m-%d %H:%M")):
                xf.write("\n")
                with xf.element("shop"):
                    xf.write("\n")
                    for element in self.shop_header(ctx):
                        xf.write(element, pretty_print=True)
                    with xf.element("offers"):
                        xf.write("\n")
                        for item in rows:
                            if not item.visible:
                                skipped += 1
                                continue
                            xf.write(self.offer(item, ctx), pretty_print=True)
                            written += 1
                    xf.write("\n")
                xf.write("\n")
        stream.write(b"\n")
        return WriteStats(rows=written, bytes=stream.count, skipped=skipped)

    # --- shop header ---------------------------------------------------------------------------------------

    def shop_header(self, ctx: FeedContext) -> Iterator[etree._Element]:
        for tag, text in (("name", ctx.shop_name), ("company", ctx.company), ("url", ctx.url)):
            element = etree.Element(tag)
            element.text = xml_text(text)
            yield element
        currencies = etree.Element("currencies")
        etree.SubElement(currencies, "currency", id=ctx.currency, rate="1")
        yield currencies
        categories = etree.Element("categories")
        for category in sorted(ctx.categories.values(), key=lambda c: c.id):
            element = etree.SubElement(categories, "category", id=str(category.id))
            if category.parent_id is not None:
                element.set("parentId", str(category.parent_id))
            for name, value in self.category_extra_attributes(category):
                element.set(name, xml_text(value))
            element.text = xml_text(category.name)
        yield categories

    def category_extra_attributes(self, category: Category) -> list[tuple[str, str]]:
        return []

    # --- offers --------------------------------------------------------------------------------------------

    def offer(self, item: CatalogItem, ctx: FeedContext) -> etree._Element:
        offer = etree.Element("offer", id=str(item.good_id), available="true" if item.free_stock > 0 else "false")
        self.fill_offer(offer, item, ctx)
        return offer

    def fill_offer(self, offer: etree._Element, item: CatalogItem, ctx: FeedContext) -> None:
        _add(offer, "url", f"{ctx.url.rstrip('/')}/product/{item.good_id}")
        _add_prices(offer, item, ctx, old_price_tag="oldprice")
        _add(offer, "categoryId", _category_id(item))
        _add_pictures(offer, item)
        _add(offer, "name", item.name)
        _add(offer, "vendor", item.brand)
        _add(offer, "vendorCode", item.article)
        _add(offer, "description", item.description)
        _add(offer, "country_of_origin", item.country)
        _add(offer, "barcode", item.barcode)
        _add(offer, "stock_quantity", str(item.free_stock))
        _add_params(offer, item)


def _add_prices(offer: etree._Element, item: CatalogItem, ctx: FeedContext, old_price_tag: str) -> None:
    """price, the pre-promo price under the profile's tag (only when above price), currencyId."""
    _add(offer, "price", _money(item.price))
    if has_promo(item):
        _add(offer, old_price_tag, _money(item.old_price))
    _add(offer, "currencyId", ctx.currency)


def _category_id(item: CatalogItem) -> str | None:
    return None if item.category_id is None else str(item.category_id)


class RozetkaYmlWriter(YmlWriter):
    profile: ClassVar[str] = "rozetka_yml"
    default_file: ClassVar[str] = "rozetka.xml"

    def category_extra_attributes(self, category: Category) -> list[tuple[str, str]]:
        return [("rz_id", category.external_id)] if category.external_id else []

    def fill_offer(self, offer: etree._Element, item: CatalogItem, ctx: FeedContext) -> None:
        _add(offer, "url", f"{ctx.url.rstrip('/')}/product/{item.good_id}")
        _add_prices(offer, item, ctx, old_price_tag="price_old")
        _add(offer, "categoryId", _category_id(item))
        _add_pictures(offer, item)
        _add(offer, "vendor", item.brand)
        _add(offer, "article", item.article)
        _add(offer, "stock_quantity", str(item.free_stock))
        _add(offer, "name", item.name)
        _add(offer, "name_ua", item.name_ua)
        _add_cdata(offer, "description", item.description)
        _add_cdata(offer, "description_ua", item.description_ua)
        _add_params(offer, item)


class PromYmlWriter(YmlWriter):
    profile: ClassVar[str] = "prom_yml"
    default_file: ClassVar[str] = "prom.xml"

    def offer(self, item: CatalogItem, ctx: FeedContext) -> etree._Element:
        offer = super().offer(item, ctx)
        offer.set("selling_type", "u" if item.wholesale_tiers else "r")
        if item.model_group_id is not None:
            offer.set("group_id", str(item.model_group_id))
        return offer

    def fill_offer(self, offer: etree._Element, item: CatalogItem, ctx: FeedContext) -> None:
        _add_prices(offer, item, ctx, old_price_tag="oldprice")
        _add(offer, "categoryId", _category_id(item))
        _add(offer, "portal_category_id", _marketplace_category(item, ctx))
        _add_pictures(offer, item)
        _add(offer, "name", item.name)
        _add(offer, "name_ua", item.name_ua)
        _add(offer, "vendor", item.brand)
        _add(offer, "vendorCode", item.article)
        _add_cdata(offer, "description", item.description)
        _add_cdata(offer, "description_ua", item.description_ua)
        _add(offer, "quantity_in_stock", str(item.free_stock))
        _add(offer, "presence", "available" if item.free_stock > 0 else "not_available")
        _add_wholesale_prices(offer, item)
        _add_params(offer, item)


def _marketplace_category(item: CatalogItem, ctx: FeedContext) -> str | None:
    category = ctx.categories.get(item.category_id) if item.category_id is not None else None
    return category.external_id if category else None


def _add_wholesale_prices(offer: etree._Element, item: CatalogItem) -> None:
    if not item.wholesale_tiers:
        return
    prices = etree.SubElement(offer, "prices")
    for tier in item.wholesale_tiers:
        price = etree.SubElement(prices, "price")
        etree.SubElement(price, "value").text = format_money(tier.price)
        etree.SubElement(price, "quantity").text = format_quantity(tier.min_qty)
