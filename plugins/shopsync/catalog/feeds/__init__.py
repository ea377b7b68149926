"""Feed writers: one per profile, each writing rows to a binary stream (no database, no Airflow).

    writer = get_writer(settings.profile, tuning)
    rows = ...                      # rows of writer.shape: its kind of rows, in its order
    with open(path, "wb") as out:
        stats = writer.write(rows, out, ctx, settings)

`writer.shape` (base.Shape) declares what the writer needs: `rows` "catalog" (CatalogItem or feed batches),
"customers" (CustomerRow) or "certificates" (CertificateRow); `order` "good_id", "model_group" (see
SORT_KEYS) or "stored"; `form` "fragments" (a FragmentWriter, rendered column-wise by the catalog pass) or
"rows". The build stage (catalog/build.py) has one source per shape.

The profile names and their default files are core.config.DEFAULT_FEED_FILES (settings are checked
without importing the writers); this registry has one writer for each, checked on import.
"""

from __future__ import annotations

from shopsync.catalog.feeds.base import SORT_KEYS, FeedWriter, FragmentWriter, WriteStats
from shopsync.catalog.feeds.companions import CustomersCsvWriter, GiftCertificatesCsvWriter, WholesalePricesCsvWriter
from shopsync.catalog.feeds.torgsoft_csv import TorgsoftCsvWriter
from shopsync.catalog.feeds.woocommerce_csv import WooCommerceCsvWriter
from shopsync.catalog.feeds.yml import PromYmlWriter, RozetkaYmlWriter, YmlWriter
from shopsync.core.config import FEED_PROFILES, FeedSettings
from shopsync.core.tuning import DEFAULT_TUNING, Tuning

_WRITERS: dict[str, type[FeedWriter]] = {
    writer.profile: writer
    for writer in (
        TorgsoftCsvWriter, YmlWriter, RozetkaYmlWriter, PromYmlWriter, WooCommerceCsvWriter,
        CustomersCsvWriter, WholesalePricesCsvWriter, GiftCertificatesCsvWriter,
    )
}
PROFILES: tuple[str, ...] = FEED_PROFILES


def _check_registry() -> None:
    if set(_WRITERS) != set(FEED_PROFILES):
        raise RuntimeError(f"feed writers {sorted(_WRITERS)} do not match the profiles {sorted(FEED_PROFILES)}")
    for profile, writer in _WRITERS.items():
        if (writer.shape.form == "fragments") != issubclass(writer, FragmentWriter):
            raise RuntimeError(f"{profile}: shape form {writer.shape.form!r} and writer class do not agree")


_check_registry()


def get_writer(profile: str, tuning: Tuning = DEFAULT_TUNING) -> FeedWriter:
    """A new writer for the profile; ValueError names the known profiles."""
    try:
        writer_class = _WRITERS[profile]
    except KeyError:
        raise ValueError(f"unknown feed profile {profile!r}; known profiles: {', '.join(PROFILES)}") from None
    return writer_class(tuning)


def feed_file_name(settings: FeedSettings) -> str:
    """The published file name: the one in the settings, else the profile's default."""
    return settings.file_name


__all__ = ["PROFILES", "SORT_KEYS", "FeedWriter", "FragmentWriter", "WriteStats", "feed_file_name", "get_writer"]
