"""Order fixtures: the run's database with a small shop's worth of accounting data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from orderdata import load_shop_data
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from shopsync import testing


@pytest.fixture
def shop_db(session_engine: Engine) -> Engine:
    """The emptied test database with goods 101-104, warehouses 1-3, stock, prices, a customer, certificates."""
    testing.truncate_all(session_engine)
    load_shop_data(session_engine)
    return session_engine


@pytest.fixture
def thread_engine(shop_db: Engine, db_url: str) -> Iterator[Engine]:
    """An engine without a pool limit: every thread of a concurrency test gets a connection of its own."""
    engine = sa.create_engine(db_url, poolclass=NullPool)
    yield engine
    engine.dispose()
