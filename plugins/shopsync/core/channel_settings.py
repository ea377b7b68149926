"""A shop's marketplaces by API, as its settings file lists them under `channels:` (docs/operations.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopsync.core.schedules import cron_schedule

CHANNEL_KINDS = ("prom", "rozetka", "woocommerce")
# Our invoice states as each channel calls them (reference: channels-carriers.md); a shop file's
# `status_map` changes single entries. A state missing here (or mapped to null) is not pushed: Rozetka tracks
# delivery by the waybill itself, so "delivered" is not sent there; a refusal is told when the goods are back
# ("returned"), not while they travel.
DEFAULT_STATUS_MAPS: dict[str, dict[str, str | int | None]] = {
    "prom": {"reserved": "received", "ready": "received", "shipped": "received", "delivered": "delivered",
             "refused": None, "returned": "canceled", "cancelled": "canceled"},
    "rozetka": {"reserved": 26, "ready": 26, "shipped": 61, "delivered": None, "refused": None, "returned": 19,
                "cancelled": 45},
    "woocommerce": {"reserved": "processing", "ready": "processing", "shipped": "completed",
                    "delivered": "completed", "refused": None, "returned": "cancelled", "cancelled": "cancelled"},
}
DEFAULT_ORDER_PREFIXES = {"prom": "PROM-", "rozetka": "RZ-", "woocommerce": "WC-"}
INVOICE_STATES = ("new", "reserved", "ready", "shipped", "delivered", "refused", "returned", "cancelled")


class ChannelSettings(BaseModel):
    """One marketplace or shop platform the shop sells on by API (docs/decisions.md, channels)."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["prom", "rozetka", "woocommerce"]
    conn_id: str                                  # Airflow Connection: host (and schema/port), login, token
    pull_orders: bool = True
    push_statuses: bool = True
    push_stock: bool = True
    # the invoice number of a channel order: prefix + the channel's order id. A shop whose orders of this
    # channel came as files before sets "" here, so the numbers stay the same (at most one channel may)
    order_prefix: str | None = None
    first_pull_days: Annotated[int, Field(ge=0, le=90)] = 1      # how far back the very first pull looks
    overlap_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300  # each pull starts this long before the last
    status_map: dict[str, str | int | None] = Field(default_factory=dict)
    schedule: str = "*/5 * * * *"

    @field_validator("schedule")
    @classmethod
    def schedule_is_cron(cls, value: str) -> str:
        return cron_schedule(value)

    @field_validator("status_map")
    @classmethod
    def states_are_ours(cls, value: dict[str, str | int | None]) -> dict[str, str | int | None]:
        unknown = sorted(set(value) - set(INVOICE_STATES))
        if unknown:
            raise ValueError(f"unknown invoice state(s) {', '.join(unknown)}; ours are {', '.join(INVOICE_STATES)}")
        return value

    @property
    def invoice_prefix(self) -> str:
        return DEFAULT_ORDER_PREFIXES[self.kind] if self.order_prefix is None else self.order_prefix

    def channel_status(self, state: str) -> str | int | None:
        """What the channel calls our invoice state (None: not pushed)."""
        return {**DEFAULT_STATUS_MAPS[self.kind], **self.status_map}.get(state)
