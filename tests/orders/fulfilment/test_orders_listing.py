"""`shopsync orders` shows each invoice's waybill, its delivery state, and its cash on delivery: due, then
collected once the carrier paid it out."""

from __future__ import annotations

from decimal import Decimal

from orderdata import SHOP, line
from test_cli import run_cli
from trackdata import cli_env, opener, shipped_at, tracking_shop

from shopsync.orders.fulfilment.tracking import track_open


def listed(tmp_path, shop, db_url, number: str) -> str:
    result = run_cli("orders", "--shop", SHOP, env=cli_env(tmp_path, shop, db_url))
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert "delivery" in header and "COD" in header
    return next(line for line in result.stdout.splitlines() if f" {number} " in line)


def test_the_listing_shows_the_waybill_the_delivery_state_and_cod_due_then_collected(shop_db, db_url, tmp_path,
                                                                                       nova_poshta_api):
    shop = tracking_shop(tmp_path)
    _, _, waybill = shipped_at(shop_db, nova_poshta_api, "L-1", cod=Decimal("6000.00"))
    _, _, prepaid = shipped_at(shop_db, nova_poshta_api, "L-2", lines=[line(102, "1")])

    before = listed(tmp_path, shop, db_url, "L-1")
    assert waybill in before and " created " in before and "6000.00 due" in before
    assert "due" not in listed(tmp_path, shop, db_url, "L-2") and prepaid in listed(tmp_path, shop, db_url, "L-2")

    nova_poshta_api.set_status(waybill, "9")
    nova_poshta_api.set_status(waybill, "11")
    track_open(shop_db, shop, open_carrier=opener(nova_poshta_api), now=nova_poshta_api.now())

    after = listed(tmp_path, shop, db_url, "L-1")
    assert " delivered " in after and "cod_paid" in after and "6000.00 collected" in after
