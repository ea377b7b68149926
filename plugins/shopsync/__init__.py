"""shopsync: keep online shops and marketplaces in sync with a retail accounting database."""

__version__ = "0.1.0"
