-- Reservation tables, the same SQL for SQLite and PostgreSQL. Versions 3xxx belong to
-- reservation so the three services can share one PostgreSQL database without colliding.

CREATE TABLE res_events (
    event_id               TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    currency               TEXT NOT NULL,
    ticket_limit_per_buyer BIGINT NOT NULL,
    hold_seconds           BIGINT NOT NULL,
    venue                  TEXT NOT NULL,
    seats_total            BIGINT NOT NULL,
    created_at_ms          BIGINT NOT NULL,
    updated_at_ms          BIGINT NOT NULL
);

-- One row per buyer and event; updating it takes the row lock that serialises one
-- buyer's concurrent holds while the ticket limit is checked.
CREATE TABLE res_buyers (
    event_id TEXT NOT NULL,
    buyer    BIGINT NOT NULL,
    lock_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, buyer)
);

CREATE TABLE res_holds (
    hold_id       TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL,
    buyer         BIGINT NOT NULL,
    state         TEXT NOT NULL,
    quantity      BIGINT NOT NULL,
    request       TEXT NOT NULL,
    seats         TEXT NOT NULL DEFAULT '[]',
    total_cents   BIGINT NOT NULL DEFAULT 0,
    currency      TEXT NOT NULL,
    adjacent      BIGINT NOT NULL DEFAULT 1,
    expires_at_ms BIGINT NOT NULL,
    order_id      TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX res_holds_buyer ON res_holds (event_id, buyer);
CREATE INDEX res_holds_state ON res_holds (state, updated_at_ms);

-- The checkout saga's outbox: an order row is written (step 'pin') before any remote call,
-- and `step` always names the next idempotent action, so a crash at any point leaves a row
-- the reconciler can drive to the end. `hold_id` is unique: one order per hold.
CREATE TABLE res_orders (
    order_id       TEXT PRIMARY KEY,
    hold_id        TEXT NOT NULL UNIQUE,
    event_id       TEXT NOT NULL,
    buyer          BIGINT NOT NULL,
    state          TEXT NOT NULL,
    step           TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    total_cents    BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    seats          TEXT NOT NULL,
    failure_reason TEXT NOT NULL DEFAULT '',
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE INDEX res_orders_buyer ON res_orders (event_id, buyer);
CREATE INDEX res_orders_step ON res_orders (step, updated_at_ms);

-- Idempotency keys, per buyer. `resource_id` names the hold or order the first request
-- created (a retry of an unfinished request resumes it); `status_code` and `response` hold
-- the first final answer, replayed to retries.
CREATE TABLE res_idempotency (
    event_id      TEXT NOT NULL,
    buyer         BIGINT NOT NULL,
    idem_key      TEXT NOT NULL,
    request       TEXT NOT NULL,
    resource_id   TEXT NOT NULL DEFAULT '',
    status_code   BIGINT,
    response      TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (event_id, buyer, idem_key)
);
