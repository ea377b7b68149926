"""When a shop's snapshot can no longer be brought up to date by changes alone, so the run must be full.

An incremental extract reads only what change_log lists since the last merge. That is right only while
(a) the settings that shape a feed's bytes are the ones the snapshot was made with, and (b) the database is
the one the snapshot was read from, with a change history that only grows. Each merge records both in the
shop's state (state.json, beside the snapshot); each extract compares:

- content settings: a fingerprint of every shop setting except those listed in NON_CONTENT_SETTINGS (where a
  run is scheduled, published, alerted; orders) and a feed's FEED_CHECK_SETTINGS (core/config.py), plus the
  warehouses the stock is summed over as the database resolves them (an empty list means every active
  warehouse). A new setting counts as content until it is listed here: a needless full rebuild is slow, a
  missed one publishes wrong stock.
- database identity: the catalog_epoch row (schema 007: a random value that a TRUNCATE of any accounting
  table replaces, and that a database created anew gets fresh) and the largest change_log id (a restore of
  an older dump or a change_log emptied makes it go backwards).

A difference means a full extract (every snapshot replaced, so no ghost goods) and, with it, a full feed
pass (the per-good cache is not used without a list of changed goods). Changes made with triggers switched
off (session_replication_role = replica) or DELETEs of change_log rows newer than the snapshot are not
seen: nothing short of reading the whole catalog would see them, and the validation against the database
(validation/database.py) is what notices their effect.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shopsync.core.config import FEED_CHECK_SETTINGS, ShopSettings
from shopsync.core.sql import sql_statement

NON_CONTENT_SETTINGS = frozenset({"schedule", "destination", "orders_inbox", "owner", "alert_emails", "on_bad_item"})


def content_fingerprint(shop: ShopSettings, warehouse_ids: Sequence[int]) -> str:
    """A digest of what decides the bytes of the shop's feeds (settings, and the warehouses resolved)."""
    dumped = shop.model_dump(mode="json", exclude={"feeds": {"__all__": set(FEED_CHECK_SETTINGS)}})
    settings = {key: value for key, value in dumped.items() if key not in NON_CONTENT_SETTINGS}
    payload = {"settings": settings, "warehouses": sorted(int(w) for w in warehouse_ids)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def database_identity(conn: sa.Connection) -> dict[str, Any]:
    """The database's epoch and change_log's largest id, read in the caller's transaction."""
    row = conn.execute(sql_statement("extract/database_identity.sql")).one()
    return {"epoch": None if row.epoch is None else str(row.epoch), "change_log_id": int(row.change_log_id)}


def full_rebuild_reason(recorded: dict, fingerprint: str, identity: dict[str, Any]) -> str | None:
    """Why the snapshot described by `recorded` (the shop state of one data set) cannot be updated
    incrementally; None when it can."""
    if recorded.get("force_full"):
        return str(recorded["force_full"])
    if recorded.get("content_settings") != fingerprint:
        return "content settings changed since the last run (or were never recorded)"
    source = recorded.get("database") or {}
    if source.get("epoch") != identity["epoch"]:
        return "the database was truncated, reseeded or replaced since the last run (catalog epoch changed)"
    if int(source.get("change_log_id", 0)) > identity["change_log_id"]:
        return "the database's change history went backwards (restored or emptied change_log)"
    return None
