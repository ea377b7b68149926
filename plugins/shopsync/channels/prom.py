"""Prom.ua public API (`/api/v1`): orders pulled, statuses and waybills pushed, stock and prices by our ids.

Facts (reference section 3): Bearer token; `GET /orders/list` -> {"orders": [...]}, newest id first, paged
by `limit` (at most 100) and `last_id` (only ids below it); `GET /orders/{id}` -> {"order": {...}};
`POST /orders/set_status` -> {"processed_ids": [...]} (an id left out was not changed);
`POST /delivery/save_declaration_id`; `POST /products/edit_by_external_id` -> {"processed_ids", "errors"}.
Errors are {"error": "..."}, with HTTP 4xx or, at times, 200. The list parameters' names
(`last_modified_from`, `limit`, `last_id`) are inferred: they are the constants below, in one place.
Times in queries are Kyiv local time without an offset, as Prom's cabinet shows them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shopsync.channels.base import KYIV, ChannelOrder, GoodState, OrderState, channel_time
from shopsync.transport.api_client import ApiClient, BearerToken, RemoteRejected, client_for
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

API = "/api/v1"
PAGE_SIZE = 100
MODIFIED_FROM, LIMIT, LAST_ID = "last_modified_from", "limit", "last_id"
CANCELLATION_REASONS = ("not_available", "price_changed", "buyers_request", "not_enough_fields", "duplicate",
                        "invalid_phone_number", "less_than_minimal_price", "another")
DELIVERY_TYPES = {"nova_poshta": "nova_poshta", "ukrposhta": "ukrposhta", "meest": "meest"}


def check_answer(status: int, body: Any) -> None:
    """Prom's refusals: {"error": "..."} (also with HTTP 200)."""
    if isinstance(body, dict) and body.get("error"):
        raise RemoteRejected(str(body["error"]), status=status)


def connect(connection: ConnectionInfo, retry: RetryPolicy | None = None) -> PromApi:
    """The token is the connection's password (or extra `token`)."""
    token = connection.password or connection.extra_str("token")
    if not token:
        raise RemoteRejected(f"connection {connection.conn_id!r}: Prom needs the API token as its password")
    return PromApi(client_for(connection, "prom", BearerToken(token), check_answer, retry))


@dataclass
class PromApi:
    client: ApiClient
    page_size: int = PAGE_SIZE
    kind: str = "prom"

    def changed_orders(self, since: datetime) -> Iterator[ChannelOrder]:
        return (channel_order(raw) for raw in self.orders_modified_since(since))

    def orders_modified_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Every order created or changed at or after `since`, page by page (newest id first)."""
        last_id: int | None = None
        while True:
            params: dict[str, Any] = {MODIFIED_FROM: kyiv_time(since), LIMIT: self.page_size}
            if last_id is not None:
                params[LAST_ID] = last_id
            orders = (self.client.call("GET", f"{API}/orders/list", params=params) or {}).get("orders") or []
            yield from orders
            ids = [order["id"] for order in orders if isinstance(order.get("id"), int)]
            if len(orders) < self.page_size or not ids or (last_id is not None and min(ids) >= last_id):
                return
            last_id = min(ids)

    def order(self, order_id: str) -> dict[str, Any]:
        return (self.client.call("GET", f"{API}/orders/{order_id}") or {}).get("order") or {}

    def set_status(self, order_id: str, status: str, *, cancellation_reason: str | None = None,
                   cancellation_text: str | None = None) -> None:
        body: dict[str, Any] = {"ids": [int(order_id)], "status": status}
        if status == "canceled":
            body["cancellation_reason"] = cancellation_reason or "another"
            if cancellation_text or body["cancellation_reason"] == "another":
                body["cancellation_text"] = cancellation_text or "Скасовано продавцем"
        self._expect_processed(order_id, self.client.call("POST", f"{API}/orders/set_status", body=body))

    def set_custom_status(self, order_id: str, custom_status_id: int) -> None:
        answer = self.client.call("POST", f"{API}/orders/set_status",
                                  body={"ids": [int(order_id)], "custom_status_id": custom_status_id})
        self._expect_processed(order_id, answer)

    def save_declaration(self, order_id: str, declaration_id: str, carrier: str) -> None:
        if carrier not in DELIVERY_TYPES:
            raise RemoteRejected(f"prom: no delivery type for carrier {carrier!r}")
        self.client.call("POST", f"{API}/delivery/save_declaration_id", body={
            "order_id": int(order_id), "declaration_id": declaration_id, "delivery_type": DELIVERY_TYPES[carrier]})

    def edit_products(self, items: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, str]]:
        """Stock and prices by external id (our goods.id): (processed ids, {id: why not})."""
        answer = self.client.call("POST", f"{API}/products/edit_by_external_id", body=list(items)) or {}
        processed = [str(item) for item in answer.get("processed_ids") or []]
        errors = {str(key): str(value) for key, value in (answer.get("errors") or {}).items()}
        return processed, errors

    def product_ids(self, good_ids: Sequence[int]) -> dict[int, str]:
        """Prom addresses products by the shop's own id (the YML offer id): our good id, nothing to look up."""
        return {good_id: str(good_id) for good_id in good_ids}

    def push_good_states(self, items: Sequence[tuple[str, GoodState]]) -> tuple[list[str], dict[str, str]]:
        """Stock, presence and price by external id, in one call (the caller sizes the batch)."""
        return self.edit_products([product_edit(external_id, state) for external_id, state in items])

    def push_order_state(self, external_id: str, state: OrderState) -> None:
        """The status (a cancellation with its reason), then the waybill: Prom keeps them apart."""
        self.set_status(external_id, str(state.status), cancellation_reason=_cancellation_reason(state),
                        cancellation_text=state.cancel_reason)
        if state.waybill and state.carrier in DELIVERY_TYPES:
            self.save_declaration(external_id, state.waybill, state.carrier)

    def shows_order_state(self, external_id: str, state: OrderState) -> bool:
        order = self.order(external_id)
        declaration = (order.get("delivery_provider_data") or {}).get("declaration_number")
        return order.get("status") == state.status and (
            not state.waybill or state.carrier not in DELIVERY_TYPES or str(declaration or "") == state.waybill)

    @staticmethod
    def _expect_processed(order_id: str, answer: Any) -> None:
        processed = [str(item) for item in (answer or {}).get("processed_ids") or []]
        if str(order_id) not in processed:
            raise RemoteRejected(f"prom: order {order_id} was not changed (not in processed_ids)")


def product_edit(external_id: str, state: GoodState) -> dict[str, Any]:
    """One item of edit_by_external_id (reference section 3; the field set is inferred, kept here)."""
    item: dict[str, Any] = {"id": external_id, "quantity_in_stock": state.quantity, "presence": state.presence}
    if state.price is not None:
        item["price"] = float(state.price)
    return item


def _cancellation_reason(state: OrderState) -> str | None:
    """Our cancel reason in Prom's words when it is one of theirs, else "another" with our text."""
    if state.status != "canceled":
        return None
    reason = (state.cancel_reason or "").strip()
    return reason if reason in CANCELLATION_REASONS else "another"


def channel_order(raw: dict[str, Any]) -> ChannelOrder:
    status = str(raw.get("status") or "")
    return ChannelOrder(external_id=str(raw.get("id") or ""), status=status,
                        modified_at=channel_time(raw.get("date_modified") or raw.get("date_created"), KYIV),
                        cancelled=status in ("canceled", "cancelled"), raw=raw)



def kyiv_time(moment: datetime) -> str:
    return moment.astimezone(KYIV).strftime("%Y-%m-%dT%H:%M:%S")
