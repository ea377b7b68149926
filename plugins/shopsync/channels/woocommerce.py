"""WooCommerce REST API v3 (`/wp-json/wc/v3`): orders pulled, statuses and waybill notes pushed, stock and prices
by product id.

Facts (reference section 5 and WooCommerce's REST documentation): Basic auth with the consumer key and secret
(over HTTPS; plain-HTTP sites need OAuth 1.0a, not supported); errors {"code", "message", "data": {"status"}};
listings paged by `page`/`per_page` (at most 100) with the totals in `X-WP-Total`/`X-WP-TotalPages`;
`PUT /orders/{id}` {"status"}; `POST /orders/{id}/notes` {"note", "customer_note"}; `GET /products?sku=a,b`
(SKUs comma-separated; variations are not listed there); `POST /products/batch` {"update": [{"id", ...}]},
at most 100 items, answering 200 with an {"id", "error": {...}} entry for each item it refused.
Choices (docs/decisions.md, "WooCommerce adapter"): `modified_after` is sent in UTC with `dates_are_gmt=true`
(no site time zone to guess), one second early so that "since" includes its own second; orders are listed
newest change first, so an order changed or added during a pull shifts later pages into repeats (dropped by
id), never into gaps, and a listing whose X-WP-Total falls between two pages (an order deleted) is read again
from page 1; a note is looked for before it is added, and after an answer that was lost, so a waybill note is
added once.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shopsync.channels.base import ChannelOrder, GoodState, OrderState, channel_time
from shopsync.transport.api_client import ApiClient, RemoteError, RemoteRejected, client_for
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

log = logging.getLogger(__name__)

API = "/wp-json/wc/v3"
MAX_PAGE = 100           # WooCommerce refuses per_page above 100
MAX_BATCH = 100          # and batches of more than 100 items (413)
SKUS_PER_LOOKUP = 40     # keeps the query string short


@dataclass
class BasicAuth:
    """The consumer key and secret as HTTP Basic auth; a 401 means they are wrong, so renewing cannot help."""

    key: str = field(repr=False)
    secret: str = field(repr=False)

    @property
    def _token(self) -> str:
        return base64.b64encode(f"{self.key}:{self.secret}".encode()).decode("ascii")

    @property
    def secrets(self) -> list[str]:
        return [self.key, self.secret, self._token]

    def headers(self, client: ApiClient) -> dict[str, str]:
        return {"Authorization": f"Basic {self._token}"}

    def renew(self, client: ApiClient) -> None:
        raise RemoteRejected(f"{client.name}: the consumer key and secret were refused (HTTP 401): check the "
                              "connection's login (consumer key) and password (consumer secret)", status=401)


def check_answer(status: int, body: Any) -> None:
    """WooCommerce's refusals: {"code", "message", "data": {"status"}} with a 4xx (5xx and 429 never get here)."""
    if status >= 400 and isinstance(body, dict) and isinstance(body.get("code"), str):
        raise RemoteRejected(_error_text(body), status=status, code=body["code"])


def connect(connection: ConnectionInfo, retry: RetryPolicy | None = None) -> WooCommerceApi:
    """The site is the connection's host (schema, port); login and password are the consumer key and secret;
    extra `api_root` moves the API from /wp-json/wc/v3 (a site with another REST prefix)."""
    if not connection.login or not connection.password:
        raise RemoteRejected(f"connection {connection.conn_id!r}: WooCommerce needs the consumer key as its login "
                              "and the consumer secret as its password")
    auth = BasicAuth(connection.login, connection.password)
    client = client_for(connection, "woocommerce", auth, check_answer, retry)
    return WooCommerceApi(client, api_root="/" + connection.extra_str("api_root", API).strip("/"))


@dataclass
class WooCommerceApi:
    client: ApiClient
    api_root: str = API
    page_size: int = MAX_PAGE
    batch_size: int = MAX_BATCH
    skus_per_lookup: int = SKUS_PER_LOOKUP
    order_direction: str = "desc"     # newest change first: see the module docstring
    max_restarts: int = 3             # a listing that shrinks while read is read again, this often at most
    kind: str = "woocommerce"

    def changed_orders(self, since: datetime) -> Iterator[ChannelOrder]:
        return (channel_order(raw) for raw in self.orders_changed_since(since))

    # -- orders ------------------------------------------------------------------------------------

    def orders_changed_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Every order created or changed at or after `since` (aware), each id once, newest change first."""
        params = {"modified_after": gmt_time(since - timedelta(seconds=1)), "dates_are_gmt": "true",
                  "orderby": "modified", "order": self.order_direction}
        seen: set[Any] = set()
        for page in self._pages("/orders", params):
            for order in page:
                if order.get("id") not in seen:
                    seen.add(order.get("id"))
                    yield order

    def order(self, order_id: str) -> dict[str, Any]:
        return self._object(self.client.call("GET", self._path(f"/orders/{order_id}")))

    def set_status(self, order_id: str, status: str) -> dict[str, Any]:
        """The order as WooCommerce shows it after the change; a status it did not take is a refusal."""
        changed = self._object(self.client.call("PUT", self._path(f"/orders/{order_id}"), body={"status": status}))
        if changed.get("status") != status:
            raise RemoteRejected(f"woocommerce: order {order_id} kept status {changed.get('status')!r} "
                                  f"instead of {status!r}")
        return changed

    def notes(self, order_id: str) -> list[dict[str, Any]]:
        notes = self.client.call("GET", self._path(f"/orders/{order_id}/notes"))
        return [note for note in notes if isinstance(note, dict)] if isinstance(notes, list) else []

    def add_note(self, order_id: str, note: str, customer_note: bool = True) -> dict[str, Any]:
        """A note on the order (a customer note reaches the buyer: the waybill), added once: a note with the same
        text already there is returned instead, also when the answer to adding it was lost."""
        found = self._note_like(order_id, note, customer_note)
        if found is not None:
            return found
        single = replace(self.client, retry=replace(self.client.retry, attempts=1))
        attempt = 1
        while True:
            try:
                return self._object(single.call("POST", self._path(f"/orders/{order_id}/notes"),
                                                body={"note": note, "customer_note": customer_note}))
            except RemoteError as error:
                found = self._note_like(order_id, note, customer_note)
                if found is not None:
                    return found
                if attempt >= self.client.retry.attempts:
                    raise
                attempt += 1
                self._wait(error, attempt)

    # -- products ----------------------------------------------------------------------------------

    def push_order_state(self, external_id: str, state: OrderState) -> None:
        """The status, then the waybill as a note the buyer sees (added once)."""
        self.set_status(external_id, str(state.status))
        if state.waybill:
            self.add_note(external_id, waybill_note(state), customer_note=True)

    def shows_order_state(self, external_id: str, state: OrderState) -> bool:
        if self.order(external_id).get("status") != state.status:
            return False
        return not state.waybill or self._note_like(external_id, waybill_note(state), True) is not None

    def product_ids_by_sku(self, skus: Iterable[str]) -> dict[str, int]:
        """{sku: product id} for the SKUs the shop has (exact match; a SKU with a comma cannot be asked for)."""
        wanted = sorted({sku for sku in skus if sku and "," not in sku})
        found: dict[str, int] = {}
        for chunk in _chunks(wanted, self.skus_per_lookup):
            asked = set(chunk)
            for page in self._pages("/products", {"sku": ",".join(chunk)}):
                found.update({p["sku"]: p["id"] for p in page
                              if p.get("sku") in asked and isinstance(p.get("id"), int)})
        return found

    def product_ids(self, good_ids: Sequence[int]) -> dict[int, str]:
        """The product of each good, found by the SKU our WooCommerce feed writes (`good_sku`)."""
        found = self.product_ids_by_sku(good_sku(good_id) for good_id in good_ids)
        return {good_id: str(found[good_sku(good_id)]) for good_id in good_ids if good_sku(good_id) in found}

    def push_good_states(self, items: Sequence[tuple[str, GoodState]]) -> tuple[list[str], dict[str, str]]:
        return self.update_products(product_update(external_id, state) for external_id, state in items)

    def update_products(self, items: Iterable[Mapping[str, Any]]) -> tuple[list[str], dict[str, str]]:
        """Stock and prices by product id ({"id", "stock_quantity", "regular_price", ...}), in batches:
        (updated ids, {id: why not}); an item WooCommerce refused is reported, not raised."""
        updated: list[str] = []
        errors: dict[str, str] = {}
        for chunk in _chunks([dict(item) for item in items], self.batch_size):
            answer = self.client.call("POST", self._path("/products/batch"), body={"update": chunk})
            results = answer.get("update") if isinstance(answer, dict) else None
            for sent, result in _pair(chunk, results if isinstance(results, list) else []):
                key = str(sent.get("id"))
                if not isinstance(result, dict):
                    errors[key] = "not in WooCommerce's answer"
                elif result.get("error"):
                    errors[key] = _error_text(result["error"])
                else:
                    updated.append(key)
        return updated, errors

    # -- helpers -----------------------------------------------------------------------------------

    def _path(self, path: str) -> str:
        return self.api_root + path

    def _pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Page after page until X-WP-TotalPages (read afresh from each answer: it grows while new orders come)
        or an empty page; without the header, until a short page."""
        page, previous, total, restarts = 1, None, None, 0
        while True:
            items, headers = self.client.exchange("GET", self._path(path),
                                                  params={**params, "per_page": self.page_size, "page": page})
            if not isinstance(items, list):
                raise RemoteError(f"woocommerce: GET {path} answered {type(items).__name__}, not a list")
            items = [item for item in items if isinstance(item, dict)]
            ids = [item.get("id") for item in items]
            total_pages = _int_header(headers, "X-WP-TotalPages")
            shrunk, total = _shrunk(total, _int_header(headers, "X-WP-Total"))
            if shrunk:   # something on a page already read went away: later pages moved up, so read again
                restarts += 1
                if restarts > self.max_restarts:
                    raise RemoteError(f"woocommerce: GET {path} kept shrinking while it was read; next run")
                page, previous = 1, None
                continue
            if not items or (total_pages is None and ids == previous):   # past the end; a server ignoring `page`
                return
            yield items
            last = page >= total_pages if total_pages is not None else len(items) < self.page_size
            if last:
                return
            page, previous = page + 1, ids

    def _note_like(self, order_id: str, text: str, customer_note: bool) -> dict[str, Any] | None:
        return next((note for note in self.notes(order_id)
                     if note.get("note") == text and bool(note.get("customer_note")) == customer_note), None)

    def _wait(self, error: RemoteError, attempt: int) -> None:
        retry = self.client.retry
        delay = min(max(getattr(error, "retry_after", 0.0), retry.delay_before(attempt)), retry.max_delay)
        log.warning("%s; trying again in %.1f s (attempt %d of %d)", error, delay, attempt, retry.attempts)
        self.client.sleep(delay)

    @staticmethod
    def _object(answer: Any) -> dict[str, Any]:
        return answer if isinstance(answer, dict) else {}


def good_sku(good_id: int) -> str:
    """The SKU catalog/feeds/woocommerce_csv.py writes for a good (`item_sku`): unique and never changing."""
    return f"good-{good_id}"


def product_update(product_id: str, state: GoodState) -> dict[str, Any]:
    """One item of products/batch: stock managed, its quantity and status, and the prices as the feed writes
    them (a promotion: regular = the old price, sale = the price; otherwise no sale price)."""
    item: dict[str, Any] = {"id": int(product_id), "manage_stock": True, "stock_quantity": state.quantity,
                            "stock_status": "instock" if state.available else "outofstock"}
    if state.price is not None:
        promo = state.old_price is not None and state.old_price > state.price
        item["regular_price"] = str(state.old_price if promo else state.price)
        item["sale_price"] = str(state.price) if promo else ""
    return item


def waybill_note(state: OrderState) -> str:
    carrier = {"nova_poshta": "Нова пошта", "ukrposhta": "Укрпошта", "meest": "Meest"}.get(state.carrier or "", "")
    return f"Замовлення відправлено{' (' + carrier + ')' if carrier else ''}. Номер ТТН: {state.waybill}"


CANCELLED_STATUSES = frozenset({"cancelled", "refunded", "failed", "trash"})


def channel_order(raw: dict[str, Any]) -> ChannelOrder:
    status = str(raw.get("status") or "")
    return ChannelOrder(external_id=str(raw.get("id") or ""), status=status,
                        modified_at=channel_time(raw.get("date_modified_gmt") or raw.get("date_created_gmt"), UTC),
                        cancelled=status in CANCELLED_STATUSES, raw=raw)



def gmt_time(moment: datetime) -> str:
    """A time as WooCommerce's `*_gmt` fields write it (UTC, no offset, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    message, code = str(error.get("message") or "refused"), error.get("code")
    return f"{message} ({code})" if code else message


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers.get(name, ""))
    except ValueError:
        return None


def _shrunk(before: int | None, now: int | None) -> tuple[bool, int | None]:
    """Whether the listing's X-WP-Total fell since the last page, and the total to compare the next page with."""
    return (before is not None and now is not None and now < before), now if now is not None else before


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _pair(sent: list[dict[str, Any]], results: list[Any]) -> Iterator[tuple[dict[str, Any], Any]]:
    """Each sent item with its result: by id, else by position (a refused item may come back as id 0)."""
    by_id = {str(r.get("id")): r for r in results if isinstance(r, dict) and r.get("id")}
    for position, item in enumerate(sent):
        positional = results[position] if position < len(results) else None
        yield item, by_id.get(str(item.get("id")), positional)
