"""What a person wants to know about a shop's shipments at a glance: what shipped, what waits and why, what is
stuck (no carrier status change for `fulfilment.stuck_days`), and the cash on delivery still owed by carriers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from shopsync.core.config import ShopSettings
from shopsync.core.sql import sql_statement


@dataclass
class FulfilmentReport:
    shop_id: str
    shipped: list[dict] = field(default_factory=list)      # {number, carrier, waybill, cod}
    waiting: list[dict] = field(default_factory=list)      # {number, state, reason}
    stuck: list[dict] = field(default_factory=list)        # {number, waybill, state, days}
    cod_outstanding: str = "0.00"
    cod_outstanding_shipments: int = 0

    def as_json(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        lines = [f"shipped: {len(self.shipped)}"
                 + "".join(f"\n  {row['number']}: {row['carrier']} {row['waybill']}"
                           + (f", COD {row['cod']}" if row["cod"] else "") for row in self.shipped)]
        lines.append(f"waiting to ship: {len(self.waiting)}"
                     + "".join(f"\n  {row['number']}: {row['state']}" + (f" ({row['reason']})" if row["reason"] else "")
                               for row in self.waiting))
        lines.append(f"stuck: {len(self.stuck)}"
                     + "".join(f"\n  {row['number']}: {row['waybill']} {row['state'] or 'no status yet'} for "
                               f"{row['days']} day(s)" for row in self.stuck))
        lines.append(f"cash on delivery outstanding: {self.cod_outstanding} over {self.cod_outstanding_shipments} "
                     "shipment(s)")
        return lines


def fulfilment_report(conn: sa.Connection, shop: ShopSettings, since: datetime | None = None,
                      now: datetime | None = None) -> FulfilmentReport:
    """The report as of `now`; `shipped` lists what left since `since` (a run's start; default: the last day)."""
    moment = now or datetime.now(UTC)
    start = since or moment.replace(hour=0, minute=0, second=0, microsecond=0)
    report = FulfilmentReport(shop.id)
    params = {"shop_id": shop.id}
    for row in conn.execute(sql_statement("fulfilment/report_shipped_since.sql"), {**params, "since": start}):
        report.shipped.append({"number": row.external_number, "carrier": row.carrier, "waybill": row.waybill_number,
                               "cod": _money(row.cod_amount) if row.cod_amount else None})
    for row in conn.execute(sql_statement("fulfilment/report_waiting.sql"), params):
        reason = row.last_error or ("waits for the prepayment" if row.payment_status == "unpaid" else None)
        report.waiting.append({"number": row.external_number, "state": row.state, "reason": reason})
    stuck_params = {**params, "now": moment, "stuck_days": shop.fulfilment.stuck_days}
    for row in conn.execute(sql_statement("fulfilment/report_stuck.sql"), stuck_params):
        report.stuck.append({"number": row.external_number, "waybill": row.waybill_number,
                             "state": row.delivery_state, "days": int(row.days)})
    owed = conn.execute(sql_statement("fulfilment/report_cod_outstanding.sql"), params).one()
    report.cod_outstanding = _money(owed.amount)
    report.cod_outstanding_shipments = owed.shipments
    return report


def _money(value: Decimal | None) -> str:
    return f"{Decimal(value or 0):.2f}"
