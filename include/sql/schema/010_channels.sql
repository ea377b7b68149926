-- shopsync schema version 10: marketplaces and shop platforms by API (Prom.ua, Rozetka, WooCommerce).
--
-- channel_bindings: which external id is which internal one, per shop and channel, and what the channel
-- last acknowledged from us. Every push goes through a binding, so nothing is pushed twice and nothing
-- older overwrites newer:
--   entity          'order' (internal_id = invoices.id) or 'good' (internal_id = goods.id)
--   external_status the channel's own status as we last read it (Prom 'pending', Rozetka '26', ...)
--   external_changed_at  the channel's modification time of what we last read (older reads are ignored)
--   pushed_state / pushed_hash / pushed_at   what the channel acknowledged last (the hash decides "changed")
--   pending_state / pending_hash / pending_since  a push recorded before the call and not yet acknowledged:
--           after a kill between the call and its record, the next run asks the channel before sending again
--   attempts / last_error  failed pushes of the pending state, and why
--   refused_hash    the state the channel refused as such (a move it does not allow): not sent again until
--           the state changes, and shown to a person
CREATE TABLE channel_bindings (
    id                  bigserial   PRIMARY KEY,
    shop_id             text        NOT NULL,
    channel             text        NOT NULL CHECK (channel IN ('prom', 'rozetka', 'woocommerce')),
    entity              text        NOT NULL CHECK (entity IN ('order', 'good')),
    internal_id         bigint      NOT NULL,
    external_id         text        NOT NULL CHECK (external_id <> ''),
    external_status     text,
    external_changed_at timestamptz,
    pushed_state        jsonb,
    pushed_hash         text,
    pushed_at           timestamptz,
    pending_state       jsonb,
    pending_hash        text,
    pending_since       timestamptz,
    attempts            integer     NOT NULL DEFAULT 0,
    last_error          text,
    refused_hash        text,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT channel_bindings_one_per_external UNIQUE (shop_id, channel, entity, external_id),
    CONSTRAINT channel_bindings_one_per_internal UNIQUE (shop_id, channel, entity, internal_id)
);
-- The push of a run reads the bindings whose state may differ from what was pushed.
CREATE INDEX channel_bindings_pending ON channel_bindings (shop_id, channel, entity)
    WHERE pending_hash IS NOT NULL;

-- Where the last pull of each stream stopped (orders changed since), per shop and channel; the next pull
-- starts a little before it (an overlap) and relies on insert-or-skip for what it sees twice.
CREATE TABLE channel_cursors (
    shop_id     text        NOT NULL,
    channel     text        NOT NULL,
    stream      text        NOT NULL,
    position    timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (shop_id, channel, stream)
);

-- A channel order that could not be read or applied (a field missing, a number that is not one, the
-- database refusing it): kept whole with the reasons, so nothing is lost and a person sees it in
-- `shopsync orders --attention`; pulled again and cleared once it applies (the channel fixed it, or we did).
CREATE TABLE channel_order_problems (
    shop_id      text        NOT NULL,
    channel      text        NOT NULL,
    external_id  text        NOT NULL,
    raw          jsonb       NOT NULL,
    reasons      text[]      NOT NULL,
    first_seen   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seen    timestamptz NOT NULL DEFAULT clock_timestamp(),
    times_seen   integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (shop_id, channel, external_id)
);

-- The waybill that comes with a marketplace order (Prom declaration_number, Rozetka ttn) is kept.
ALTER TABLE invoices ADD COLUMN tracking_number text;
