"""The worker process of render/reader.OfferReader: reads written YML offers back, job after job.

    python -m shopsync.catalog.render.read_back_worker

A job is (profile, slices of offer bytes); its result the offer columns per slice, or the FeedUnreadable. The
worker imports lxml and validation/read_back.py only (~30 MB). The process itself is runtime/workers.py's.
"""

from __future__ import annotations

from shopsync.runtime.workers import WorkerProcess, serve


def start_worker() -> WorkerProcess:
    return WorkerProcess(__name__)


def yml_columns(profile: str, slices: list[bytes]) -> list[dict] | Exception:
    from shopsync.catalog.validation.read_back import FeedUnreadable, yml_offer_columns

    try:
        return [yml_offer_columns(b"<offers>" + data + b"</offers>", profile) for data in slices]
    except FeedUnreadable as exc:
        return exc


def main() -> None:
    serve(yml_columns, uses_arrow=False)     # lxml only: the read-back parses XML into plain lists


if __name__ == "__main__":
    main()
