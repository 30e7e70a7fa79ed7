-- Buyers are named "<lineage>-<number>" (16 hex digits, a dash, the queue number): a queue
-- number alone repeats when an event's line starts again from nothing, so it cannot name
-- a buyer. A column's type cannot be changed in place on SQLite, so the tables that name
-- buyers are rebuilt, the same way on both engines. Rows written before keep their bare
-- number as text (no token names such a buyer any more).

CREATE TABLE res_buyers_next (
    event_id TEXT NOT NULL,
    buyer    TEXT NOT NULL,
    lock_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, buyer)
);
INSERT INTO res_buyers_next (event_id, buyer, lock_seq)
SELECT event_id, CAST(buyer AS TEXT), lock_seq FROM res_buyers;
DROP TABLE res_buyers;
ALTER TABLE res_buyers_next RENAME TO res_buyers;

CREATE TABLE res_holds_next (
    hold_id       TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL,
    buyer         TEXT NOT NULL,
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
INSERT INTO res_holds_next (hold_id, event_id, buyer, state, quantity, request, seats,
    total_cents, currency, adjacent, expires_at_ms, order_id, created_at_ms, updated_at_ms)
SELECT hold_id, event_id, CAST(buyer AS TEXT), state, quantity, request, seats,
    total_cents, currency, adjacent, expires_at_ms, order_id, created_at_ms, updated_at_ms
FROM res_holds;
DROP TABLE res_holds;
ALTER TABLE res_holds_next RENAME TO res_holds;
CREATE INDEX res_holds_buyer ON res_holds (event_id, buyer);
CREATE INDEX res_holds_state ON res_holds (state, updated_at_ms);

CREATE TABLE res_orders_next (
    order_id       TEXT PRIMARY KEY,
    hold_id        TEXT NOT NULL UNIQUE,
    event_id       TEXT NOT NULL,
    buyer          TEXT NOT NULL,
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
INSERT INTO res_orders_next (order_id, hold_id, event_id, buyer, state, step,
    payment_method, total_cents, currency, seats, failure_reason, created_at_ms, updated_at_ms)
SELECT order_id, hold_id, event_id, CAST(buyer AS TEXT), state, step,
    payment_method, total_cents, currency, seats, failure_reason, created_at_ms, updated_at_ms
FROM res_orders;
DROP TABLE res_orders;
ALTER TABLE res_orders_next RENAME TO res_orders;
CREATE INDEX res_orders_buyer ON res_orders (event_id, buyer);
CREATE INDEX res_orders_step ON res_orders (step, updated_at_ms);

CREATE TABLE res_idempotency_next (
    event_id      TEXT NOT NULL,
    buyer         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request       TEXT NOT NULL,
    resource_id   TEXT NOT NULL DEFAULT '',
    status_code   BIGINT,
    response      TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (event_id, buyer, idem_key)
);
INSERT INTO res_idempotency_next (event_id, buyer, idem_key, request, resource_id,
    status_code, response, created_at_ms)
SELECT event_id, CAST(buyer AS TEXT), idem_key, request, resource_id,
    status_code, response, created_at_ms
FROM res_idempotency;
DROP TABLE res_idempotency;
ALTER TABLE res_idempotency_next RENAME TO res_idempotency;

-- Buyers whose session has ended (they left, or their order was confirmed): their access
-- token may still read their orders, but holds and checkouts are refused.
CREATE TABLE res_ended_sessions (
    event_id    TEXT NOT NULL,
    buyer       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    ended_at_ms BIGINT NOT NULL,
    PRIMARY KEY (event_id, buyer)
);
