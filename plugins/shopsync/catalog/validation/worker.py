"""A helper process that validates an export run's feeds: `shopsync export` (run_export) starts it at the
beginning of an incremental run, so Great Expectations loads on the other core (2.5-4.5 s of CPU) while the
run extracts, merges and writes, instead of competing with them for the interpreter in a thread.

    python -m shopsync.catalog.validation.worker

One job: (stage, run) -> stage(run)'s result, or the exception it raised. The caller names the stage
("module:function", imported here when the first job comes), so this module knows no pipeline module and
imports none, and the helper runs the stage as the module defines it (not a stand-in a test put in the
caller's process).
"""

from __future__ import annotations

import importlib
from typing import Any

from shopsync.runtime.workers import WorkerProcess, serve


class ValidationWorker:
    def __init__(self) -> None:
        self.worker = WorkerProcess(__name__)

    def validate(self, stage: str, run: Any) -> dict:
        """What the stage ("module:function") returns for run, run in the helper process; raises what it raised."""
        try:
            self.worker.submit((stage, run))
            result = self.worker.next_result()
        finally:
            self.worker.close()
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self) -> None:
        self.worker.close()


def run_stage(stage: str, run: Any) -> dict:
    module, _, function = stage.partition(":")
    return getattr(importlib.import_module(module), function)(run)


def main() -> None:
    from shopsync.catalog.validation.read_back import PROFILES
    from shopsync.catalog.validation.suite import prepare_suites

    prepare_suites(PROFILES)          # GX itself and every profile's suite, while the export still works
    serve(run_stage, uses_arrow=True)


if __name__ == "__main__":
    main()
