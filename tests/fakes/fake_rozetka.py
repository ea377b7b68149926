"""A fake Rozetka Seller API (reference section 4) for adapter tests: `FakeRozetka().start()`, or
`python tests/fakes/fake_rozetka.py --port 0 --state-file X` as its own process (prints its base URL).

Reproduced as documented: `POST /sites` {"username", "password": base64} -> {"success": true, "content":
{"access_token"}}, then `Authorization: Bearer`; `GET /orders/search` (page, types, status, created_from/to,
changed_from/to) -> {"success": true, "content": {"orders", "_meta": {totalCount, pageCount, currentPage,
perPage}}}; the order shape (amounts as decimal strings, int statuses, status_group, user_title, ttn,
delivery, purchases, status_available [{parent_id, child_id}]); `PUT /orders/{id}` {"status", "ttn",
"seller_comment"} with ttn required for 3 and 61 and the move checked against status_available; errors
{"success": false, "errors": {"message", "code", "details"}} with HTTP 200.

Token expiry: a token dies after `token_ttl` seconds of the server clock (`advance()` moves it) or after
`token_max_calls` calls. A dead, unknown or missing token gets HTTP 200 {"success": false, "errors":
{"message": "Incorrect access token", "code": 1020, "details": {}}}. HTTP 200 was chosen over 401 because
the reference says Rozetka's errors come "sometimes with HTTP 200": an adapter that only looks at the
status code would take the refusal for an empty answer, so the fake makes that mistake fail loudly
(`token_error_status=401` gives the other variant).
Inferred (no source confirmed them): the error codes (1020 token, 1010 login, 1040 unknown order, 1050
invalid change); the paging parameter `per-page` (default 20, at most 50) and Yii2's habit, which the
`_meta` block betrays, of answering a page past the end with the last page again (clients must stop at
pageCount); listings sorted newest id first (`sort=changed|-changed|id|-id` accepted), so an order
created during paging pushes the others down and one is seen twice; times "YYYY-MM-DD HH:MM:SS" in Kyiv
time; `expand` accepted but every field always present; the seller's allowed moves (`transitions`,
editable); a ttn of digits only; PUT answering the updated order as content.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from fake_http import FakeServer, apply_listing_fault, json_response, read_json, serve_main
from fake_names import lines_of, person
from fake_values import as_time, decimal_string, paginate, parse_time

USERNAME = "shopsync-rozetka"
PASSWORD = "R0zetka-S3cret!pw-Tq4"   # distinctive, so a leak into logs or messages is easy to find
TOKEN_PREFIX = "rozetka-test-token-"
STATUS_NAMES = {1: "Новий", 2: "Комплектується", 3: "Передано в службу доставки", 4: "Доставляється",
                5: "Очікує в пункті самовивозу", 6: "Виконано", 7: "Не оброблено вчасно", 11: "Не забрав",
                12: "Відмовився під час отримання", 18: "Не вдалося зв'язатися з покупцем", 19: "Повернення",
                26: "Оброблено менеджером", 45: "Скасовано покупцем", 49: "Дублікат замовлення",
                61: "Заплановано передачу в службу доставки", 71: "Скасовано, товар повернено",
                72: "Скасовано, кошти повернено"}
SUCCESS = {6}
FAILED = {7, 11, 12, 18, 19, 45, 49, 71, 72}
NEEDS_TTN = {3, 61}
TRANSITIONS = {1: [26, 2, 18, 49], 26: [2, 61, 3, 18, 49], 2: [61, 3, 18], 61: [3], 18: [26, 2]}
TYPES = {1: lambda o: True, 2: lambda o: o["status_group"] == 1, 3: lambda o: o["status_group"] == 2,
         4: lambda o: o["status"] == 1, 5: lambda o: o["status"] in (3, 4, 5),
         6: lambda o: o["status_group"] == 3}
PER_PAGE, MAX_PER_PAGE = 20, 50


def status_group(status: int) -> int:
    return 2 if status in SUCCESS else 3 if status in FAILED else 1


class FakeRozetka(FakeServer):
    """Fake Rozetka Seller API: login, orders, status and waybill changes."""

    name = "rozetka"

    def __init__(self, state_file: Path | str | None = None, token_ttl: float = 24 * 3600,
                 token_max_calls: int | None = None, token_error_status: int = 200) -> None:
        super().__init__(state_file)
        self.username, self.password = USERNAME, PASSWORD
        self.token_ttl, self.token_max_calls, self.token_error_status = token_ttl, token_max_calls, token_error_status
        self.tokens: dict[str, dict[str, float]] = {}   # token -> {"issued": time, "calls": n}
        self.orders: dict[int, dict[str, Any]] = {}
        self.transitions = copy.deepcopy(TRANSITIONS)
        self.next_id = 731_000_101
        self._serial = itertools.count(1)

    # -- builder -----------------------------------------------------------------------------------

    def add_order(self, status: int = 1, products: list[tuple[str, float]] | None = None,
                  created: datetime | str | None = None, ttn: str | None = None,
                  order_id: int | None = None) -> dict[str, Any]:
        """Add an order in Rozetka's shape (a new buyer each time) and return a copy of it."""
        with self.lock:
            oid = order_id if order_id is not None else self.next_id
            self.next_id = max(self.next_id, oid) + 1
            when = as_time(created) or self.now()
            self.orders[oid] = _order(oid, when, status, lines_of(products, oid), ttn)
            self._refresh(self.orders[oid])
            self.save()
            return self.order(oid)

    def modify_order(self, order_id: int, status: int | None = None, changed: datetime | str | None = None,
                     **fields: Any) -> dict[str, Any]:
        """Change an order as Rozetka or the buyer would; `changed` moves to now."""
        with self.lock:
            order = self.orders[order_id]
            if status is not None:
                order["status"] = status
            order.update(fields)
            order["changed"] = _stamp(as_time(changed) or self.now())
            self._refresh(order)
            self.save()
            return self.order(order_id)

    def order(self, order_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.orders[order_id])

    def _refresh(self, order: dict[str, Any]) -> None:
        status = order["status"]
        order["status_group"] = status_group(status)
        order["status_name"] = STATUS_NAMES.get(status, str(status))
        order["status_available"] = [{"parent_id": status, "child_id": child}
                                     for child in self.transitions.get(status, [])]

    # -- FakeServer --------------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        return {"success": False, "errors": {"message": message, "code": status, "details": {}}}

    def success_false_body(self) -> dict[str, Any]:
        return {"success": False, "errors": {"message": "Service temporarily unavailable", "code": 1000,
                                             "details": {}}}

    def failure(self, message: str, code: int, details: Any = None, status: int = 200) -> web.Response:
        return json_response({"success": False, "errors": {"message": message, "code": code,
                                                           "details": details or {}}}, status=status)

    def check_auth(self, request: web.Request) -> web.Response | None:
        if request.path == "/sites":
            return None
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.lock:
            info = self.tokens.get(token)
            if info is not None:
                info["calls"] += 1
            if info is None or self._expired(info):
                return self.failure("Incorrect access token", 1020, status=self.token_error_status)
        return None

    def _expired(self, info: dict[str, float]) -> bool:
        too_old = self.now().timestamp() - info["issued"] >= self.token_ttl
        return too_old or (self.token_max_calls is not None and info["calls"] > self.token_max_calls)

    def expire_tokens(self) -> None:
        """Every token issued so far dies now (the next call gets the 1020 answer)."""
        with self.lock:
            for info in self.tokens.values():
                info["issued"] = -1e12

    def state_dict(self) -> dict[str, Any]:
        return {"orders": list(self.orders.values()), "tokens_issued": len(self.tokens)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.orders = {o["id"]: o for o in state.get("orders", [])}
        self.next_id = max([self.next_id, *(oid + 1 for oid in self.orders)])

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/sites", self._login), web.get("/orders/search", self._search),
                web.get("/orders/{id}", self._get), web.put("/orders/{id}", self._put)]

    # -- handlers ----------------------------------------------------------------------------------

    async def _login(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or body.get("username") != self.username or \
                _unbase64(body.get("password")) != self.password:
            return self.failure("Incorrect username or password", 1010)
        with self.lock:
            token = f"{TOKEN_PREFIX}{next(self._serial)}-{self.now().timestamp():.0f}"
            self.tokens[token] = {"issued": self.now().timestamp(), "calls": 0}
        return json_response({"success": True, "content": {"access_token": token, "permissions": ["orders"]}})

    async def _search(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            page = max(1, int(query.get("page", 1)))
            per_page = min(max(1, int(query.get("per-page", PER_PAGE))), MAX_PER_PAGE)
            types = int(query.get("types", 1))
            statuses = {int(s) for s in query["status"].split(",")} if "status" in query else None
        except ValueError:
            return self.failure("Invalid parameters", 1050, {"query": dict(query)})
        bounds = {key: parse_time(query[key]) for key in
                  ("created_from", "created_to", "changed_from", "changed_to") if key in query}
        if types not in TYPES or any(value is None for value in bounds.values()):
            return self.failure("Invalid parameters", 1050, {"query": dict(query)})
        with self.lock:
            found = [o for o in self.orders.values() if TYPES[types](o) and _within(o, bounds)
                     and (statuses is None or o["status"] in statuses)]
            found = copy.deepcopy(_sorted(found, query.get("sort", "-id")))
        pages = paginate(found, page, per_page)
        if not pages.items and pages.page_count:   # Yii2 clamps a page past the end to the last page
            pages = paginate(found, pages.page_count, per_page)
        meta = {"totalCount": pages.total, "pageCount": pages.page_count, "currentPage": pages.page,
                "perPage": per_page}
        return json_response({"success": True, "content": {"orders": apply_listing_fault(request, pages.items),
                                                           "_meta": meta}})

    async def _get(self, request: web.Request) -> web.Response:
        oid = request.match_info["id"]
        with self.lock:
            if not oid.isdigit() or int(oid) not in self.orders:
                return self.failure("Order not found", 1040, {"id": oid})
            return json_response({"success": True, "content": self.order(int(oid))})

    async def _put(self, request: web.Request) -> web.Response:
        oid, body = request.match_info["id"], await read_json(request)
        if not isinstance(body, dict):
            return self.failure("Invalid request body", 1050)
        with self.lock:
            if not oid.isdigit() or int(oid) not in self.orders:
                return self.failure("Order not found", 1040, {"id": oid})
            order = self.orders[int(oid)]
            problem = self._check_change(order, body)
            if problem:
                return self.failure(problem, 1050, {"status": body.get("status"), "ttn": body.get("ttn")})
            fields = {k: body[k] for k in ("ttn",) if body.get(k)}
            if "seller_comment" in body:
                fields["current_seller_comment"] = body["seller_comment"]
            updated = self.modify_order(order["id"], status=body.get("status"), **fields)
        return json_response({"success": True, "content": updated})

    def _check_change(self, order: dict[str, Any], body: dict[str, Any]) -> str | None:
        status, ttn = body.get("status"), body.get("ttn")
        if ttn is not None and (not isinstance(ttn, str) or not ttn.isdigit()):
            return "ttn: digits only"
        if status is None:
            return None
        allowed = [move["child_id"] for move in order["status_available"]]
        if status not in allowed:
            return f"Status {status} is not available for order in status {order['status']}"
        if status in NEEDS_TTN and not (ttn or order.get("ttn")):
            return f"ttn is required for status {status}"
        return None


def _order(oid: int, when: datetime, status: int, lines: list[Any], ttn: str | None) -> dict[str, Any]:
    buyer = person(oid)
    total = sum((g.price * Decimal(str(q)) for g, q in lines), Decimal(0))
    title = {"first_name": buyer.first_name, "last_name": buyer.last_name, "second_name": buyer.second_name,
             "full_name": f"{buyer.last_name} {buyer.first_name} {buyer.second_name}"}
    return {
        "id": oid, "market_id": 41_234, "created": _stamp(when), "changed": _stamp(when),
        "amount": decimal_string(total), "amount_with_discount": decimal_string(total), "cost": decimal_string(total),
        "cost_with_discount": decimal_string(total), "status": status, "status_group": status_group(status),
        "seller_comment_created": None, "current_seller_comment": "", "comment": "",
        "user_phone": buyer.phone.removeprefix("+"), "user_title": title, "recipient_title": dict(title),
        "recipient_phone": buyer.phone.removeprefix("+"), "ttn": ttn, "total_quantity": int(sum(q for _, q in lines)),
        "payment_type": "cash_on_delivery", "payment_type_name": "Оплата під час отримання товару",
        "delivery": {"delivery_service_id": 2, "delivery_service_name": "Нова Пошта",
                     "delivery_method_id": 1, "recipient_title": title["full_name"],
                     "place_id": 1000 + int(buyer.warehouse_number), "place_street": "вул. Незалежності",
                     "place_number": buyer.warehouse_number, "place_house": "12", "place_flat": None,
                     "cost": "0.00", "city": {"id": 1000 + oid % 5, "name": buyer.city, "name_ua": buyer.city,
                                              "region_title": None}},
        "purchases": [_purchase(oid, n, g, q) for n, (g, q) in enumerate(lines)],
    }


def _purchase(oid: int, n: int, goods: Any, quantity: float) -> dict[str, Any]:
    item_id = 90_000 + int("".join(c for c in goods.external_id if c.isdigit()) or 0)
    return {"id": (oid % 1_000_000) * 10 + n, "item_id": item_id, "item_name": goods.name_uk,
            "quantity": int(quantity), "price": decimal_string(goods.price),
            "cost": decimal_string(goods.price * Decimal(str(quantity))),
            "item": {"id": item_id, "price_offer_id": goods.external_id, "article": goods.external_id,
                     "name": goods.name_uk, "price": decimal_string(goods.price)}}



def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S")



def _within(order: dict[str, Any], bounds: dict[str, datetime | None]) -> bool:
    created, changed = parse_time(order["created"]), parse_time(order["changed"])
    assert created is not None and changed is not None
    checks = {"created_from": lambda b: created >= b, "created_to": lambda b: created <= b,
              "changed_from": lambda b: changed >= b, "changed_to": lambda b: changed <= b}
    return all(checks[key](bound) for key, bound in bounds.items())


def _sorted(orders: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    field = sort.lstrip("-")
    key = {"id": lambda o: o["id"], "changed": lambda o: (o["changed"], o["id"]),
           "created": lambda o: (o["created"], o["id"])}.get(field, lambda o: o["id"])
    return sorted(orders, key=key, reverse=sort.startswith("-"))


def _unbase64(value: Any) -> str | None:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


if __name__ == "__main__":
    serve_main(FakeRozetka, sys.argv[1:])
