"""A fake WooCommerce REST API v3 (`/wp-json/wc/v3`, reference section 5) for adapter tests:
`FakeWooCommerce().start()`, or `python tests/fakes/fake_woocommerce.py --port 0 --state-file X` as its own
process (prints its base URL).

Reproduced from WooCommerce's REST API as published: Basic auth with the consumer key and secret (or the
`consumer_key`/`consumer_secret` query parameters), 401 otherwise; errors {"code", "message", "data":
{"status"}}; `GET /orders` (page, per_page 1..100 default 10, status, after/before on the creation date,
modified_after/modified_before, orderby date|id|include|title|slug|modified, order asc|desc, default newest
created first) with `X-WP-Total` and `X-WP-TotalPages`, a page past the end being []; `GET`/`PUT
/orders/{id}` (a status change also adds the private note "Order status changed from X to Y."); notes
`GET`/`POST /orders/{id}/notes` ({"note", "customer_note"} -> 201); products `GET /products` (sku, page,
per_page), `GET /products/{id}` and `POST /products/batch` {"create", "update", "delete"} (at most 100
items, else 413), each update addressed by `id`, an unknown or missing id giving that item an
{"id", "error": {...}} entry, the batch itself answering 200.
Order quirks kept: money as strings with two decimals ("1446.00") but a line item's `price` a number;
dates in the site's local time without offset plus `*_gmt` twins; `modified_after` read as site time
unless it carries an offset or `dates_are_gmt=true`.
Inferred: addressing a batch update by `sku` alone is refused like a missing id (`batch_by_sku=True`
lets tests accept it).
"""

from __future__ import annotations

import copy
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from fake_http import apply_listing_fault, json_response, read_json, serve_main
from fake_names import lines_of, person
from fake_values import as_time, decimal_string, paginate, parse_time
from fake_woocommerce_base import API, CONSUMER_KEY, CONSUMER_SECRET, WooCommerceBase, gmt_time, local_time, page_params

__all__ = ["CONSUMER_KEY", "CONSUMER_SECRET", "FakeWooCommerce"]
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash",
            "checkout-draft")
STATUS_TITLES = {"pending": "Pending payment", "processing": "Processing", "on-hold": "On hold",
                 "completed": "Completed", "cancelled": "Cancelled", "refunded": "Refunded", "failed": "Failed",
                 "trash": "Trash", "checkout-draft": "Draft"}
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
UPDATABLE = ("status", "customer_note", "transaction_id", "payment_method", "payment_method_title")


class FakeWooCommerce(WooCommerceBase):
    """Fake WooCommerce REST v3: orders, order notes, products and their batch update."""

    name = "woocommerce"

    def __init__(self, state_file: Path | str | None = None, batch_by_sku: bool = False) -> None:
        super().__init__(state_file, batch_by_sku)
        self.orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.next_id, self.next_note = 1201, 501

    # -- builders ----------------------------------------------------------------------------------

    def add_order(self, status: str = "processing", products: list[tuple[str, float]] | None = None,
                  created: datetime | str | None = None, customer_note: str = "",
                  order_id: int | None = None) -> dict[str, Any]:
        """Add an order in WooCommerce's shape (a new buyer each time) and return a copy of it."""
        with self.lock:
            oid = order_id if order_id is not None else self.next_id
            self.next_id = max(self.next_id, oid) + 1
            when = as_time(created) or self.now()
            lines = [(g, q, self.product_id(g.external_id)) for g, q in lines_of(products, oid)]
            self.orders[oid] = _order(oid, when, status, lines, customer_note)
            self.notes.setdefault(oid, [])
            self.save()
            return self.order(oid)

    def modify_order(self, order_id: int, status: str | None = None, modified: datetime | str | None = None,
                     **fields: Any) -> dict[str, Any]:
        """Change an order as the shop's staff would; date_modified moves to now."""
        with self.lock:
            order = self.orders[order_id]
            when = as_time(modified) or self.now()
            if status is not None and status != order["status"]:
                self._note(order_id, f"Order status changed from {STATUS_TITLES[order['status']]} to "
                                     f"{STATUS_TITLES[status]}.", customer_note=False, author="system")
                order["status"] = status
                if status == "completed":
                    order["date_completed"], order["date_completed_gmt"] = local_time(when), gmt_time(when)
            order.update(fields)
            order["date_modified"], order["date_modified_gmt"] = local_time(when), gmt_time(when)
            self.save()
            return self.order(order_id)

    def order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.orders[order_id])

    def order_notes(self, order_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.notes.get(order_id, []))

    def _note(self, order_id: int, text: str, customer_note: bool, author: str) -> dict[str, Any]:
        now = self.now()
        note = {"id": self.next_note, "author": author, "date_created": local_time(now),
                "date_created_gmt": gmt_time(now), "note": text, "customer_note": customer_note}
        self.next_note += 1
        self.notes.setdefault(order_id, []).insert(0, note)   # newest first, as WooCommerce lists them
        return copy.deepcopy(note)

    # -- FakeServer --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {"orders": list(self.orders.values()), "products": list(self.products.values()),
                "notes": {str(k): v for k, v in self.notes.items()}}

    def load_state(self, state: dict[str, Any]) -> None:
        self.orders = {o["id"]: o for o in state.get("orders", [])}
        self.products = {p["id"]: p for p in state.get("products", [])} or self.products
        self.notes = {int(k): v for k, v in state.get("notes", {}).items()}
        self.next_id = max([self.next_id, *(oid + 1 for oid in self.orders)])
        self.next_note = max([self.next_note, *(n["id"] + 1 for ns in self.notes.values() for n in ns)])

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"{API}/orders", self._list_orders), web.get(f"{API}/orders/{{id}}", self._get_order),
                web.put(f"{API}/orders/{{id}}", self._put_order), web.get(f"{API}/orders/{{id}}/notes", self._notes),
                web.post(f"{API}/orders/{{id}}/notes", self._add_note), *self.product_routes()]

    # -- orders ------------------------------------------------------------------------------------

    async def _list_orders(self, request: web.Request) -> web.Response:
        query = request.query
        paging = page_params(query)
        if isinstance(paging, str):
            return self.fail(400, "rest_invalid_param", f"Invalid parameter(s): {paging}", params={paging: "invalid"})
        orderby, direction = query.get("orderby", "date"), query.get("order", "desc")
        if orderby not in ORDERBY or direction not in ("asc", "desc"):
            bad = "orderby" if orderby not in ORDERBY else "order"
            return self.fail(400, "rest_invalid_param", f"Invalid parameter(s): {bad}",
                             params={bad: f"{bad} is not one of {', '.join(ORDERBY)}."})
        bounds = _bounds(query)
        if isinstance(bounds, str):
            return self.fail(400, "rest_invalid_param", f"Invalid parameter(s): {bounds}",
                             params={bounds: "Invalid date."})
        statuses = set(query.get("status", "any").split(","))
        with self.lock:
            found = [o for o in self.orders.values() if _order_matches(o, statuses, bounds)]
            found = copy.deepcopy(sorted(found, key=_order_key(orderby), reverse=direction == "desc"))
        pages = paginate(found, *paging)
        return json_response(apply_listing_fault(request, pages.items),
                             headers={"X-WP-Total": str(pages.total), "X-WP-TotalPages": str(pages.page_count)})

    def _known_order(self, request: web.Request) -> int | None:
        oid = request.match_info["id"]
        return int(oid) if oid.isdigit() and int(oid) in self.orders else None

    def _invalid_order(self) -> web.Response:
        return self.fail(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")

    async def _get_order(self, request: web.Request) -> web.Response:
        with self.lock:
            oid = self._known_order(request)
            return self._invalid_order() if oid is None else json_response(self.order(oid))

    async def _put_order(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return self.fail(400, "rest_invalid_json", "Invalid JSON body passed.")
        if "status" in body and body["status"] not in STATUSES:
            return self.fail(400, "rest_invalid_param", "Invalid parameter(s): status",
                             params={"status": f"status is not one of {', '.join(STATUSES)}."})
        with self.lock:
            oid = self._known_order(request)
            if oid is None:
                return self._invalid_order()
            fields = {k: body[k] for k in UPDATABLE if k in body and k != "status"}
            if isinstance(body.get("meta_data"), list):
                fields["meta_data"] = _merge_meta(self.orders[oid]["meta_data"], body["meta_data"])
            return json_response(self.modify_order(oid, status=body.get("status"), **fields))

    async def _notes(self, request: web.Request) -> web.Response:
        with self.lock:
            oid = self._known_order(request)
            return self._invalid_order() if oid is None else json_response(self.order_notes(oid))

    async def _add_note(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not body.get("note"):
            return self.fail(400, "rest_missing_callback_param", "Missing parameter(s): note", params=["note"])
        with self.lock:
            oid = self._known_order(request)
            if oid is None:
                return self._invalid_order()
            note = self._note(oid, str(body["note"]), bool(body.get("customer_note", False)), author="ShopSync API")
            self.save()
        return json_response(note, status=201)

def _order(oid: int, when: datetime, status: str, lines: list[Any], customer_note: str) -> dict[str, Any]:
    buyer = person(oid)
    total = sum((g.price * Decimal(str(q)) for g, q, _ in lines), Decimal(0))
    address = {"first_name": buyer.first_name, "last_name": buyer.last_name, "company": "",
               "address_1": f"Відділення №{buyer.warehouse_number}", "address_2": "", "city": buyer.city,
               "state": "", "postcode": "", "country": "UA", "phone": buyer.phone}
    return {
        "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_fake{oid}", "created_via": "checkout",
        "version": "9.4.2", "status": status, "currency": "UAH", "date_created": local_time(when),
        "date_created_gmt": gmt_time(when), "date_modified": local_time(when), "date_modified_gmt": gmt_time(when),
        "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "0.00", "shipping_tax": "0.00",
        "cart_tax": "0.00", "total": decimal_string(total), "total_tax": "0.00", "prices_include_tax": False,
        "customer_id": 0, "customer_note": customer_note,
        "billing": {**address, "email": buyer.email or f"buyer{oid}@example.com.ua"}, "shipping": address,
        "payment_method": "cod", "payment_method_title": "Оплата при отриманні", "transaction_id": "",
        "date_paid": None, "date_paid_gmt": None, "date_completed": None, "date_completed_gmt": None,
        "meta_data": [], "line_items": [_line(oid, n, *line) for n, line in enumerate(lines)], "tax_lines": [],
        "shipping_lines": [{"id": oid * 10 + 9, "method_title": "Нова Пошта", "method_id": "flat_rate",
                            "total": "0.00", "total_tax": "0.00", "meta_data": []}],
        "fee_lines": [], "coupon_lines": [], "refunds": [],
    }


def _line(oid: int, n: int, goods: Any, quantity: float, product_id: int) -> dict[str, Any]:
    total = decimal_string(goods.price * Decimal(str(quantity)))
    return {"id": oid * 10 + n, "name": goods.name_uk, "product_id": product_id, "variation_id": 0,
            "quantity": int(quantity), "tax_class": "", "subtotal": total, "subtotal_tax": "0.00", "total": total,
            "total_tax": "0.00", "taxes": [], "meta_data": [], "sku": goods.external_id,
            "price": float(goods.price), "parent_name": None}


def _bounds(query: Any) -> dict[str, datetime] | str:
    """The date filters as aware times (site time unless an offset or dates_are_gmt), or a bad name."""
    gmt = query.get("dates_are_gmt") in ("true", "1")
    bounds: dict[str, datetime] = {}
    for key in ("after", "before", "modified_after", "modified_before"):
        if key in query:
            value = parse_time(query[key], UTC) if gmt else parse_time(query[key])
            if value is None:
                return key
            bounds[key] = value
    return bounds


def _order_matches(order: dict[str, Any], statuses: set[str], bounds: dict[str, datetime]) -> bool:
    if "any" not in statuses and order["status"] not in statuses:
        return False
    created = parse_time(order["date_created_gmt"], UTC)
    modified = parse_time(order["date_modified_gmt"], UTC)
    assert created is not None and modified is not None
    checks = {"after": created > bounds.get("after", created), "before": created < bounds.get("before", created),
              "modified_after": modified > bounds.get("modified_after", modified),
              "modified_before": modified < bounds.get("modified_before", modified)}
    return all(checks[key] for key in bounds)


def _order_key(orderby: str) -> Any:
    if orderby == "modified":
        return lambda o: (o["date_modified_gmt"], o["id"])
    if orderby in ("id", "include"):
        return lambda o: o["id"]
    return lambda o: (o["date_created_gmt"], o["id"])


def _merge_meta(current: list[dict[str, Any]], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = {m["key"]: m for m in current}
    for n, change in enumerate(changes):
        merged[change["key"]] = {"id": merged.get(change["key"], {}).get("id", 9000 + len(merged) + n),
                                 "key": change["key"], "value": change.get("value")}
    return list(merged.values())


if __name__ == "__main__":
    serve_main(FakeWooCommerce, sys.argv[1:])
