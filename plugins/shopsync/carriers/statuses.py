"""Carrier status codes in our terms: the default maps a shop file's `carrier.status_map` changes entries of.

Our delivery states (core.fulfilment_settings.DELIVERY_STATES):
    created     the carrier has the document, not the goods yet
    in_transit  on the way (also: address changed, a failed attempt, the date moved by the recipient)
    at_branch   waiting for the buyer at the branch or its parcel locker
    delivered   the buyer took it (COD money, if any, on its way to the sender)
    cod_paid    the COD money was paid out to the sender
    refused     the buyer refused it, or storage ended: the goods come back
    returning / returned   the goods on their way back / back with the sender
    lost, deleted          for a person to look at
A code in no map is stored with the state NULL and flagged on the invoice: it never stops a run.
"""

from __future__ import annotations

# Nova Poshta TrackingDocument.getStatusDocuments StatusCode (reference: channels-carriers.md, section 1)
NOVA_POSHTA: dict[str, str] = {
    "1": "created", "12": "created",
    "2": "deleted", "3": "lost",
    "4": "in_transit", "41": "in_transit", "5": "in_transit", "6": "in_transit", "101": "in_transit",
    "104": "in_transit", "111": "in_transit", "112": "in_transit",
    "7": "at_branch", "8": "at_branch", "14": "at_branch", "107": "at_branch",
    "9": "delivered", "10": "delivered", "106": "delivered",
    "11": "cod_paid",
    "102": "refused", "103": "refused", "105": "refused", "108": "refused",
}

# Ukrposhta status-tracking `event` codes. No public table exists (reference, section 2); tibezh's SDK fixtures
# use random digits, so these defaults are the codes sashalenz/ukrpost-api's EventCode enum names (with its
# reading of them); a shop maps any other code in its file. "41000:10" is the adapter's code for event 41000
# ("delivered") with eventReason_id 10: handed back to the sender (carriers/ukrposhta.py REASON_CODES).
# No event says the COD money was paid out to the sender; the eCom transfers service does: "41000:OP" is the
# adapter's code for a delivered parcel whose COD transfer is "OP" (paid out; COD_PAID_CODE there).
UKRPOSHTA: dict[str, str] = {
    "10601": "created",                                  # shipment created in eCom, not handed in yet
    "10600": "deleted", "10602": "deleted", "10603": "deleted",   # cancelled by the sender, cancelled, deleted
    "10100": "in_transit",                               # accepted (registered) at the sending post office
    "20700": "in_transit", "20800": "in_transit", "20900": "in_transit",   # sorting centre, sent on, to the office
    "21500": "in_transit",                               # sent to the delivery point
    "31100": "in_transit",                               # delivery attempt failed
    "31300": "in_transit", "31400": "in_transit",        # forwarded (after a failed delivery)
    "21700": "at_branch", "21400": "at_branch",          # arrived at the post office / kept in storage there
    "41000": "delivered", "48000": "delivered",          # handed to the recipient (abroad: in the destination country)
    "31200": "returning",                                # on its way back to the sender
    "41000:10": "returned",                              # handed back to the sender
    "41000:OP": "cod_paid",                              # delivered, the COD money paid out to the sender
}

DEFAULT_STATUS_MAPS: dict[str, dict[str, str]] = {"nova_poshta": NOVA_POSHTA, "ukrposhta": UKRPOSHTA}


def status_map(kind: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The codes of one carrier in our delivery states: the defaults, a shop's entries over them."""
    return {**DEFAULT_STATUS_MAPS[kind], **(overrides or {})}
