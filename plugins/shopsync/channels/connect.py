"""The adapter of a shop's channel, from its settings and its Airflow Connection."""

from __future__ import annotations

from shopsync.channels import prom, rozetka, woocommerce
from shopsync.channels.base import OrderSource, StatusSink
from shopsync.core.config import ChannelSettings
from shopsync.transport.base import RetryPolicy
from shopsync.transport.connections import get_connection

CONNECTORS = {"prom": prom.connect, "rozetka": rozetka.connect, "woocommerce": woocommerce.connect}


def open_channel(channel: ChannelSettings, retry: RetryPolicy | None = None) -> OrderSource | StatusSink:
    """Prom, Rozetka or WooCommerce, talking to the host the connection names (a test server stands in)."""
    return CONNECTORS[channel.kind](get_connection(channel.conn_id), retry)


def pushes_stock(channel: ChannelSettings) -> bool:
    """Whether free stock and prices go to this channel by API (Rozetka's API has no stock endpoint)."""
    return channel.push_stock and channel.kind in ("prom", "woocommerce")
