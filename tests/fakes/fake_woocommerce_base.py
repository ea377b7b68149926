"""The WooCommerce fake's common part (see fake_woocommerce.py): Basic auth, WooCommerce's error JSON, paging
and the products (`GET /products`, `GET /products/{id}`, `POST /products/batch`)."""

from __future__ import annotations

import base64
import binascii
import copy
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from fake_http import FakeServer, json_response, read_json
from fake_names import CATALOG
from fake_values import paginate, utc

CONSUMER_KEY = "ck_shopsyncfake5c1e8a9d0b7f4e2a6c3d1b8e9f0a7c4d"
CONSUMER_SECRET = "cs_shopsyncfakeS3cret9e2d7b4a1c8f5e0d3b6a9c2f7e4"   # distinctive: leak tests grep for it
API = "/wp-json/wc/v3"
MAX_BATCH = 100


def wc_decimal(value: Any) -> str:
    """A price as WooCommerce stores what it was sent: strings kept, numbers without trailing zeros."""
    if isinstance(value, str):
        return value
    text = format(Decimal(str(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class WooCommerceBase(FakeServer):
    """Auth, errors and products of the WooCommerce fake; `FakeWooCommerce` adds the orders."""

    def __init__(self, state_file: Path | str | None = None, batch_by_sku: bool = False) -> None:
        super().__init__(state_file)
        self.key, self.secret, self.batch_by_sku = CONSUMER_KEY, CONSUMER_SECRET, batch_by_sku
        self.products: dict[int, dict[str, Any]] = {}
        for n, goods in enumerate(CATALOG):
            self.add_product(goods.external_id, goods.name_uk, goods.price, 10, product_id=801 + n)

    def add_product(self, sku: str, name: str, price: Decimal | str, stock: int,
                    product_id: int | None = None) -> dict[str, Any]:
        with self.lock:
            pid = product_id if product_id is not None else max([800, *self.products]) + 1
            self.products[pid] = {"id": pid, "name": name, "slug": sku.lower(), "type": "simple", "status": "publish",
                                  "sku": sku, "price": wc_decimal(price), "regular_price": wc_decimal(price),
                                  "sale_price": "", "on_sale": False, "manage_stock": True, "stock_quantity": stock,
                                  "stock_status": "instock" if stock > 0 else "outofstock",
                                  "date_modified": local_time(self.now()), "date_modified_gmt": gmt_time(self.now())}
            return copy.deepcopy(self.products[pid])

    def product_by_sku(self, sku: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(next(p for p in self.products.values() if p["sku"] == sku))

    def product_id(self, sku: str) -> int:
        return next((p["id"] for p in self.products.values() if p["sku"] == sku), 0)


    def error_body(self, status: int, message: str, code: str | None = None) -> dict[str, Any]:
        return {"code": code or CODES.get(status, "woocommerce_rest_error"), "message": message,
                "data": {"status": status}}

    def fail(self, status: int, code: str, message: str, **data: Any) -> web.Response:
        body = self.error_body(status, message, code)
        body["data"].update(data)
        return json_response(body, status=status)

    def no_route(self, status: int, reason: str) -> web.Response:
        return self.fail(404, "rest_no_route", "No route was found matching the URL and request method.")

    def check_auth(self, request: web.Request) -> web.Response | None:
        key, secret = credentials(request)
        if key is None:
            return self.fail(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        if key != self.key:
            return self.fail(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if secret != self.secret:
            return self.fail(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        return None

    def product_routes(self) -> list[web.RouteDef]:
        return [web.get(f"{API}/products", self._list_products), web.get(f"{API}/products/{{id}}", self._product),
                web.post(f"{API}/products/batch", self._batch)]

    # -- products ----------------------------------------------------------------------------------

    async def _list_products(self, request: web.Request) -> web.Response:
        paging = page_params(request.query)
        if isinstance(paging, str):
            return self.fail(400, "rest_invalid_param", f"Invalid parameter(s): {paging}", params={paging: "invalid"})
        skus = set(request.query["sku"].split(",")) if "sku" in request.query else None
        with self.lock:
            found = copy.deepcopy([p for _, p in sorted(self.products.items(), reverse=True)
                                   if skus is None or p["sku"] in skus])
        pages = paginate(found, *paging)
        return json_response(pages.items, headers={"X-WP-Total": str(pages.total),
                                                   "X-WP-TotalPages": str(pages.page_count)})

    async def _product(self, request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        with self.lock:
            if not pid.isdigit() or int(pid) not in self.products:
                return self.fail(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            return json_response(copy.deepcopy(self.products[int(pid)]))

    async def _batch(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return self.fail(400, "rest_invalid_json", "Invalid JSON body passed.")
        items = [item for key in ("create", "update", "delete") for item in body.get(key) or []]
        if len(items) > MAX_BATCH:
            return self.fail(413, "woocommerce_rest_request_entity_too_large",
                             f"Unable to accept more than {MAX_BATCH} items for this request.")
        with self.lock:
            answer = {"update": [self._update_product(item) for item in body.get("update") or []]}
            self.save()
        return json_response(answer)

    def _update_product(self, item: Any) -> dict[str, Any]:
        pid = item.get("id") if isinstance(item, dict) else None
        if pid is None and self.batch_by_sku and isinstance(item, dict):
            pid = self.product_id(str(item.get("sku"))) or None
        if not isinstance(pid, int) or pid not in self.products:
            return {"id": pid or 0, "error": self.error_body(400, "Invalid ID.", "woocommerce_rest_product_invalid_id")}
        product = self.products[pid]
        for key in ("regular_price", "sale_price"):
            if key in item:
                product[key] = wc_decimal(item[key])
        if "stock_quantity" in item:
            product["stock_quantity"] = int(item["stock_quantity"])
            product["stock_status"] = "instock" if product["stock_quantity"] > 0 else "outofstock"
        if "stock_status" in item:
            product["stock_status"] = item["stock_status"]
        product["on_sale"] = bool(product["sale_price"])
        product["price"] = product["sale_price"] or product["regular_price"]
        product["date_modified"], product["date_modified_gmt"] = local_time(self.now()), gmt_time(self.now())
        return copy.deepcopy(product)


CODES = {401: "woocommerce_rest_cannot_view", 404: "rest_no_route", 429: "woocommerce_rest_too_many_requests",
          500: "internal_server_error"}


def local_time(when: datetime) -> str:
    return when.replace(tzinfo=None).isoformat(timespec="seconds")


def gmt_time(when: datetime) -> str:
    return utc(when).replace(tzinfo=None).isoformat(timespec="seconds")


def credentials(request: web.Request) -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            key, _, secret = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
            return key, secret
        except (binascii.Error, UnicodeDecodeError):
            return None, None
    return request.query.get("consumer_key"), request.query.get("consumer_secret")


def page_params(query: Any) -> tuple[int, int] | str:
    """(page, per_page), or the name of the invalid parameter."""
    try:
        page, per_page = int(query.get("page", 1)), int(query.get("per_page", 10))
    except ValueError:
        return "page" if not str(query.get("page", "1")).isdigit() else "per_page"
    if page < 1:
        return "page"
    return (page, per_page) if 1 <= per_page <= 100 else "per_page"
