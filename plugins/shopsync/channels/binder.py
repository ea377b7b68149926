"""channel_bindings: which external record is which internal one, and what the channel last acknowledged.

Every push to a channel goes through `push_once`, which makes it exactly once towards the channel:
1. the state to push is hashed; equal to the acknowledged hash -> nothing is sent;
2. a pending push of this very state (recorded, never acknowledged: the run was killed between the call
   and its record) is first checked with the channel (`already_there`): if the channel shows it, it is
   recorded as acknowledged without sending again;
3. otherwise the intent is committed, the call made, the acknowledgement committed.
Pushes of one shop and channel run under one lock (`channel_push_lock`), and each push sends the state
the database holds now, so an older state is never sent after a newer one.

`push_batch` is the same for many records in one call (stock and prices): the intents of the batch are
committed in one transaction, the batch is sent, the items the channel processed are acknowledged and the
ones it refused recorded as refused, in one transaction each. Its states are absolute values hashed by the
caller (in SQL), and a pending one is simply sent again: sending the same absolute state twice is harmless.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shopsync.core.errors import ShopsyncError
from shopsync.core.locks import CHANNEL_PUSHES, session_lock
from shopsync.core.sql import sql_statement
from shopsync.transport.api_client import RemoteError, RemoteRejected

Entity = Literal["order", "good"]
PushOutcome = Literal["unchanged", "pushed", "recognised", "refused"]
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Binding:
    id: int
    shop_id: str
    channel: str
    entity: str
    internal_id: int
    external_id: str
    external_status: str | None
    external_changed_at: datetime | None
    pushed_hash: str | None
    pending_hash: str | None
    pending_state: dict[str, Any] | None
    attempts: int
    last_error: str | None
    refused_hash: str | None

    @classmethod
    def from_row(cls, row: sa.Row) -> Binding:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


class ChannelBusy(ShopsyncError):
    """Another run is pushing to this shop's channel right now: this one leaves it (the next run pushes)."""


def state_hash(state: dict[str, Any]) -> str:
    """sha256 of the state's one JSON spelling: what decides whether a push changes anything."""
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


def bind(conn: sa.Connection, shop_id: str, channel: str, entity: Entity, internal_id: int,
         external_id: str) -> Binding:
    """The binding of this external record, made now if it is the first time (insert-or-skip)."""
    row = conn.execute(sql_statement("channels/bind.sql"), {
        "shop_id": shop_id, "channel": channel, "entity": entity, "internal_id": internal_id,
        "external_id": external_id}).one()
    return Binding.from_row(row)


def find(conn: sa.Connection, shop_id: str, channel: str, entity: Entity, *, external_id: str | None = None,
         internal_id: int | None = None) -> Binding | None:
    """The binding by external id or by internal id (exactly one of them)."""
    if (external_id is None) == (internal_id is None):
        raise ValueError("find a binding by external_id or by internal_id")
    key = {"shop_id": shop_id, "channel": channel, "entity": entity}
    if external_id is not None:
        row = conn.execute(sql_statement("channels/find_binding.sql"), {**key, "external_id": external_id}).first()
    else:
        row = conn.execute(sql_statement("channels/find_binding_of_internal.sql"),
                           {**key, "internal_id": internal_id}).first()
    return None if row is None else Binding.from_row(row)


def record_seen(conn: sa.Connection, binding: Binding, status: str | None, changed_at: datetime | None) -> bool:
    """Keep the channel's status as read now; False (kept as it was) when this read is older than the last."""
    updated = conn.execute(sql_statement("channels/record_seen.sql"),
                           {"binding_id": binding.id, "status": status, "changed_at": changed_at}).first()
    return updated is not None


@contextmanager
def channel_push_lock(engine: Engine, shop_id: str, channel: str, what: str = "statuses") -> Iterator[None]:
    """Hold the shop's lock for pushing `what` (statuses, stock) to this channel (a session advisory lock on a
    connection of its own). Statuses and stock are bindings of different entities, so one channel's status
    push and stock push may run side by side; two pushes of the same kind never do."""
    with session_lock(engine, CHANNEL_PUSHES, f"{shop_id}/{channel}/{what}") as locked:
        if not locked:
            raise ChannelBusy(f"shop {shop_id!r}: another run is pushing {what} to {channel} now; this run leaves it")
        yield


def push_once(engine: Engine, binding: Binding, state: dict[str, Any], *, send: Callable[[dict[str, Any]], None],
              already_there: Callable[[dict[str, Any]], bool], channel_shows_it: bool = False) -> PushOutcome:
    """Push `state` for this binding exactly once (module docstring). `channel_shows_it`: the last read of
    the channel already showed this state (a cancellation that came from the channel): recorded as
    acknowledged without a call. A RemoteError (down, timing out) is raised with the intent kept, so the
    next run checks and tries again; a refusal is recorded and returned, and the same state is not sent
    again."""
    digest = state_hash(state)
    if digest == binding.pushed_hash:
        return "unchanged"
    if digest == binding.refused_hash:
        return "refused"
    if binding.pending_hash == digest and already_there(state):
        _acknowledge(engine, binding, digest)
        return "recognised"
    _record_intent(engine, binding, state, digest)
    if channel_shows_it:
        _acknowledge(engine, binding, digest)
        return "recognised"
    try:
        send(state)
    except RemoteRejected as refused:
        _record(engine, "channels/record_push_refused.sql", binding, str(refused))
        return "refused"
    except RemoteError as failed:
        _record(engine, "channels/record_push_failure.sql", binding, str(failed))
        raise
    _acknowledge(engine, binding, digest)
    return "pushed"


@dataclass(frozen=True)
class BatchItem:
    """One record of a batch push: its binding, the state to send (absolute values) and that state's hash."""

    binding_id: int
    external_id: str
    state: dict[str, Any]
    digest: str


@dataclass
class BatchResult:
    pushed: list[BatchItem]
    refused: dict[str, str]                 # external id -> the channel's reason


# (items) -> (external ids the channel processed, {external id: why it refused that one})
BatchSend = Callable[[Sequence[BatchItem]], tuple[list[str], dict[str, str]]]


def push_batch(engine: Engine, items: Sequence[BatchItem], *, send: BatchSend) -> BatchResult:
    """Push a batch of states exactly once in effect (module docstring): intents first, then the call, then
    each item acknowledged or refused. An item the channel neither processed nor refused counts as refused
    (it would only be left out again). A RemoteError, or a refusal of the whole request, is raised with
    every intent kept and the failure counted, so the next run sends the batch again."""
    if not items:
        return BatchResult([], {})
    with engine.begin() as conn:
        _record_batch_intents(conn, items)
    try:
        processed, errors = send(items)
    except (RemoteError, RemoteRejected) as failed:
        with engine.begin() as conn:
            conn.execute(sql_statement("channels/record_batch_failure.sql"), {
                "binding_ids": [item.binding_id for item in items], "error": str(failed)[:MAX_ERROR_CHARS]})
        raise
    done = set(processed)
    pushed = [item for item in items if item.external_id in done]
    refused = {item.external_id: errors.get(item.external_id) or "not processed by the channel"
               for item in items if item.external_id not in done}
    with engine.begin() as conn:
        _acknowledge_batch(conn, pushed)
        _record_batch_refused(conn, [item for item in items if item.external_id in refused], refused)
    return BatchResult(pushed, refused)


def refuse_batch(engine: Engine, items: Sequence[BatchItem], reasons: dict[str, str]) -> None:
    """Record states the channel cannot take (no record there) as refused without a call: not tried again
    until they change. `reasons` by external id."""
    if items:
        with engine.begin() as conn:
            _record_batch_intents(conn, items)
            _record_batch_refused(conn, items, reasons)


def _record_batch_intents(conn: sa.Connection, items: Sequence[BatchItem]) -> None:
    conn.execute(sql_statement("channels/record_batch_intents.sql"), {
        "binding_ids": [item.binding_id for item in items], "hashes": [item.digest for item in items],
        "states": [json.dumps(item.state, ensure_ascii=False, default=str) for item in items]})


def _acknowledge_batch(conn: sa.Connection, items: Sequence[BatchItem]) -> None:
    if items:
        conn.execute(sql_statement("channels/record_batch_acknowledged.sql"), {
            "binding_ids": [item.binding_id for item in items], "hashes": [item.digest for item in items]})


def _record_batch_refused(conn: sa.Connection, items: Sequence[BatchItem], reasons: dict[str, str]) -> None:
    if items:
        conn.execute(sql_statement("channels/record_batch_refused.sql"), {
            "binding_ids": [item.binding_id for item in items],
            "errors": [reasons[item.external_id][:MAX_ERROR_CHARS] for item in items]})


def _record_intent(engine: Engine, binding: Binding, state: dict[str, Any], digest: str) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("channels/record_push_intent.sql"), {
            "binding_id": binding.id, "state": json.dumps(state, ensure_ascii=False, default=str), "hash": digest})


def _record(engine: Engine, statement: str, binding: Binding, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement(statement), {"binding_id": binding.id, "error": error[:MAX_ERROR_CHARS]})


def _acknowledge(engine: Engine, binding: Binding, digest: str) -> None:
    with engine.begin() as conn:
        conn.execute(sql_statement("channels/record_push_acknowledged.sql"), {"binding_id": binding.id,
                                                                                 "hash": digest})


def read_cursor(conn: sa.Connection, shop_id: str, channel: str, stream: str) -> datetime | None:
    return conn.execute(sql_statement("channels/read_cursor.sql"),
                        {"shop_id": shop_id, "channel": channel, "stream": stream}).scalar()


def move_cursor(conn: sa.Connection, shop_id: str, channel: str, stream: str, position: datetime) -> None:
    conn.execute(sql_statement("channels/move_cursor.sql"),
                 {"shop_id": shop_id, "channel": channel, "stream": stream, "position": position})
