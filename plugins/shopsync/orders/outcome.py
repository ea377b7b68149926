"""What became of one order file (`FileOutcome`: counts, each order's entry, the quarantine report) and of a
whole run (`IngestSummary`: the files, their counts, the goods reserved, the conflicts)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shopsync.orders.apply import ApplyResult
from shopsync.orders.inbox import printable_name
from shopsync.orders.model import RejectedOrder

NOT_READ = "not read"            # order_files.sha256 of a file refused before reading (too large)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileOutcome:
    file_name: str
    sha256: str
    format: str | None = None
    applied: int = 0
    skipped: int = 0
    flagged: int = 0
    rejected: int = 0
    conflicts: int = 0                       # order numbers sent again with other content (first version kept)
    unreadable: str | None = None            # why the whole file could not be read
    orders: list[dict[str, Any]] = field(default_factory=list)
    reserved: dict[int, str] = field(default_factory=dict)   # good_id -> units reserved now (as text)
    destination: str | None = None           # archive/<name> or quarantine/<name>
    file_id: int | None = None
    cut_off: bool = False                    # unreadable because it ends too early: taken again if it changes
    received: tuple[int, float] | None = None  # size and mtime as read (what "changed" is measured against)
    inbox_name: str | None = None            # the name in the inbox when it is not valid text (file_name shows it)

    @property
    def total(self) -> int:
        return self.applied + self.skipped + self.flagged + self.rejected + self.conflicts

    @property
    def quarantined(self) -> bool:
        return self.unreadable is not None or self.rejected > 0

    def count_rejected(self, rejected: RejectedOrder) -> None:
        """An order that did not land: its position, number and reasons go into the report."""
        self.orders.append({"position": rejected.position, "order_number": rejected.external_number,
                            "status": "rejected", "reasons": rejected.reasons})
        self.rejected += 1

    def count_landed(self, position: int, result: ApplyResult) -> None:
        """An order the database took (applied, skipped, flagged or a conflict), with what it reserved."""
        entry = {"position": position, "order_number": result.external_number, "status": result.status,
                 "invoice_id": result.invoice_id, "reasons": result.reasons,
                 "reserved": {str(good): str(qty) for good, qty in result.reserved.items()}}
        if result.conflict_id is not None:
            entry["conflict_id"] = result.conflict_id
        self.orders.append(entry)
        counter = "conflicts" if result.status == "conflict" else result.status
        setattr(self, counter, getattr(self, counter) + 1)
        for good_id, quantity in result.reserved.items():
            self.reserved[good_id] = str(Decimal(self.reserved.get(good_id, "0")) + quantity)

    def summary_line(self) -> str:
        shown = printable_name(self.file_name)
        if self.unreadable:
            return f"{shown}: QUARANTINED, unreadable: {self.unreadable}"
        where = "quarantined" if self.quarantined else "archived"
        conflicts = f", {self.conflicts} sent again with other content (conflicts)" if self.conflicts else ""
        return (f"{shown} ({self.format}): {self.applied} applied, {self.skipped} skipped as already "
                f"present, {self.flagged} flagged{conflicts}, {self.rejected} rejected -> {where}")

    def conflict_entries(self) -> list[dict[str, Any]]:
        return [{"file": self.file_name, **entry} for entry in self.orders if entry["status"] == "conflict"]

    def error_report(self) -> dict[str, Any]:
        """What the shop manager reads in quarantine/<file>.error.json."""
        problems = [o for o in self.orders if o["status"] == "rejected"]
        return {
            "file": self.file_name,
            "sha256": self.sha256,
            "format": self.format,
            "reason": self.unreadable or f"{self.rejected} of {self.total} orders could not be accepted",
            "orders_rejected": problems,
            "orders_landed": [o for o in self.orders if o["status"] != "rejected"],
            **({"taken_again_when_changed": {
                "size": self.received[0],
                "mtime": datetime.fromtimestamp(self.received[1], UTC).isoformat()}}
               if self.cut_off and self.received else {}),
            "what_to_do": (
                "Fix the rejected orders (or the whole file) and put the file back into the inbox, or run "
                "`shopsync replay --shop <shop> <name in quarantine> [--fixed FILE]`: orders that already landed "
                "are recognised by their order number and are not created twice."
                + (" This file looked cut off: if its upload was still going on, it is taken again by itself "
                   "once the copy in quarantine changes." if self.cut_off else "")
            ),
        }


@dataclass
class IngestSummary:
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def reserved_goods(self) -> list[int]:
        return sorted({good for outcome in self.files for good in outcome.reserved})

    def counts(self) -> dict[str, int]:
        counts = Counter()
        for outcome in self.files:
            counts.update({"applied": outcome.applied, "skipped": outcome.skipped, "flagged": outcome.flagged,
                           "rejected": outcome.rejected, "conflicts": outcome.conflicts,
                           "quarantined_files": int(outcome.quarantined),
                           "archived_files": int(not outcome.quarantined)})
        counts["files"] = len(self.files)
        counts["reserved_goods"] = len(self.reserved_goods)
        return {key: counts.get(key, 0) for key in (
            "files", "applied", "skipped", "flagged", "rejected", "conflicts", "archived_files",
            "quarantined_files", "reserved_goods")}

    def conflicts(self) -> list[dict[str, Any]]:
        """Each order sent again with other content: file, order number, invoice, conflict id, reasons."""
        return [entry for outcome in self.files for entry in outcome.conflict_entries()]
