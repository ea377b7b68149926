"""Since when each inbox file has had its size and mtime, kept in inbox_sightings between runs: the
`SettleLog` (shopsync.orders.inbox) the ingest uses, so that a file must hold still for settle_seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from shopsync.core.sql import sql_statement
from shopsync.orders.inbox import printable_name
from shopsync.transport.base import RemoteEntry


class DatabaseSettleLog:
    """Since when each inbox file has had its size and mtime, kept in inbox_sightings between runs."""

    def __init__(self, engine: Engine, shop_id: str) -> None:
        self.engine, self.shop_id = engine, shop_id

    def steady(self, entries: list[RemoteEntry], now: float, settle_seconds: float) -> set[str]:
        moment = datetime.fromtimestamp(now, UTC)
        steady: set[str] = set()
        with self.engine.begin() as conn:
            sightings = conn.execute(sql_statement("orders/inbox_sightings.sql"), {"shop_id": self.shop_id})
            known = {row.name: row for row in sightings}
            for entry in entries:
                key = printable_name(entry.name)
                seen = known.get(key)
                if seen is not None and (seen.size, seen.mtime) == (entry.size, entry.mtime):
                    if (moment - seen.first_seen).total_seconds() >= settle_seconds:
                        steady.add(entry.name)
                    continue
                conn.execute(sql_statement("orders/upsert_inbox_sighting.sql"), {
                    "shop_id": self.shop_id, "name": key, "size": entry.size, "mtime": entry.mtime,
                    "first_seen": moment})
                if settle_seconds <= 0:
                    steady.add(entry.name)
            conn.execute(sql_statement("orders/forget_inbox_sightings.sql"), {
                "shop_id": self.shop_id, "names": [printable_name(entry.name) for entry in entries]})
        return steady
