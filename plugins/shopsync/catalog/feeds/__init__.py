"""Feed writers: one per profile, each writing rows to a binary stream (no database, no Airflow).

    writer = get_writer(settings.profile)
    rows = sorted(items, key=SORT_KEYS[writer.sort_key])   # or the equivalent ORDER BY in SQL
    with open(path, "wb") as out:
        stats = writer.write(rows, out, ctx, settings)

`writer.kind` says which rows it takes: "catalog" (CatalogItem; also wholesale_prices_csv), "customers"
(CustomerRow), "certificates" (CertificateRow). `writer.sort_key` says how they must be ordered:
"good_id" for every profile except woocommerce_csv ("model_group": see SORT_KEYS).
"""

from __future__ import annotations

from shopsync.catalog.feeds.base import SORT_KEYS, FeedWriter, WriteStats
from shopsync.catalog.feeds.companions import CustomersCsvWriter, GiftCertificatesCsvWriter, WholesalePricesCsvWriter
from shopsync.catalog.feeds.torgsoft_csv import TorgsoftCsvWriter
from shopsync.catalog.feeds.woocommerce_csv import WooCommerceCsvWriter
from shopsync.catalog.feeds.yml import PromYmlWriter, RozetkaYmlWriter, YmlWriter
from shopsync.core.config import FeedSettings

_WRITERS: dict[str, type] = {
    writer.profile: writer
    for writer in (
        TorgsoftCsvWriter, YmlWriter, RozetkaYmlWriter, PromYmlWriter, WooCommerceCsvWriter,
        CustomersCsvWriter, WholesalePricesCsvWriter, GiftCertificatesCsvWriter,
    )
}
PROFILES: tuple[str, ...] = tuple(_WRITERS)


def get_writer(profile: str) -> FeedWriter:
    """A new writer for the profile; ValueError names the known profiles."""
    try:
        writer_class = _WRITERS[profile]
    except KeyError:
        raise ValueError(f"unknown feed profile {profile!r}; known profiles: {', '.join(PROFILES)}") from None
    return writer_class()


def feed_file_name(settings: FeedSettings) -> str:
    """The published file name: the one in the settings, else the profile's default."""
    return settings.file or _WRITERS[settings.profile].default_file


__all__ = ["PROFILES", "SORT_KEYS", "FeedWriter", "WriteStats", "feed_file_name", "get_writer"]
