"""Worker processes: a plain child process (`python -m <module>`) that answers jobs in order.

Jobs come on the child's stdin and results (or the exception a job raised) go out on its stdout, in order, as
length-prefixed pickles; only the parent that started the process writes to it. A plain child process rather
than multiprocessing: spawn would import the parent's __main__ again (running a script without a main guard
twice), and fork would copy a process whose other threads (database read-ahead, library thread pools)
might hold locks. The child module's main() calls serve(handler).
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from queue import Empty, Queue
from typing import Any, BinaryIO

HEADER = struct.Struct("<Q")
RESULT_POLL_SECONDS = 1.0


def write_frame(stream: BinaryIO, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError("the other side closed the stream")
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the stream ended inside a message")
    return pickle.loads(data)  # noqa: S301 - our own parent/child pipe, never outside data


class WorkerProcess:
    """The parent's side: submit(job) never blocks and results come back in order. Two threads keep both
    pipes moving, so neither process waits for the other to read a pipe."""

    def __init__(self, module: str) -> None:
        """Start `python -m module`, whose main() answers each job with one result (through serve)."""
        self.module = module
        self.process = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        self.jobs: Queue = Queue()
        self.results: Queue = Queue()
        self.peak_mb: float | None = None
        self.feeder = threading.Thread(target=self._feed, name="read-back-feeder", daemon=True)
        self.collector = threading.Thread(target=self._collect, name="read-back-collector", daemon=True)
        self.feeder.start()
        self.collector.start()

    def _collect(self) -> None:
        while True:
            try:
                self.results.put(read_frame(self.process.stdout))
            except EOFError:
                self.results.put(_ENDED)
                return
            except BaseException as exc:      # noqa: BLE001 - a broken result stream: raised by next_result
                self.results.put(_Broken(exc))
                return

    def _feed(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                write_frame(self.process.stdin, job)
        except (BrokenPipeError, OSError):
            pass                                  # the worker is gone; result() reports it
        finally:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def submit(self, job: tuple) -> None:
        self.jobs.put(job)

    def next_result(self) -> Any:
        while True:
            try:
                result = self.results.get(timeout=RESULT_POLL_SECONDS)
                break
            except Empty:
                if not self.collector.is_alive() and self.results.empty():
                    raise RuntimeError(f"the worker process {self.module}: its results stopped coming") from None
        if result is _ENDED or isinstance(result, _Broken):
            self.results.put(result)
            cause = result.error if isinstance(result, _Broken) else None
            raise RuntimeError(f"the worker process {self.module} ended (exit code {self.process.poll()})") from cause
        return result

    def peak_memory_mb(self) -> float | None:
        """The worker's peak resident memory so far (Linux; None elsewhere or once it has ended)."""
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def close(self) -> None:
        self.peak_mb = self.peak_memory_mb()
        self.jobs.put(None)
        self.feeder.join()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.collector.join()
        self.process.stdout.close()


_ENDED = object()


class _Broken:
    """The collector's end when reading a result failed (not a clean end of the stream)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def serve(handle: Any, *, uses_arrow: bool) -> None:
    """A worker's loop: each job from stdin, handled, its result (or the exception it raised) to stdout.

    A worker is an entry point: one whose jobs use Arrow sets Arrow's allocator itself (`uses_arrow`); one
    that does not never imports Arrow (pyarrow and numpy are ~60 MB of a process's memory).
    When the parent closes stdin the process ends at once (os._exit): every result is already written and
    flushed, and the interpreter's teardown (GX and its imports, the last job's data) took 0.75 s of the
    parent's wait in an incremental export."""
    if uses_arrow:
        from shopsync.runtime.memory import use_jemalloc_for_arrow

        use_jemalloc_for_arrow()
    jobs, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr                      # anything printed by accident must not corrupt the results
    while True:
        try:
            job = read_frame(jobs)
        except EOFError:
            sys.stderr.flush()
            os._exit(0)
        try:
            result = handle(*job)
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            result = exc
        write_frame(results, result)
