"""The adapter of a shop's carrier, from its settings and its Airflow Connection."""

from __future__ import annotations

from importlib import import_module

from shopsync.carriers.base import Carrier
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import get_connection


def open_carrier(settings: CarrierSettings, retry: RetryPolicy | None = None) -> Carrier:
    """Nova Poshta or Ukrposhta, talking to the host the connection names (a test server stands in).

    Each adapter module offers `connect(connection, settings, retry)`.
    """
    module = import_module(f"shopsync.carriers.{settings.kind}")
    return module.connect(get_connection(settings.conn_id), settings, retry)
