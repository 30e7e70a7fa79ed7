-- Payment tables, the same SQL for SQLite and PostgreSQL. Versions 2xxx belong to payment
-- so the three services can share one PostgreSQL database without colliding.

-- One intent per idempotency key: a second Capture with the key finds the first intent,
-- so nothing is ever charged twice.
CREATE TABLE pay_intents (
    idempotency_key    TEXT PRIMARY KEY,
    amount_cents       BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    method             TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('processing', 'captured', 'declined')),
    provider_reference TEXT NOT NULL DEFAULT '',
    decline_reason     TEXT NOT NULL DEFAULT '',
    created_at_ms      BIGINT NOT NULL,
    updated_at_ms      BIGINT NOT NULL
);

-- The sandbox provider's own ledger: its decision for each charge, made once, and when
-- the outcome becomes known (later than now for a "timed out" charge).
CREATE TABLE pay_sandbox_charges (
    reference     TEXT PRIMARY KEY,
    outcome       TEXT NOT NULL CHECK (outcome IN ('approve', 'decline')),
    settle_at_ms  BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
