"""Rozetka Seller API: orders pulled, statuses and waybills (`ttn`) pushed, the allowed next statuses read.

Facts (reference section 4): `POST /sites` {"username", "password": base64} -> {"success": true, "content":
{"access_token"}}, then `Authorization: Bearer`; `GET /orders/search` (`page`, `types` 1 = all,
`changed_from`, `expand`) -> {"success": true, "content": {"orders": [...], "_meta": {pageCount, ...}}};
`GET /orders/{id}`; `PUT /orders/{id}` {"status", "ttn", "seller_comment"}, a ttn required for 3 and 61;
`status_available` [{parent_id, child_id}] lists the moves the order allows. Errors are {"success": false,
"errors": {"message", "code", "details"}}, sometimes with HTTP 200.
Inferred (no source confirmed them; the constants below, in one place): the error code 1020 for a dead
token; the paging parameter `per-page` (at most 50); that a page past the end answers the last page again
(Yii2, which the `_meta` block betrays), so paging stops at `pageCount`; times in queries as
"YYYY-MM-DD HH:MM:SS" Kyiv local time; the `expand` names.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from shopsync.channels.base import KYIV, ChannelOrder, OrderState, channel_time
from shopsync.transport.api_client import ApiClient, RemoteRejected, TokenExpired, client_for
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import ConnectionInfo

PAGE_SIZE = 50
PAGE, PER_PAGE, TYPES, CHANGED_FROM, EXPAND = "page", "per-page", "types", "changed_from", "expand"
ALL_TYPES = 1
ORDER_FIELDS = "purchases,delivery,status_available"
TOKEN_EXPIRED_CODE = 1020
TOKEN_EXPIRED_MESSAGE = "incorrect access token"
NEEDS_TTN = frozenset({3, 61})          # handed to the carrier, hand-over planned


def check_answer(status: int, body: Any) -> None:
    """Rozetka's refusals: {"success": false, "errors": {...}} (also with HTTP 200); a dead token renews."""
    if not isinstance(body, dict) or body.get("success") is not False:
        return
    errors = body.get("errors")
    error = errors if isinstance(errors, dict) else {}
    message = str(error.get("message") or "refused without a message")
    code = error.get("code")
    if str(code) == str(TOKEN_EXPIRED_CODE) or message.strip().lower() == TOKEN_EXPIRED_MESSAGE:
        raise TokenExpired(f"{message} (code {code})")
    raise RemoteRejected(f"{message} (code {code})" if code is not None else message, status=status,
                          code=None if code is None else str(code))


@dataclass
class RozetkaLogin:
    """The Auth of a Rozetka account: logs in for a token, forgets it when the channel says it died.

    The login call makes one attempt per attempt of the call it authorises (the client's retries are not
    nested in each other's)."""

    username: str
    password: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    logins: int = 0

    @property
    def secrets(self) -> list[str]:
        return [value for value in (self.password, self._encoded_password, self.token) if value]

    @property
    def _encoded_password(self) -> str:
        return base64.b64encode(self.password.encode("utf-8")).decode("ascii")

    def headers(self, client: ApiClient) -> dict[str, str]:
        if self.token is None:
            self.token = self._log_in(client)
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self, client: ApiClient) -> None:
        self.token = None

    def _log_in(self, client: ApiClient) -> str:
        self.logins += 1
        once = replace(client, retry=RetryPolicy(attempts=1))
        body = {"username": self.username, "password": self._encoded_password}
        try:
            answer = once.call("POST", "/sites", body=body, authorised=False)
        except RemoteRejected as refused:
            raise RemoteRejected(f"{client.name}: the login of user {self.username!r} was refused "
                                  f"({_reason(client, refused)}): check the connection's login and password",
                                  status=refused.status, code=refused.code) from None
        token = content_of(answer).get("access_token")
        if not isinstance(token, str) or not token:
            raise RemoteRejected(f"{client.name}: the login of user {self.username!r} gave no access token")
        return token


def _reason(client: ApiClient, refused: RemoteRejected) -> str:
    """The channel's words without the client's "name: METHOD /path: " prefix."""
    return str(refused).removeprefix(f"{client.name}: POST /sites: ")


def connect(connection: ConnectionInfo, retry: RetryPolicy | None = None) -> RozetkaApi:
    """Username and password are the connection's login and password (the password as typed, not base64)."""
    if not connection.login or not connection.password:
        raise RemoteRejected(f"connection {connection.conn_id!r}: Rozetka needs the seller's username as its "
                              "login and the password as its password")
    auth = RozetkaLogin(connection.login, connection.password)
    return RozetkaApi(client_for(connection, "rozetka", auth, check_answer, retry))


@dataclass
class RozetkaApi:
    client: ApiClient
    page_size: int = PAGE_SIZE
    kind: str = "rozetka"

    def changed_orders(self, since: datetime) -> Iterator[ChannelOrder]:
        return (channel_order(raw) for raw in self.orders_changed_since(since))

    def orders_changed_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        """Every order created or changed at or after `since`, page by page until `_meta.pageCount`.

        An order seen again on a later page (a new order pushed the listing down) is yielded again only
        when it changed in between."""
        seen: set[tuple[Any, Any]] = set()
        page = 1
        while True:
            params = {CHANGED_FROM: kyiv_time(since), TYPES: ALL_TYPES, PAGE: page, PER_PAGE: self.page_size,
                      EXPAND: ORDER_FIELDS}
            content = content_of(self.client.call("GET", "/orders/search", params=params))
            orders = [order for order in content.get("orders") or [] if isinstance(order, dict)]
            for order in orders:
                key = (order.get("id"), order.get("changed"))
                if key not in seen:
                    seen.add(key)
                    yield order
            if not orders or page >= _page_count(content):
                return
            page += 1

    def order(self, order_id: str | int) -> dict[str, Any]:
        answer = self.client.call("GET", f"/orders/{order_id}", params={EXPAND: ORDER_FIELDS})
        return content_of(answer)

    def allowed_statuses(self, order_id: str | int) -> frozenset[int]:
        """The statuses the order may move to now (its `status_available`)."""
        return allowed_statuses(self.order(order_id))

    def set_status(self, order_id: str | int, status: int, ttn: str | None = None,
                   seller_comment: str | None = None) -> dict[str, Any]:
        """Move the order to `status` (with the waybill and a comment); the order as Rozetka shows it now."""
        waybill = "".join(ttn.split()) if ttn else ""
        if status in NEEDS_TTN and not waybill:
            raise RemoteRejected(f"rozetka: order {order_id}: status {status} needs a waybill (ttn); none given")
        body: dict[str, Any] = {"status": status}
        if waybill:
            body["ttn"] = waybill
        if seller_comment:
            body["seller_comment"] = seller_comment
        return content_of(self.client.call("PUT", f"/orders/{order_id}", body=body))

    def push_order_state(self, external_id: str, state: OrderState) -> None:
        """One PUT with the status and the waybill; a move Rozetka does not allow now is refused before it."""
        status = int(state.status)
        allowed = self.allowed_statuses(external_id)
        if status not in allowed:
            raise RemoteRejected(f"rozetka: order {external_id}: the move to status {status} is not allowed now "
                                  f"(allowed: {', '.join(map(str, sorted(allowed))) or 'none'})")
        self.set_status(external_id, status, ttn=state.waybill, seller_comment=state.cancel_reason)

    def shows_order_state(self, external_id: str, state: OrderState) -> bool:
        order = self.order(external_id)
        ttn = "".join(str(order.get("ttn") or "").split())
        return str(order.get("status")) == str(state.status) and (
            not state.waybill or ttn == "".join(state.waybill.split()))


def content_of(answer: Any) -> dict[str, Any]:
    """The `content` object of an answer ({} when there is none)."""
    content = answer.get("content") if isinstance(answer, dict) else None
    return content if isinstance(content, dict) else {}


def allowed_statuses(order: dict[str, Any]) -> frozenset[int]:
    """An order's allowed next statuses, from its `status_available` [{parent_id, child_id}]."""
    moves = order.get("status_available") or []
    return frozenset(int(move["child_id"]) for move in moves
                     if isinstance(move, dict) and str(move.get("child_id", "")).isdigit())


def _page_count(content: dict[str, Any]) -> int:
    """`_meta.pageCount`; a listing without it is refused rather than read as one page (orders would go
    missing without a word)."""
    meta = content.get("_meta")
    try:
        return int(meta["pageCount"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise RemoteRejected(f"rozetka: orders/search answered without _meta.pageCount ({meta!r})") from None


# Cancelled before or instead of delivery: not processed in time, by the buyer, a duplicate, goods returned,
# refunded; and any status in status_group 3 ("unsuccessful": also not collected, refused, returned)
CANCELLED_STATUSES = frozenset({7, 45, 49, 71, 72})
UNSUCCESSFUL_GROUP = 3


def channel_order(raw: dict[str, Any]) -> ChannelOrder:
    status = _int_or_none(raw.get("status"))
    cancelled = status in CANCELLED_STATUSES or _int_or_none(raw.get("status_group")) == UNSUCCESSFUL_GROUP
    return ChannelOrder(external_id=str(raw.get("id") or ""), status="" if status is None else str(status),
                        modified_at=channel_time(raw.get("changed") or raw.get("created"), KYIV),   # Kyiv time
                        cancelled=cancelled, raw=raw)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def kyiv_time(moment: datetime) -> str:
    return moment.astimezone(KYIV).strftime("%Y-%m-%d %H:%M:%S")
