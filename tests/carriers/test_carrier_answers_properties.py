"""Hostile tracking answers: whatever a carrier (or something pretending to be one) sends for a parcel, it is read
into a status with a text code and an aware time, or refused with a clear error; it never crashes a run."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopsync.carriers import nova_poshta, ukrposhta
from shopsync.carriers.base import TrackingStatus
from shopsync.core.fulfilment_settings import CarrierSettings
from shopsync.transport.api_client import RemoteError, RemoteRejected
from shopsync.transport.connections import ConnectionInfo

FAST = settings(max_examples=200, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
NP_KEYS = ["Number", "StatusCode", "Status", "DateCreated", "RecipientDateTime", "TrackingUpdateDate",
           "ActualDeliveryDate", "RedeliverySum", "AfterpaymentOnGoodsCost", "LastCreatedOnTheBasisNumber",
           "LastCreatedOnTheBasisDocumentType", "DocumentCost", "AnnouncedPrice", "Redelivery", "PaymentStatus"]
UP_KEYS = ["barcode", "event", "eventName", "name", "date", "eventReason", "eventReason_id", "index", "step"]
HOSTILE_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(
    ["NaN", "Infinity", "1E+999999999", "9" * 60, "1 250,50", "-5", "0", "\ud800", "\x00", "", " ", "31.02.2023",
     "2023-13-45 25:61:61", "0001-01-01 00:00:00", "07.04.2023 13:35:58", "06-04-2023 08:20:34", "80", "11"]))
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                         st.floats(allow_nan=True, allow_infinity=True), HOSTILE_TEXT)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)), max_leaves=20)
NP_SETTINGS = CarrierSettings.model_validate({"kind": "nova_poshta", "conn_id": "np", "sender": {
    "name": "Тест", "phone": "380501234567", "city_ref": "c", "counterparty_ref": "s", "address_ref": "a",
    "contact_ref": "p"}})
NP = nova_poshta.connect(ConnectionInfo(conn_id="np", host="127.0.0.1", port=9, schema="http", password="k"),
                         NP_SETTINGS)


def assert_readable(status: TrackingStatus) -> None:
    assert isinstance(status.code, str) and isinstance(status.number, str) and isinstance(status.text, str)
    assert status.at.tzinfo is not None and status.at.utcoffset() is not None
    assert status.cod_amount is None or (status.cod_amount.is_finite() and status.cod_amount > Decimal(0))
    json.dumps(status.raw)                           # goes into a jsonb column as it is


@FAST
@given(st.dictionaries(st.one_of(st.sampled_from(NP_KEYS), st.text(max_size=8)), JSON_VALUES, max_size=10))
def test_a_nova_poshta_tracking_item_of_any_shape_is_a_status(item: dict) -> None:
    assert_readable(NP.status_of(item))


@FAST
@given(st.text(max_size=20), st.dictionaries(st.one_of(st.sampled_from(UP_KEYS), st.text(max_size=8)), JSON_VALUES,
                                             max_size=10))
def test_an_ukrposhta_tracking_answer_of_any_shape_is_a_status_or_a_clear_refusal(number: str, answer: dict) -> None:
    try:
        status = ukrposhta.tracking_status(number, answer)
    except (RemoteError, RemoteRejected) as error:   # a clear error: the run records it and goes on
        assert str(error)
        return
    assert_readable(status)
