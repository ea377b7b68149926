"""`shopsync cancel` with shipping: before a waybill exists only; a cut-off run's document is looked up first."""

from __future__ import annotations

import pytest
from orderdata import free, scalar
from shipdata import invoice, opener, ordered, requested, ship, shipment

from shopsync.orders.fulfilment import shipping, waybills
from shopsync.orders.workflow import InvalidTransition


def cancel(engine, shop, np, invoice_id, **kwargs):
    return shipping.cancel_invoice(engine, shop, invoice_id, "buyer changed their mind",
                                   open_carrier=opener(np.base_url), **kwargs)


def test_a_requested_shipment_goes_with_its_cancelled_invoice(shop_db, shop, np):
    invoice_id = ordered(shop_db, "C-1")
    requested(shop_db, shop, invoice_id)
    free_before = free(shop_db, 101)
    assert cancel(shop_db, shop, np, invoice_id) == {101: 2}
    assert invoice(shop_db, invoice_id).status == "cancelled" and free(shop_db, 101) == free_before + 2
    assert scalar(shop_db, "SELECT state FROM shipments WHERE invoice_id = :i", i=invoice_id) == "cancelled"
    assert ship(shop_db, shop, np).shipped == [] and np.documents() == []


def test_a_cut_off_creation_whose_document_exists_is_shipped_not_cancelled(shop_db, shop, np):
    invoice_id = ordered(shop_db, "C-2")
    requested(shop_db, shop, invoice_id)
    np.fail_next("timeout", path="/v2.0/json*", processed=True, delay=3)
    with pytest.raises(shipping.ShippingIncomplete):
        ship(shop_db, shop, np, timeout=1)

    [document] = np.documents()
    with pytest.raises(InvalidTransition, match=f"is shipped: waybill {document['IntDocNumber']} exists"):
        cancel(shop_db, shop, np, invoice_id)
    assert invoice(shop_db, invoice_id).status == "shipped"
    assert (shipment(shop_db, invoice_id).state, shipment(shop_db, invoice_id).waybill_number) == (
        "created", document["IntDocNumber"])


def test_a_cut_off_creation_the_carrier_never_got_is_cancelled(shop_db, shop, np):
    invoice_id = ordered(shop_db, "C-3")
    requested(shop_db, shop, invoice_id)
    np.fail_next("500", path="/v2.0/json*")
    with pytest.raises(shipping.ShippingIncomplete):
        ship(shop_db, shop, np)
    assert shipment(shop_db, invoice_id).state == "creating"

    cancel(shop_db, shop, np, invoice_id)
    assert invoice(shop_db, invoice_id).status == "cancelled" and shipment(shop_db, invoice_id) is None
    assert ship(shop_db, shop, np).shipped == [] and np.documents() == []


def test_a_shipped_invoice_cannot_be_cancelled(shop_db, shop, np):
    invoice_id = ordered(shop_db, "C-4")
    requested(shop_db, shop, invoice_id)
    ship(shop_db, shop, np)
    with pytest.raises(InvalidTransition, match="is shipped; only new, reserved or ready"):
        cancel(shop_db, shop, np, invoice_id)
    assert shipment(shop_db, invoice_id).state == "created"


def test_cancel_waits_for_a_running_pass_then_gives_up(shop_db, shop, np):
    invoice_id = ordered(shop_db, "C-5")
    with waybills.shipping_lock(shop_db, shop.id), pytest.raises(waybills.ShippingBusy):
        cancel(shop_db, shop, np, invoice_id, wait_seconds=0.5)
    assert invoice(shop_db, invoice_id).status == "reserved"
