"""Errors that operators see as one clear line (the CLI prints them without a traceback)."""


class ShopsyncError(Exception):
    """A problem the operator can fix: bad settings, unreachable database, invalid input."""


class ConfigError(ShopsyncError):
    """A shop settings file is missing, unreadable or invalid."""


class DatabaseUnavailable(ShopsyncError):
    """The accounting database URL is wrong or the server does not answer."""
