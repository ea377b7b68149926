"""Errors that operators see as one clear line (the CLI prints them without a traceback).

`retryable` says whether trying the same thing again later can help. The Airflow glue fails a task at
once (no retries, one alert) for an error that is not retryable: bad settings, a feed blocked by
validation, a shrink guard. Transient ones (a database or server that does not answer) retry.
"""

from typing import ClassVar


class ShopsyncError(Exception):
    """A problem the operator can fix: bad settings, unreachable database, invalid input."""

    retryable: ClassVar[bool] = True


class PermanentError(ShopsyncError):
    """The same run would fail the same way again: it fails at once and alerts."""

    retryable: ClassVar[bool] = False


class ConfigError(PermanentError):
    """A shop settings file is missing, unreadable or invalid."""


class DatabaseUrlError(ConfigError):
    """The accounting database URL is empty or cannot be used as written: fixing it is the only cure."""


class DatabaseUnavailable(ShopsyncError):
    """The accounting database URL is wrong or the server does not answer."""
