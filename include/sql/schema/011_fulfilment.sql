-- shopsync schema version 11: the order's life after the reservation (issue 14).
--
--   reserved -> ready -> shipped (delivery note + waybill) -> delivered (-> COD settled)
--                                                          | refused -> returned
--   reserved | ready -> cancelled
-- 'ready' is written by the accounting program (or `shopsync ship`); everything after it is the
-- fulfilment pipeline's job (orders/fulfilment/).
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check
    CHECK (status IN ('new', 'reserved', 'ready', 'shipped', 'delivered', 'refused', 'returned', 'cancelled'));
-- The carrier's own id of the branch the buyer chose, when the channel gave one (Prom's
-- recipient_warehouse_id): resolved against the carrier directory before the branch text is.
ALTER TABLE invoices ADD COLUMN delivery_branch_ref text;

ALTER TABLE delivery_notes DROP CONSTRAINT delivery_notes_status_check;
ALTER TABLE delivery_notes ADD CONSTRAINT delivery_notes_status_check
    CHECK (status IN ('shipped', 'delivered', 'refused', 'returned'));
ALTER TABLE delivery_notes ADD COLUMN returned_at timestamptz;

-- What left the warehouse on each delivery note, at the cost price of that moment (sales analytics: cost of
-- goods sold at the time of sale, never today's cost price).
CREATE TABLE delivery_note_lines (
    delivery_note_id  bigint         NOT NULL REFERENCES delivery_notes (id) ON DELETE CASCADE,
    line_no           integer        NOT NULL,
    good_id           integer        NOT NULL REFERENCES goods (id),
    warehouse_id      integer        NOT NULL REFERENCES warehouses (id),
    quantity          numeric(14, 3) NOT NULL CHECK (quantity > 0),
    price             numeric(14, 2),                -- the line's price to the buyer
    cost_price        numeric(14, 2),                -- goods.prime_cost when it shipped
    PRIMARY KEY (delivery_note_id, line_no, warehouse_id)
);

-- Money received for an invoice: a prepayment the accounting side records, or cash on delivery the carrier
-- paid out. One row per receipt; `reference` (the waybill for COD) keeps a receipt from being recorded twice.
CREATE TABLE payments (
    id           bigserial      PRIMARY KEY,
    invoice_id   bigint         NOT NULL REFERENCES invoices (id),
    kind         text           NOT NULL CHECK (kind IN ('prepayment', 'cod')),
    amount       numeric(14, 2) NOT NULL CHECK (amount > 0),
    reference    text           NOT NULL,
    received_at  timestamptz    NOT NULL DEFAULT clock_timestamp(),
    created_at   timestamptz    NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT payments_once UNIQUE (invoice_id, kind, reference)
);

-- One shipment per invoice (a cancelled one may be followed by another): what the carrier was asked for and
-- what it answered. Exactly one waybill: the intent (state 'creating', client_key) is committed before the
-- carrier is called; a run that finds a shipment 'creating' asks the carrier for the document with that
-- client_key (Nova Poshta getDocumentList of the ship date) before it creates another.
--   requested  ready to ship, nothing asked of the carrier yet
--   creating   the carrier was (maybe) asked: look it up before asking again
--   created    the waybill exists (number, ref); the invoice is shipped in the same transaction
--   failed     the address could not be resolved or the carrier refused the request: flagged, nothing created
--   cancelled  the invoice was cancelled before a waybill existed (or the waybill was deleted)
CREATE TABLE shipments (
    id                  bigserial      PRIMARY KEY,
    shop_id             text           NOT NULL,
    invoice_id          bigint         NOT NULL REFERENCES invoices (id),
    carrier             text           NOT NULL CHECK (carrier IN ('nova_poshta', 'ukrposhta')),
    state               text           NOT NULL DEFAULT 'requested'
                        CHECK (state IN ('requested', 'creating', 'created', 'failed', 'cancelled')),
    client_key          text           NOT NULL UNIQUE,   -- our marker on the carrier's document
    ship_date           date,
    weight_kg           numeric(8, 3),
    seats               integer        CHECK (seats > 0),
    cod_amount          numeric(14, 2),                    -- NULL: no cash on delivery
    cod_form            text           CHECK (cod_form IN ('money_transfer', 'payment_control')),
    declared_value      numeric(14, 2),
    request             jsonb,                             -- what was sent (without secrets)
    carrier_ref         text,                              -- Nova Poshta Ref / Ukrposhta uuid
    waybill_number      text,
    delivery_cost       numeric(14, 2),
    estimated_delivery  date,
    attempts            integer        NOT NULL DEFAULT 0,
    last_error          text,
    -- tracking: the carrier's last status, our delivery state, and when it last changed
    delivery_state      text,                              -- created | in_transit | at_branch | delivered |
                                                           -- cod_paid | refused | returning | returned | lost
    carrier_status      text,
    carrier_status_text text,
    status_changed_at   timestamptz,
    tracked_at          timestamptz,
    return_waybill      text,                              -- the carrier's return document after a refusal
    cod_paid_amount     numeric(14, 2),
    cod_paid_at         timestamptz,
    delivery_note_id    bigint         REFERENCES delivery_notes (id),
    requested_at        timestamptz    NOT NULL DEFAULT clock_timestamp(),
    intent_at           timestamptz,
    created_at          timestamptz    NOT NULL DEFAULT clock_timestamp(),
    updated_at          timestamptz    NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX shipments_one_live_per_invoice ON shipments (invoice_id) WHERE state <> 'cancelled';
CREATE UNIQUE INDEX shipments_one_per_waybill ON shipments (carrier, waybill_number) WHERE waybill_number IS NOT NULL;
CREATE INDEX shipments_open ON shipments (shop_id, state, delivery_state);

-- Every status a carrier reported for a shipment, once each, with the carrier's time; `state` is our
-- delivery state for the code (NULL: a code the map does not know, flagged on the invoice, never a crash).
CREATE TABLE shipment_status_history (
    shipment_id  bigint      NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    waybill      text        NOT NULL,
    code         text        NOT NULL,
    status_text  text,
    state        text,
    status_at    timestamptz NOT NULL,
    seen_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    raw          jsonb,
    PRIMARY KEY (shipment_id, waybill, code, status_at)
);

-- Messages to buyers (the waybill, an invoice to pay): at most once each. The row is written 'sending' before
-- the SMTP call; one left 'sending' by a kill is not sent again (the buyer may have it) but shown as 'unknown'.
CREATE TABLE buyer_messages (
    invoice_id   bigint      NOT NULL REFERENCES invoices (id),
    kind         text        NOT NULL CHECK (kind IN ('waybill', 'payment_request')),
    recipient    text        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'unknown')),
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text,
    sent_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (invoice_id, kind)
);

-- A local copy of each carrier's directory of cities and branches, refreshed weekly
-- (dags/carrier_directory.py); waybills are addressed from it, never from free text.
CREATE TABLE carrier_cities (
    carrier     text        NOT NULL,
    ref         text        NOT NULL,
    name        text        NOT NULL,                      -- Ukrainian name
    name_ru     text,
    area        text,                                      -- oblast
    kind        text,                                      -- місто, село, смт ...
    is_active   boolean     NOT NULL DEFAULT true,         -- false: gone from the last refresh
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (carrier, ref)
);
CREATE INDEX carrier_cities_name ON carrier_cities (carrier, lower(name));

CREATE TABLE carrier_branches (
    carrier      text        NOT NULL,
    ref          text        NOT NULL,
    city_ref     text        NOT NULL,
    number       text,                                     -- "33" of "Відділення №33"
    kind         text,                                     -- branch | postomat | cargo
    description  text        NOT NULL,
    address      text,
    postcode     text,
    max_weight_kg numeric(8, 2),
    is_active    boolean     NOT NULL DEFAULT true,
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (carrier, ref)
);
CREATE INDEX carrier_branches_city_number ON carrier_branches (carrier, city_ref, number);

CREATE TABLE carrier_directory_refreshes (
    carrier       text        NOT NULL,
    refreshed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    cities        integer     NOT NULL,
    branches      integer     NOT NULL,
    deactivated   integer     NOT NULL,
    PRIMARY KEY (carrier, refreshed_at)
);
