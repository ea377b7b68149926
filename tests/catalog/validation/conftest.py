"""Fixtures of the validation tests: a feed context with two categories, a directory of published photos."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shopsync.catalog.model import Category, FeedContext


@pytest.fixture
def ctx() -> FeedContext:
    shoes = Category(10, None, "Взуття", None, ("Взуття",))
    boots = Category(11, 10, "Чоботи", None, ("Взуття", "Чоботи"))
    return FeedContext("demo", "Демо", "ТОВ Демо", "https://demo.example", "UAH",
                       datetime(2024, 5, 1, 12, tzinfo=UTC), {10: shoes, 11: boots})


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "photos"
    (directory / "detail").mkdir(parents=True)
    for good in range(1, 10):
        (directory / "detail" / f"{good}_0.jpg").write_bytes(b"jpeg")
    return directory
