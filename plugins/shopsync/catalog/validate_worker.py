"""A helper process that validates an export run's feeds: `shopsync export` (run_export) starts it at the
beginning of an incremental run, so Great Expectations loads on the other core (2.5-4.5 s of CPU) while the
run extracts, merges and writes, instead of competing with them for the interpreter in a thread.

    python -m shopsync.catalog.validate_worker

One job: (run,) -> stages.validate_feeds(run)'s result, or the FeedValidationError it raised.
"""

from __future__ import annotations

from typing import Any

from shopsync.catalog.read_back_worker import WorkerProcess, serve


class ValidationWorker:
    def __init__(self) -> None:
        self.worker = WorkerProcess(__name__)

    def validate(self, run: Any) -> dict:
        """What stages.validate_feeds(run) returns; raises what it raised."""
        try:
            self.worker.submit((run,))
            result = self.worker.next_result()
        finally:
            self.worker.close()
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self) -> None:
        self.worker.close()


def main() -> None:
    from shopsync.catalog import stages
    from shopsync.catalog.validate import PROFILES, prepare_suites

    prepare_suites(PROFILES)          # GX itself and every profile's suite, while the export still works
    serve(stages.validate_feeds)


if __name__ == "__main__":
    main()
