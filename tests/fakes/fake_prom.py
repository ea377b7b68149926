"""A fake Prom.ua public API (`/api/v1`, reference section 3) for adapter tests: `FakeProm().start()`, or
`python tests/fakes/fake_prom.py --port 0 --state-file X` as its own process (prints its base URL).

Reproduced as documented: Bearer token; `GET /orders/list` -> {"orders": [...]}, `GET /orders/{id}` ->
{"order": {...}}; the order field set (money as localized strings: "244 грн" for goods, "1 202,00 грн"
for order totals; quantities as floats; `email` and `payment_data` may be null; `delivery_provider_data`
with `declaration_number`); statuses and a shop's `custom-<n>`; `orders/set_status` (status, cancellation
reason and text, or custom_status_id) -> {"processed_ids"}; `delivery/save_declaration_id`;
`products/edit_by_external_id`.
Inferred (no source confirmed them; adapters keep them configurable): the list parameters `date_from`,
`date_to` (on date_created), `last_modified_from`, `last_modified_to`, `status`, `limit` (default and
maximum 100) and `last_id` (orders newest id first, only ids below last_id); error answers
{"error": "<message>"} with HTTP 401 (token), 400 (invalid values) and 404 (unknown order); the 200
failure answer is the same {"error": ...} with HTTP 200; unknown ids in set_status are left out of
processed_ids; save_declaration_id answers {"status": "success"}; edit_by_external_id answers
{"processed_ids": [external ids], "errors": {external id: message}}.
"""

from __future__ import annotations

import copy
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from fake_http import FakeServer, apply_listing_fault, json_response, read_json, serve_main
from fake_names import CATALOG, lines_of, person
from fake_values import as_time, parse_time

TOKEN = "prom-test-token-Zq7Vh3Lk9Pw2"   # distinctive, so a leak into logs or messages is easy to find
API = "/api/v1"
STATUS_NAMES = {"pending": "Нове", "received": "Прийняте", "delivered": "Виконане", "canceled": "Скасоване",
                "draft": "Чернетка", "paid": "Оплачене"}
SETTABLE_STATUSES = ("pending", "received", "delivered", "canceled", "paid")
CANCELLATION_REASONS = ("not_available", "price_changed", "buyers_request", "not_enough_fields", "duplicate",
                        "invalid_phone_number", "less_than_minimal_price", "another")
DELIVERY_TYPES = ("nova_poshta", "ukrposhta", "meest")
PRESENCES = ("available", "not_available", "order", "waiting", "service")
MAX_LIMIT = 100


def format_uah(amount: Decimal | float | int, cents: bool = True) -> str:
    """Prom's money: "1 202,00 грн" (cents=True) or "244 грн" (cents=False and a whole amount)."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    whole, frac = f"{value:.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", " ")
    if not cents and frac == "00":
        return f"{grouped} грн"
    return f"{grouped},{frac} грн"


class FakeProm(FakeServer):
    """Fake Prom.ua API: orders, statuses, waybills, stock and prices by external id."""

    name = "prom"

    def __init__(self, state_file: Path | str | None = None, token: str = TOKEN) -> None:
        super().__init__(state_file)
        self.token = token
        self.orders: dict[int, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {
            g.external_id: {"id": 3100 + n, "external_id": g.external_id, "name": g.name_uk, "price": float(g.price),
                            "quantity_in_stock": 10, "presence": "available"} for n, g in enumerate(CATALOG)}
        self.custom_statuses: dict[int, str] = {7001: "Чекає передоплату", 7002: "Зібрано на складі"}
        self.next_id = 250_000_101

    # -- builder -----------------------------------------------------------------------------------

    def add_order(self, status: str = "pending", products: list[tuple[str, float]] | None = None,
                  created: datetime | str | None = None, declaration_number: str | None = None,
                  payment_status: str | None = "unpaid", with_email: bool | None = None,
                  source: str = "portal", order_id: int | None = None) -> dict[str, Any]:
        """Add an order in Prom's shape (a new buyer each time) and return a copy of it."""
        with self.lock:
            oid = order_id if order_id is not None else self.next_id
            self.next_id = max(self.next_id, oid) + 1
            when = as_time(created) or self.now()
            self.orders[oid] = _order(oid, when, status, lines_of(products, oid), declaration_number,
                                      payment_status, with_email, source)
            self.save()
            return copy.deepcopy(self.orders[oid])

    def modify_order(self, order_id: int, status: str | None = None, modified: datetime | str | None = None,
                     **fields: Any) -> dict[str, Any]:
        """Change an order as the marketplace would (status, any field); date_modified moves to now."""
        with self.lock:
            order = self.orders[order_id]
            if status is not None:
                order["status"], order["status_name"] = status, self._status_name(status)
            order.update(fields)
            order["date_modified"] = _stamp(as_time(modified) or self.now())
            self.save()
            return copy.deepcopy(order)

    def order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.orders[order_id])

    def _status_name(self, status: str) -> str:
        if status.startswith("custom-"):
            return self.custom_statuses.get(int(status.removeprefix("custom-")), status)
        return STATUS_NAMES.get(status, status)

    # -- FakeServer --------------------------------------------------------------------------------

    def check_auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.error(401, "Authorization failed: invalid or missing token")
        return None

    def success_false_body(self) -> dict[str, Any]:
        return {"error": "Internal error, try again later"}

    def state_dict(self) -> dict[str, Any]:
        return {"orders": list(self.orders.values()), "products": list(self.products.values())}

    def load_state(self, state: dict[str, Any]) -> None:
        self.orders = {o["id"]: o for o in state.get("orders", [])}
        self.products = {p["external_id"]: p for p in state.get("products", [])} or self.products
        self.next_id = max([self.next_id, *(oid + 1 for oid in self.orders)])

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"{API}/orders/list", self._list), web.get(f"{API}/orders/{{id}}", self._get),
                web.post(f"{API}/orders/set_status", self._set_status),
                web.post(f"{API}/delivery/save_declaration_id", self._save_declaration),
                web.post(f"{API}/products/edit_by_external_id", self._edit_products)]

    # -- handlers ----------------------------------------------------------------------------------

    async def _list(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            limit = min(int(query.get("limit", MAX_LIMIT)), MAX_LIMIT)
            last_id = int(query["last_id"]) if "last_id" in query else None
        except ValueError:
            return self.error(400, "limit and last_id must be integers")
        bounds = {key: parse_time(query[key]) for key in
                  ("date_from", "date_to", "last_modified_from", "last_modified_to") if key in query}
        if any(value is None for value in bounds.values()):
            return self.error(400, "dates must look like 2026-12-07T10:00:00")
        with self.lock:
            found = [o for o in sorted(self.orders.values(), key=lambda o: -o["id"])
                     if (last_id is None or o["id"] < last_id) and _within(o, bounds)
                     and query.get("status", o["status"]) == o["status"]]
            page = copy.deepcopy(found[:limit])
        return json_response({"orders": apply_listing_fault(request, page)})

    async def _get(self, request: web.Request) -> web.Response:
        with self.lock:
            order = self.orders.get(_int(request.match_info["id"]))
            if order is None:
                return self.error(404, "Order not found")
            return json_response({"order": copy.deepcopy(order)})

    async def _set_status(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not _int_list(body.get("ids")):
            return self.error(400, "ids: a non-empty list of order ids is required")
        change, problem = self._status_change(body)
        if problem:
            return self.error(400, problem)
        with self.lock:
            processed = [oid for oid in body["ids"] if oid in self.orders]
            for oid in processed:
                self.modify_order(oid, **change)
        return json_response({"processed_ids": processed})

    def _status_change(self, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        if "custom_status_id" in body:
            custom = body["custom_status_id"]
            if custom not in self.custom_statuses:
                return {}, f"custom_status_id: unknown custom status {custom!r}"
            return {"status": f"custom-{custom}"}, None
        status = body.get("status")
        if status not in SETTABLE_STATUSES:
            return {}, f"status: unknown status {status!r}"
        if status != "canceled":
            return {"status": status, "cancellation": None}, None
        reason = body.get("cancellation_reason")
        if reason not in CANCELLATION_REASONS:
            return {}, f"cancellation_reason: unknown reason {reason!r}"
        text = body.get("cancellation_text")
        if reason == "another" and not text:
            return {}, "cancellation_text: required for the reason 'another'"
        return {"status": status, "cancellation": {"title": text or reason, "initiator": "seller",
                                                   "reason": reason}}, None

    async def _save_declaration(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not body.get("declaration_id") or not isinstance(body.get("order_id"), int):
            return self.error(400, "order_id and declaration_id are required")
        if body.get("delivery_type") not in DELIVERY_TYPES:
            return self.error(400, f"delivery_type: one of {', '.join(DELIVERY_TYPES)}")
        with self.lock:
            order = self.orders.get(body["order_id"])
            if order is None:
                return self.error(404, "Order not found")
            provider = dict(order.get("delivery_provider_data") or {"provider": body["delivery_type"]})
            provider["declaration_number"] = str(body["declaration_id"])
            self.modify_order(order["id"], delivery_provider_data=provider)
        return json_response({"status": "success"})

    async def _edit_products(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, list):
            return self.error(400, "a list of products is expected")
        processed: list[str] = []
        errors: dict[str, str] = {}
        with self.lock:
            for item in body:
                ext = str(item.get("id")) if isinstance(item, dict) else str(item)
                problem = self._edit_product(item)
                if problem:
                    errors[ext] = problem
                else:
                    processed.append(ext)
            self.save()
        return json_response({"processed_ids": processed, "errors": errors})

    def _edit_product(self, item: Any) -> str | None:
        if not isinstance(item, dict) or "id" not in item:
            return "id (the product's external id) is required"
        product = self.products.get(str(item["id"]))
        if product is None:
            return "Product with this external id not found"
        price, stock, presence = item.get("price"), item.get("quantity_in_stock"), item.get("presence")
        if price is not None and (not isinstance(price, (int, float)) or price < 0):
            return "price: a non-negative number is expected"
        if stock is not None and (not isinstance(stock, int) or stock < 0):
            return "quantity_in_stock: a non-negative integer is expected"
        if presence is not None and presence not in PRESENCES:
            return f"presence: one of {', '.join(PRESENCES)}"
        product.update({k: v for k, v in (("price", price), ("quantity_in_stock", stock),
                                          ("presence", presence)) if v is not None})
        return None


def _order(oid: int, when: datetime, status: str, lines: list[Any], declaration: str | None,
           payment_status: str | None, with_email: bool | None, source: str) -> dict[str, Any]:
    buyer = person(oid)
    email = buyer.email if with_email is None else (f"buyer{oid}@example.com.ua" if with_email else None)
    total = sum((g.price * Decimal(str(q)) for g, q in lines), Decimal(0))
    return {
        "id": oid, "date_created": _stamp(when), "date_modified": _stamp(when),
        "client_first_name": buyer.first_name, "client_second_name": buyer.second_name,
        "client_last_name": buyer.last_name, "client_id": 880_000 + oid % 100_000, "email": email,
        "phone": buyer.phone,
        "delivery_option": {"id": 13013934, "name": "Нова Пошта"},
        "delivery_address": f"{buyer.city}, Відділення №{buyer.warehouse_number}",
        "delivery_provider_data": {
            "provider": "nova_poshta", "type": "W2W", "sender_warehouse_id": None,
            "recipient_warehouse_id": f"wh-{buyer.city_ref[:8]}-{buyer.warehouse_number}",
            "declaration_number": declaration,
            "recipient_address": {"city_id": buyer.city_ref, "city_name": buyer.city,
                                  "warehouse_id": f"wh-{buyer.city_ref[:8]}-{buyer.warehouse_number}",
                                  "street_name": None, "building_number": None}},
        "payment_option": {"id": 7547961, "name": "Оплата при отриманні"},
        "payment_data": None if payment_status is None else {"type": "cash_on_delivery", "status": payment_status},
        "price": format_uah(total), "full_price": format_uah(total),
        "products": [_product(oid, n, g, q) for n, (g, q) in enumerate(lines)],
        "status": status, "status_name": STATUS_NAMES.get(status, status), "source": source,
        "cancellation": None,
    }


def _product(oid: int, n: int, goods: Any, quantity: float) -> dict[str, Any]:
    return {"id": 1_500_000 + (oid % 10_000) * 10 + n, "external_id": goods.external_id, "name": goods.name_ru,
            "name_multilang": {"ru": goods.name_ru, "uk": goods.name_uk}, "sku": goods.external_id,
            "price": format_uah(goods.price, cents=False), "quantity": float(quantity), "measure_unit": "шт.",
            "total_price": format_uah(goods.price * Decimal(str(quantity)), cents=False)}


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds")



def _within(order: dict[str, Any], bounds: dict[str, datetime | None]) -> bool:
    created, modified = parse_time(order["date_created"]), parse_time(order["date_modified"])
    checks = {"date_from": lambda b: created >= b, "date_to": lambda b: created <= b,
              "last_modified_from": lambda b: modified >= b, "last_modified_to": lambda b: modified <= b}
    return all(checks[key](bound) for key, bound in bounds.items())


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _int_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, int) for v in value)


if __name__ == "__main__":
    serve_main(FakeProm, sys.argv[1:])
