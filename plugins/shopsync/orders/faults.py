"""Whose fault is an error while one inbox file is handled: the file's, or the environment's?

A fault of the file (its content, its name, its size, an order the database refuses, an exception nobody
foresaw while parsing or applying it) is the same on every try: that file is quarantined with the reason
and the run goes on with the next file. A fault of the environment (the database or the inbox server
unreachable, a connection lost, a deadlock, a disk error) fails the run and leaves the file in the inbox
for the next run; each run that starts a file counts an attempt on its order_files row, and a file whose
attempts keep ending unfinished (also when the process is killed or runs out of memory on it) is
quarantined once it has had tuning.order_file_attempts (shopsync.core.tuning).
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from shopsync.orders.inbox import InboxError
from shopsync.transport.base import PublishError

# SQLSTATE classes that are about the data one order or file sent: data exception (22: a value that does not
# fit, invalid_parameter_value raised by the apply function), integrity (23) and program limit exceeded
# (54: an index row too large). Every other database error is the environment's (08 connection, 40
# deadlock, 53 resources, 57 shutdown or cancel, 42 a schema the code does not match, ...).
FILE_FAULT_SQLSTATE_CLASSES = ("22", "23", "54")


def is_environment_fault(error: BaseException) -> bool:
    """True when trying the same file again later may succeed (the run fails, the file stays)."""
    if isinstance(error, InboxError | PublishError | OSError):
        return True
    if isinstance(error, sa.exc.DBAPIError):
        if error.connection_invalidated or error.orig is None:
            return True
        error = error.orig
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        return state is None or state[:2] not in FILE_FAULT_SQLSTATE_CLASSES
    return isinstance(error, sa.exc.SQLAlchemyError)     # pool timeouts, a closed connection, ...


def describe(error: BaseException, limit: int = 500) -> str:
    """One line for a report: the error's kind and its first line, never its whole (perhaps huge) text."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    described = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return described.encode("utf-8", "replace").decode("utf-8")     # a lone surrogate cannot be stored
