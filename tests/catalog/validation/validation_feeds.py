"""Feeds in the writers' contract shape, goods and expectations, shared by the validation tests."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pandas as pd
from lxml import etree

from shopsync.catalog.model import CatalogItem
from shopsync.catalog.validation.results import FeedValidation, validate_feed

OLD_PRICE = {"yml": "oldprice", "prom_yml": "oldprice", "rozetka_yml": "price_old"}
STOCK = {"yml": "stock_quantity", "prom_yml": "quantity_in_stock", "rozetka_yml": "stock_quantity"}
TORGSOFT_HEADER = ["GoodID", "GoodName", "RetailPrice", "WarehouseQuantity", "Category", "GoodPhotoList", "Display"]
WOO_HEADER = ["Type", "SKU", "Name", "Regular price", "Sale price", "Stock", "Categories", "Images",
              "Meta: _shopsync_good_id"]


def item(**changes) -> CatalogItem:
    values = {"good_id": 1, "name": "Чоботи жіночі", "price": Decimal("1250.00"), "free_stock": 3, "category_id": 11}
    return CatalogItem(**{**values, **changes})


def offers(count: int = 3) -> list[dict]:
    return [
        {"id": str(good), "name": f"Чоботи {good} & <шкіра>", "price": "1250.50",
         "old_price": "1500" if good == 1 else None, "stock": "2", "category": "11", "pictures": [f"https://demo.example/photos/detail/{good}_0.jpg"]}
        for good in range(1, count + 1)
    ]


def expected_for(rows: list[dict], stock: int = 2) -> pd.DataFrame:
    ids = [int(row["id"]) for row in rows]
    return pd.DataFrame({"good_id": ids, "free_stock": [stock] * len(ids)})


def write_yml(path: Path, profile: str, rows: list[dict], categories: tuple[tuple[str, str | None], ...] = (
        ("10", None), ("11", "10"))) -> Path:
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("yml_catalog", date="2024-05-01 12:00"), xf.element("shop"):
            xf.write(_text_element("name", "Демо"))
            with xf.element("categories"):
                for category_id, parent in categories:
                    attributes = {"id": category_id, **({"parentId": parent} if parent else {})}
                    xf.write(_text_element("category", f"Категорія {category_id}", **attributes))
            with xf.element("offers"):
                for row in rows:
                    xf.write(_yml_offer(profile, row))
    return path


def _text_element(tag: str, text: str | None, **attributes: str) -> etree._Element:
    element = etree.Element(tag, **attributes)
    element.text = text
    return element


def _yml_offer(profile: str, row: dict) -> etree._Element:
    offer = etree.Element("offer", available="true")
    if row["id"] is not None:
        offer.set("id", row["id"])
    for tag, key in (("price", "price"), (OLD_PRICE[profile], "old_price"), ("currencyId", None),
                     ("categoryId", "category"), (STOCK[profile], "stock")):
        value = "UAH" if key is None else row.get(key)
        if value is not None:
            etree.SubElement(offer, tag).text = value
    for picture in row["pictures"]:
        etree.SubElement(offer, "picture").text = picture
    if row.get("name") is not None:
        etree.SubElement(offer, "name").text = row["name"]
    for index in range(3):
        etree.SubElement(offer, "param", name=f"Параметр {index}").text = "значення"
    return offer


def write_torgsoft(path: Path, rows: list[dict], encoding: str = "cp1251",
                   header: list[str] = TORGSOFT_HEADER) -> Path:
    with open(path, "w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(header)
        for row in rows:
            values = {"GoodID": row["id"], "GoodName": row["name"], "RetailPrice": row["price"].replace(".", ","),
                      "WarehouseQuantity": row["stock"], "Category": "Взуття/Чоботи",
                      "GoodPhotoList": ",".join(p.rsplit("/", 1)[-1] for p in row["pictures"]), "Display": "1"}
            writer.writerow([values[name] for name in header])
    return path


def write_woo(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(WOO_HEADER)
        writer.writerow(["variable", "MODEL-1", "Чоботи (модель)", "", "", "", "Взуття > Чоботи", "", ""])
        for row in rows:
            regular, sale = (row["old_price"], row["price"]) if row.get("old_price") else (row["price"], "")
            writer.writerow(["variation", f"SKU-{row['id']}", row["name"], regular, sale, row["stock"],
                             "Взуття > Чоботи", ", ".join(row["pictures"]), row["id"]])
    return path


def write_feed(tmp_path: Path, profile: str, rows: list[dict]) -> tuple[Path, str]:
    if profile == "torgsoft_csv":
        return write_torgsoft(tmp_path / "TSGoods.trs", rows), "cp1251"
    if profile == "woocommerce_csv":
        return write_woo(tmp_path / "woo.csv", rows), "utf-8"
    return write_yml(tmp_path / f"{profile}.xml", profile, rows), "utf-8"


def failed(validation: FeedValidation) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in validation.failures}


def validate_yml(tmp_path: Path, rows: list[dict], expected: pd.DataFrame | None = None, profile: str = "yml",
                 **kwargs) -> FeedValidation:
    path = write_yml(tmp_path / "feed.xml", profile, rows, **kwargs)
    return validate_feed(path, profile, expected if expected is not None else expected_for(rows))
