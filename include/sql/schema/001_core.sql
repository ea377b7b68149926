-- shopsync accounting database: core schema (version 1).
-- Every table carries created_at / updated_at maintained by the database.
-- Every change that affects what a shop shows is recorded in change_log
-- (statement-level triggers, so COPY of millions of rows stays fast), which is
-- how an incremental export finds what changed since a point in time,
-- including deletions and deactivations.

CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END $$;

CREATE TABLE change_log (
    id          bigserial PRIMARY KEY,
    entity      text        NOT NULL CHECK (entity IN ('good', 'category', 'customer', 'certificate')),
    entity_id   bigint      NOT NULL,
    op          char(1)     NOT NULL CHECK (op IN ('I', 'U', 'D')),
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX change_log_entity_time ON change_log (entity, changed_at);

-- Classifier (category tree) -------------------------------------------------
CREATE TABLE categories (
    id          integer PRIMARY KEY,
    parent_id   integer REFERENCES categories (id),
    name        text    NOT NULL CHECK (name <> ''),
    name_ua     text,
    sort_order  integer NOT NULL DEFAULT 0,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent ON categories (parent_id);

-- Per-shop / per-marketplace mapping of our categories to theirs.
CREATE TABLE shop_category_map (
    shop_id        text    NOT NULL,
    category_id    integer NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    external_id    text    NOT NULL,
    external_name  text,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (shop_id, category_id)
);

-- Characteristic kinds ("colour", "heel height", ...) and which apply per category.
CREATE TABLE characteristic_kinds (
    id          integer PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    slug        text NOT NULL UNIQUE,
    unit        text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE category_characteristics (
    category_id integer NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    kind_id     integer NOT NULL REFERENCES characteristic_kinds (id),
    PRIMARY KEY (category_id, kind_id)
);

-- Goods -----------------------------------------------------------------------
CREATE TABLE model_groups (
    id          integer PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE goods (
    id              integer PRIMARY KEY,          -- stable GoodID, never reused
    article         text CHECK (length(article) <= 30),
    barcode         text,
    name            text    NOT NULL CHECK (name <> '' AND length(name) <= 500),
    name_ua         text,
    short_name      text,
    description     text,
    description_ua  text,
    brand           text,
    country         text,
    collection      text,
    category_id     integer REFERENCES categories (id),
    model_group_id  integer REFERENCES model_groups (id),
    size            text,
    color           text,
    season          text,
    sex             smallint CHECK (sex BETWEEN 0 AND 5),
    unit            text    NOT NULL DEFAULT 'шт',
    min_order_qty   numeric(14, 3) NOT NULL DEFAULT 1 CHECK (min_order_qty > 0),
    prime_cost      numeric(14, 2) CHECK (prime_cost >= 0),
    supplier_code   text,
    is_active       boolean NOT NULL DEFAULT true,   -- false: withdrawn from sale
    is_visible      boolean NOT NULL DEFAULT true,   -- false: hidden on sites
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX goods_category ON goods (category_id);
CREATE INDEX goods_model_group ON goods (model_group_id);
CREATE INDEX goods_barcode ON goods (barcode);
CREATE INDEX goods_article ON goods (article);

CREATE TABLE good_characteristics (
    good_id     integer NOT NULL REFERENCES goods (id) ON DELETE CASCADE,
    kind_id     integer NOT NULL REFERENCES characteristic_kinds (id),
    value       text    NOT NULL CHECK (value <> ''),
    unit        text,                               -- overrides the kind's unit
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (good_id, kind_id)
);

-- Stock -------------------------------------------------------------------------
CREATE TABLE warehouses (
    id          integer PRIMARY KEY,
    code        text    NOT NULL UNIQUE,
    name        text    NOT NULL,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE stock (
    good_id       integer NOT NULL REFERENCES goods (id) ON DELETE CASCADE,
    warehouse_id  integer NOT NULL REFERENCES warehouses (id),
    on_hand       numeric(14, 3) NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (good_id, warehouse_id)
);

-- Prices ------------------------------------------------------------------------
CREATE TABLE price_types (
    id          integer PRIMARY KEY,
    code        text NOT NULL UNIQUE,       -- retail, old, wholesale, ...
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE prices (
    good_id        integer NOT NULL REFERENCES goods (id) ON DELETE CASCADE,
    price_type_id  integer NOT NULL REFERENCES price_types (id),
    currency       char(3) NOT NULL DEFAULT 'UAH',
    price          numeric(14, 2) NOT NULL CHECK (price >= 0),
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (good_id, price_type_id, currency)
);

-- Wholesale tiers: from min_qty units in the basket, the unit price is price.
CREATE TABLE wholesale_tiers (
    good_id     integer NOT NULL REFERENCES goods (id) ON DELETE CASCADE,
    currency    char(3) NOT NULL DEFAULT 'UAH',
    min_qty     numeric(14, 3) NOT NULL CHECK (min_qty > 0),
    price       numeric(14, 2) NOT NULL CHECK (price > 0),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (good_id, currency, min_qty)
);

-- Photos ------------------------------------------------------------------------
CREATE TABLE photos (
    good_id        integer NOT NULL REFERENCES goods (id) ON DELETE CASCADE,
    position       smallint NOT NULL CHECK (position >= 0),
    original_path  text NOT NULL,      -- relative to the photo root of the database
    checksum       text NOT NULL,      -- sha256 of the original file
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (good_id, position)
);

-- Customers ---------------------------------------------------------------------
CREATE TABLE customers (
    id                bigserial PRIMARY KEY,
    full_name         text NOT NULL,
    email             text,               -- stored lower-case
    country           text,
    region            text,
    city              text,
    zip               text,
    np_branch         text,               -- post office branch (Nova Poshta, ...)
    address           text,
    discount_card     text UNIQUE,
    discount_percent  numeric(5, 2) NOT NULL DEFAULT 0 CHECK (discount_percent BETWEEN 0 AND 100),
    bonus_balance     numeric(14, 2) NOT NULL DEFAULT 0 CHECK (bonus_balance >= 0),
    is_active         boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX customers_email ON customers (email);

-- Phones as people typed them, plus the E.164 form used for matching.
CREATE TABLE customer_phones (
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    phone_raw    text   NOT NULL,
    phone_e164   text   NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (customer_id, phone_e164)
);
CREATE INDEX customer_phones_e164 ON customer_phones (phone_e164);

-- Gift certificates ---------------------------------------------------------------
CREATE TABLE gift_certificates (
    id           bigserial PRIMARY KEY,
    barcode      text NOT NULL UNIQUE,
    nominal      numeric(14, 2) NOT NULL CHECK (nominal > 0),
    currency     char(3) NOT NULL DEFAULT 'UAH',
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'used', 'blocked')),
    valid_until  date,
    used_at      timestamptz,
    used_invoice_id bigint,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Orders: files received, invoices, lines, reservations, delivery notes ----------
CREATE TABLE order_files (
    id           bigserial PRIMARY KEY,
    shop_id      text NOT NULL,
    file_name    text NOT NULL,
    sha256       text NOT NULL,
    format       text,
    status       text NOT NULL CHECK (status IN ('processing', 'archived', 'quarantined')),
    orders_total integer NOT NULL DEFAULT 0,
    applied      integer NOT NULL DEFAULT 0,
    skipped      integer NOT NULL DEFAULT 0,
    flagged      integer NOT NULL DEFAULT 0,
    rejected     integer NOT NULL DEFAULT 0,
    details      jsonb,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX order_files_shop ON order_files (shop_id, created_at);

CREATE TABLE invoices (
    id                bigserial PRIMARY KEY,
    shop_id           text NOT NULL,
    external_number   text NOT NULL CHECK (external_number <> ''),
    customer_id       bigint REFERENCES customers (id),
    status            text NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'reserved', 'shipped', 'delivered', 'cancelled')),
    payment_status    text NOT NULL DEFAULT 'unpaid' CHECK (payment_status IN ('paid', 'unpaid', 'cod')),
    payment_method    text,
    delivery_method   text,
    delivery_city     text,
    delivery_branch   text,
    delivery_address  text,
    comment           text,
    order_date        timestamptz,
    reserve_until     date,
    currency          char(3) NOT NULL DEFAULT 'UAH',
    total             numeric(14, 2) NOT NULL DEFAULT 0,
    bonus_paid        numeric(14, 2) NOT NULL DEFAULT 0 CHECK (bonus_paid >= 0),
    needs_attention   boolean NOT NULL DEFAULT false,
    attention_reasons text[] NOT NULL DEFAULT '{}',
    source_file_id    bigint REFERENCES order_files (id),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT invoices_one_per_external_order UNIQUE (shop_id, external_number)
);
CREATE INDEX invoices_shop_status ON invoices (shop_id, status);

CREATE TABLE invoice_lines (
    invoice_id     bigint  NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    line_no        integer NOT NULL,
    good_id        integer REFERENCES goods (id),   -- NULL when the shop sent an unknown good
    external_ref   text,                            -- what the shop called the good
    name           text,
    quantity       numeric(14, 3) NOT NULL,
    ordered_price  numeric(14, 2),                  -- price as the customer saw it
    db_price       numeric(14, 2),                  -- retail price the database holds
    reserved_qty   numeric(14, 3) NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (invoice_id, line_no)
);

CREATE TABLE reservations (
    id            bigserial PRIMARY KEY,
    invoice_id    bigint  NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    line_no       integer NOT NULL,
    good_id       integer NOT NULL REFERENCES goods (id),
    warehouse_id  integer NOT NULL REFERENCES warehouses (id),
    quantity      numeric(14, 3) NOT NULL CHECK (quantity > 0),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released', 'shipped')),
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (invoice_id, line_no) REFERENCES invoice_lines (invoice_id, line_no) ON DELETE CASCADE
);
CREATE INDEX reservations_active ON reservations (good_id, warehouse_id) WHERE status = 'active';
CREATE INDEX reservations_invoice ON reservations (invoice_id);

CREATE TABLE delivery_notes (
    id              bigserial PRIMARY KEY,
    invoice_id      bigint NOT NULL REFERENCES invoices (id),
    carrier         text NOT NULL,               -- Nova Poshta, Ukrposhta, ...
    waybill_number  text,                        -- the carrier's consignment note (TTN)
    status          text NOT NULL DEFAULT 'shipped' CHECK (status IN ('shipped', 'delivered', 'returned')),
    cod_amount      numeric(14, 2),
    cod_received    boolean NOT NULL DEFAULT false,
    shipped_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Free stock: defined here and nowhere else -----------------------------------------
CREATE VIEW free_stock AS
SELECT s.good_id,
       s.warehouse_id,
       s.on_hand,
       COALESCE(r.reserved, 0)              AS reserved,
       s.on_hand - COALESCE(r.reserved, 0)  AS free
FROM stock s
LEFT JOIN (
    SELECT good_id, warehouse_id, sum(quantity) AS reserved
    FROM reservations
    WHERE status = 'active'
    GROUP BY good_id, warehouse_id
) r USING (good_id, warehouse_id);

-- Guard: active reservations never exceed stock on hand (free stock >= 0).
CREATE OR REPLACE FUNCTION check_free_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT f.good_id, f.warehouse_id, f.free INTO bad
    FROM free_stock f
    JOIN (SELECT DISTINCT good_id, warehouse_id FROM touched) t USING (good_id, warehouse_id)
    WHERE f.free < 0
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'free stock of good % at warehouse % would be %', bad.good_id, bad.warehouse_id, bad.free
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER reservations_keep_free_stock_nonnegative_ins
    AFTER INSERT ON reservations REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION check_free_stock();
CREATE TRIGGER reservations_keep_free_stock_nonnegative_upd
    AFTER UPDATE ON reservations REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION check_free_stock();
CREATE TRIGGER stock_keep_free_stock_nonnegative
    AFTER UPDATE ON stock REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION check_free_stock();

-- Change capture ------------------------------------------------------------------------
-- One function per key column; statement-level with transition tables.
CREATE OR REPLACE FUNCTION log_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entity_name text := TG_ARGV[0];
    key_column  text := TG_ARGV[1];
    op_code     char(1) := left(TG_OP, 1);
BEGIN
    IF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO change_log (entity, entity_id, op)
                        SELECT DISTINCT %L, %I, %L FROM old_rows', entity_name, key_column, op_code);
    ELSE
        EXECUTE format('INSERT INTO change_log (entity, entity_id, op)
                        SELECT DISTINCT %L, %I, %L FROM new_rows', entity_name, key_column, op_code);
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    spec record;
BEGIN
    FOR spec IN
        SELECT * FROM (VALUES
            ('goods', 'good', 'id'),
            ('good_characteristics', 'good', 'good_id'),
            ('stock', 'good', 'good_id'),
            ('prices', 'good', 'good_id'),
            ('wholesale_tiers', 'good', 'good_id'),
            ('photos', 'good', 'good_id'),
            ('reservations', 'good', 'good_id'),
            ('categories', 'category', 'id'),
            ('customers', 'customer', 'id'),
            ('customer_phones', 'customer', 'customer_id'),
            ('gift_certificates', 'certificate', 'id')
        ) AS t (tbl, entity, key_column)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_changes(%L, %L)',
                       spec.tbl || '_log_ins', spec.tbl, spec.entity, spec.key_column);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_changes(%L, %L)',
                       spec.tbl || '_log_upd', spec.tbl, spec.entity, spec.key_column);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_changes(%L, %L)',
                       spec.tbl || '_log_del', spec.tbl, spec.entity, spec.key_column);
    END LOOP;
END $$;

-- updated_at on every table that has it.
DO $$
DECLARE
    tbl text;
BEGIN
    FOR tbl IN
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = current_schema() AND c.column_name = 'updated_at'
          AND t.table_type = 'BASE TABLE'
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION set_updated_at()',
                       tbl || '_updated_at', tbl);
    END LOOP;
END $$;

INSERT INTO price_types (id, code, name) VALUES
    (1, 'retail', 'Роздрібна'),
    (2, 'old', 'Стара ціна (до знижки)'),
    (3, 'wholesale', 'Оптова'),
    (4, 'purchase', 'Закупівельна');
