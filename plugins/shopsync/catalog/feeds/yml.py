"""YML (Yandex Market Language) feeds: generic `yml`, `rozetka_yml` and `prom_yml`.

Columnar: the writers render whole feed batches (columns.FEED_SCHEMA) with pyarrow compute kernels, one
<offer> text fragment per good (base.FragmentWriter, the parts: yml_offers.py); only the small header
(shop, currencies, categories) is built with lxml. Memory is one batch, however many offers the file has.
The text is exactly what lxml's serializer writes (`etree.xmlfile`, pretty printed), byte for byte.

Shared rules (formats.md section 3; Rozetka's price-list requirements say the same):
- UTF-8, `<?xml version="1.0" encoding="UTF-8"?>`, `<yml_catalog date="YYYY-MM-DD HH:MM">` from
  ctx.generated_at (the only timestamp: output is deterministic).
- Control characters 0-31 other than TAB/LF/CR (and U+FFFE/U+FFFF, lone surrogates) are removed from all
  text; lxml would refuse them and marketplaces reject the feed.
- Escaping is lxml's: `&`, `<`, `>` in text and `&`, `<`, `>`, `"` in attributes become entities. `"` and `'`
  in element text stay literal: that is well-formed XML and every parser reads back the same string. CR in
  text is written as `&#13;`, and TAB/LF/CR in attributes as `&#9;`/`&#10;`/`&#13;`, so they read back as
  they are (a parser would turn a raw CR into LF, and raw whitespace in an attribute into spaces).
- Only visible items are written (an invisible item is a deletion); they are counted in stats.skipped.
- `available` is "true" when free stock > 0. The old price element is written only when it is above price.
- A missing value omits its element (an item without price has no <price>; validation reports it). "Missing"
  is None or "" before the control characters are removed: a value of control characters only gives an
  empty element.
- Parameters: one <param name=".." [unit=".."]>value</param> per characteristic with a non-empty value
  (after removing control characters); `unit` when the characteristic has one.

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

import io
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from lxml import etree

from shopsync.catalog.feeds.base import FragmentWriter, Rendered
from shopsync.catalog.feeds.xml_text import xml_text
from shopsync.catalog.feeds.yml_offers import Offers, join, when, wholesale_prices
from shopsync.catalog.model import Category, FeedContext
from shopsync.core.config import FeedSettings

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
FOOTER = "</offers>\n</shop>\n</yml_catalog>\n"


class YmlWriter(FragmentWriter):
    """Generic YML: the old DTD order plus the widely used oldprice / stock_quantity extensions."""

    profile: ClassVar[str] = "yml"
    old_price_tag: ClassVar[str] = "oldprice"

    def item_batch_rows(self) -> int:
        return self.tuning.yml_item_batch

    # --- FragmentWriter ------------------------------------------------------------------------------------

    def encoding(self, settings: FeedSettings) -> str:
        return "utf-8"

    def header(self, ctx: FeedContext, settings: FeedSettings) -> str:
        """Everything up to and including `<offers>\\n`, serialised by lxml."""
        buffer = io.BytesIO()
        with etree.xmlfile(buffer, encoding="utf-8") as xf:
            with xf.element("yml_catalog", date=ctx.generated_at.strftime("%Y-%m-%d %H:%M")):
                xf.write("\n")
                with xf.element("shop"):
                    xf.write("\n")
                    for header_element in self.shop_header(ctx):
                        xf.write(header_element, pretty_print=True)
                    with xf.element("offers"):
                        xf.write("\n")
                    xf.write("\n")
                xf.write("\n")
        document = XML_DECLARATION + buffer.getvalue().decode("utf-8") + "\n"
        if not document.endswith(FOOTER):   # pragma: no cover - lxml's serialisation is fixed
            raise AssertionError("unexpected YML document end")
        return document[:-len(FOOTER)]

    def footer(self, ctx: FeedContext, settings: FeedSettings) -> str:
        return FOOTER

    def render(self, batch: pa.RecordBatch, ctx: FeedContext, settings: FeedSettings) -> Rendered:
        offers = Offers(batch, ctx, self.old_price_tag)
        opening = join('<offer id="', offers.number("good_id"), '" available="',
                        pc.if_else(offers.in_stock, "true", "false"), '"', *self.offer_attributes(offers), ">\n")
        text = join(opening, *self.offer_children(offers), "</offer>\n")
        visible = pc.fill_null(offers.column("visible"), False)
        skipped = batch.num_rows - pc.sum(pc.cast(visible, pa.int64())).as_py() if batch.num_rows else 0
        return Rendered(fragments=when(visible, text), skipped=skipped)

    # --- shop header ---------------------------------------------------------------------------------------

    def shop_header(self, ctx: FeedContext) -> Iterator[etree._Element]:
        for tag, text in (("name", ctx.shop_name), ("company", ctx.company), ("url", ctx.url)):
            header_element = etree.Element(tag)
            header_element.text = xml_text(text)
            yield header_element
        currencies = etree.Element("currencies")
        etree.SubElement(currencies, "currency", id=ctx.currency, rate="1")
        yield currencies
        categories = etree.Element("categories")
        for category in sorted(ctx.categories.values(), key=lambda c: c.id):
            category_element = etree.SubElement(categories, "category", id=str(category.id))
            if category.parent_id is not None:
                category_element.set("parentId", str(category.parent_id))
            for name, value in self.category_extra_attributes(category):
                category_element.set(name, xml_text(value))
            category_element.text = xml_text(category.name)
        yield categories

    def category_extra_attributes(self, category: Category) -> list[tuple[str, str]]:
        return []

    # --- offers --------------------------------------------------------------------------------------------

    def offer_attributes(self, offers: Offers) -> list[pa.Array | str]:
        """Attributes after id and available, each ' name="value"' or ""."""
        return []

    def offer_children(self, offers: Offers) -> list[pa.Array | str]:
        return [
            offers.url(),
            *offers.prices(),
            offers.category_id(),
            offers.pictures(),
            offers.element("name", "name"),
            offers.element("vendor", "brand"),
            offers.element("vendorCode", "article"),
            offers.element("description", "description"),
            offers.element("country_of_origin", "country"),
            offers.element("barcode", "barcode"),
            offers.stock("stock_quantity"),
            offers.params(),
        ]


class RozetkaYmlWriter(YmlWriter):
    profile: ClassVar[str] = "rozetka_yml"
    old_price_tag: ClassVar[str] = "price_old"

    def category_extra_attributes(self, category: Category) -> list[tuple[str, str]]:
        return [("rz_id", category.external_id)] if category.external_id else []

    def offer_children(self, offers: Offers) -> list[pa.Array | str]:
        return [
            offers.url(),
            *offers.prices(),
            offers.category_id(),
            offers.pictures(),
            offers.element("vendor", "brand"),
            offers.element("article", "article"),
            offers.stock("stock_quantity"),
            offers.element("name", "name"),
            offers.element("name_ua", "name_ua"),
            offers.cdata("description", "description"),
            offers.cdata("description_ua", "description_ua"),
            offers.params(),
        ]


class PromYmlWriter(YmlWriter):
    profile: ClassVar[str] = "prom_yml"

    def offer_attributes(self, offers: Offers) -> list[pa.Array | str]:
        tiers = pc.fill_null(pc.greater(pc.list_value_length(offers.column("tiers")), 0), False)
        group = offers.number("model_group_id")
        return [
            pc.if_else(tiers, ' selling_type="u"', ' selling_type="r"'),
            pc.fill_null(join(' group_id="', group, '"'), ""),
        ]

    def offer_children(self, offers: Offers) -> list[pa.Array | str]:
        return [
            *offers.prices(),
            offers.category_id(),
            offers.portal_category_id(),
            offers.pictures(),
            offers.element("name", "name"),
            offers.element("name_ua", "name_ua"),
            offers.element("vendor", "brand"),
            offers.element("vendorCode", "article"),
            offers.cdata("description", "description"),
            offers.cdata("description_ua", "description_ua"),
            offers.stock("quantity_in_stock"),
            pc.if_else(offers.in_stock, "  <presence>available</presence>\n",
                       "  <presence>not_available</presence>\n"),
            wholesale_prices(offers.column("tiers")),
            offers.params(),
        ]
