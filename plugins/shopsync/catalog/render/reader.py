"""The read-back pipe: written fragments parsed back into offers, here or in worker processes."""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from shopsync.catalog.feeds.base import TextEncoder, encode_fragments
from shopsync.catalog.model import FeedContext
from shopsync.catalog.render.targets import Target
from shopsync.catalog.validation.read_back import (
    OFFER_COLUMNS,
    YML_PROFILES,
    FeedData,
    FeedUnreadable,
    read_feed,
    yml_offers_data,
)
from shopsync.core.tuning import Tuning

log = logging.getLogger(__name__)


def read_back_job(fragments: pa.StringArray, target: Target, ctx: FeedContext, slice_rows: int) -> tuple:
    """read_offers' arguments for these fragments: their bytes as written, a slice at a time (a parsed XML
    tree takes many times the memory of its text)."""
    encoder = _encoder(target)
    slices = [encode_fragments(fragments.slice(start, slice_rows), encoder)
              for start in range(0, len(fragments), slice_rows)]
    if target.feed.profile in YML_PROFILES:
        return target.feed.profile, "utf-8", b"", slices
    settings = target.feed.model_copy(update={"header": True})
    return target.feed.profile, settings.encoding, encoder.encode(target.writer.header(ctx, settings)), slices


def read_offers(profile: str, encoding: str, header: bytes, slices: list[bytes]) -> FeedData | FeedUnreadable:
    """The offers in written fragments (an unreadable slice is returned, not raised: it is a finding)."""
    import pandas as pd

    parts = []
    try:
        for data in slices:
            document = b"<offers>" + data + b"</offers>" if profile in YML_PROFILES else header + data
            parts.append(read_feed(document, profile, encoding))
    except FeedUnreadable as exc:
        return exc
    frame = pd.concat([part.frame for part in parts], ignore_index=True)
    malformed = [line for part in parts for line in part.malformed_rows]
    return FeedData(frame, missing_columns=parts[0].missing_columns, malformed_rows=malformed)


def _encoder(target: Target) -> TextEncoder:
    return TextEncoder(target.writer.encoding(target.feed))


class OfferReader:
    """Reads written fragments back: here, or (a full pass, many batches) the YML ones in tuning.read_back_workers
    worker processes (read_back_worker.py) that parse earlier batches while this process renders the next
    ones. Parsing the written XML back is the largest part of a full pass; lxml holds the GIL for much of
    it, so threads did not help, and the workers import lxml only (~30 MB each). CSV is read back here by
    pyarrow's parser, which runs outside the GIL."""

    def __init__(self, parallel: bool, tuning: Tuning):
        self.workers = _start_workers(tuning.read_back_workers) if parallel else []
        self.slice_rows = tuning.read_back_rows
        self.turn = 0
        self.worker_peaks_mb: list[float] = []

    def submit_fragments(self, fragments: pa.StringArray, target: Target, ctx: FeedContext) -> Any:
        """Start reading back a target's rendered fragments; result() gives their offers."""
        return self.submit(*read_back_job(fragments, target, ctx, self.slice_rows))

    def submit(self, profile: str, encoding: str, header: bytes, slices: list[bytes]) -> Any:
        if not self.workers or profile not in YML_PROFILES:
            return read_offers(profile, encoding, header, slices)
        worker = self.workers[self.turn % len(self.workers)]
        self.turn += 1
        worker.submit((profile, slices))
        return worker

    def result(self, pending: Any) -> FeedData | FeedUnreadable:
        """A submitted job's offers (each worker's results are taken in the order its jobs were submitted)."""
        if not any(pending is worker for worker in self.workers):
            return pending
        parts = pending.next_result()
        if isinstance(parts, Exception):
            return parts
        columns = {name: [value for part in parts for value in part[name]] for name in OFFER_COLUMNS}
        return yml_offers_data(columns)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.worker_peaks_mb = [worker.peak_mb for worker in self.workers if worker.peak_mb is not None]
        self.workers = []


def _start_workers(count: int) -> list:
    from shopsync.catalog.render.read_back_worker import start_worker

    workers = []
    try:
        for _ in range(count):
            workers.append(start_worker())
    except OSError as exc:
        log.warning("reading feeds back in this process: cannot start a worker process (%s)", exc)
    return workers
