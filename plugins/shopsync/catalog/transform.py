"""Snapshot records -> categories, customers and certificates for the writers; fan_out feeds several writers."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from shopsync.catalog.model import (
    Category,
    CertificateRow,
    CustomerRow,
)

_END = object()


def categories_from_records(records: Iterable[dict]) -> dict[int, Category]:
    """Categories with their path from the root; inactive ones are left out."""
    rows = {row["id"]: row for row in records if row.get("is_active", True)}

    def path_of(category_id: int) -> tuple[str, ...]:
        names: list[str] = []
        seen: set[int] = set()
        current: int | None = category_id
        while current is not None and current in rows and current not in seen:
            seen.add(current)
            names.append(rows[current]["name"])
            current = rows[current]["parent_id"]
        return tuple(reversed(names))

    return {
        category_id: Category(
            id=category_id,
            parent_id=row["parent_id"] if row["parent_id"] in rows else None,
            name=row["name"],
            name_ua=row.get("name_ua"),
            path=path_of(category_id),
            external_id=row.get("external_id"),
        )
        for category_id, row in sorted(rows.items())
    }


def customer_from_record(record: dict[str, Any]) -> CustomerRow:
    return CustomerRow(
        customer_id=record["customer_id"], full_name=record["full_name"], phone=record["phone"],
        email=record["email"], city=record["city"], region=record["region"], np_branch=record["np_branch"],
        address=record["address"], discount_card=record["discount_card"],
        discount_percent=record["discount_percent"], bonus_balance=record["bonus_balance"],
    )


def certificate_from_record(record: dict[str, Any], as_of: date) -> CertificateRow:
    status = record["status"]
    if status == "active" and record["valid_until"] is not None and record["valid_until"] < as_of:
        status = "expired"
    return CertificateRow(
        barcode=record["barcode"], nominal=record["nominal"], currency=record["currency"],
        status=status, valid_until=record["valid_until"],
    )


class _QueueIterator:
    def __init__(self, source: queue.Queue):
        self._source = source

    def __iter__(self) -> Iterator[Any]:
        while True:
            chunk = self._source.get()
            if chunk is _END:
                return
            yield from chunk


def fan_out(chunks: Iterable[Sequence[Any]], consumers: Sequence[Callable[[Iterable[Any]], Any]]) -> list[Any]:
    """Feed one pass of chunked rows to several consumers running in threads; returns their results.

    Converting the snapshot to rows is the expensive part, so it is done once for all feeds.
    A failure in any consumer stops the pass and is raised here.
    """
    queues: list[queue.Queue] = [queue.Queue(maxsize=4) for _ in consumers]
    finished = [threading.Event() for _ in consumers]
    results: list[Any] = [None] * len(consumers)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = consumers[index](_QueueIterator(queues[index]))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)
        finally:
            finished[index].set()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(consumers))]
    for thread in threads:
        thread.start()
    try:
        for chunk in chunks:
            if errors:
                break
            for q, done in zip(queues, finished, strict=True):
                _put_unless_done(q, chunk, done)
    finally:
        for q, done in zip(queues, finished, strict=True):
            _put_unless_done(q, _END, done)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return results


def _put_unless_done(q: queue.Queue, item: Any, done: threading.Event) -> None:
    while not done.is_set():
        try:
            q.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
