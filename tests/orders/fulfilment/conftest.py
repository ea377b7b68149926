"""Fixtures of the shipping tests: the test shop with a Nova Poshta account, and the fake Nova Poshta with the
carrier directory loaded from it (a module with a `shop` of its own uses that one)."""

from __future__ import annotations

import pytest
from shipdata import load_directory, shop_with_carrier


@pytest.fixture
def shop(tmp_path):
    return shop_with_carrier(tmp_path)


@pytest.fixture
def np(shop_db, shop, nova_poshta_api):
    load_directory(shop_db, shop, nova_poshta_api.base_url)
    return nova_poshta_api
