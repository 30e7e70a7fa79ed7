-- Refunds: a captured intent may move on, once, to 'refunded' (the checkout saga gives the
-- money back when the seats it paid for are gone). A CHECK constraint cannot be changed in
-- place on SQLite, so the table is rebuilt, the same way on both engines.
CREATE TABLE pay_intents_next (
    idempotency_key    TEXT PRIMARY KEY,
    amount_cents       BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    method             TEXT NOT NULL,
    state              TEXT NOT NULL
                       CHECK (state IN ('processing', 'captured', 'declined', 'refunded')),
    provider_reference TEXT NOT NULL DEFAULT '',
    decline_reason     TEXT NOT NULL DEFAULT '',
    refund_reference   TEXT NOT NULL DEFAULT '',
    refund_reason      TEXT NOT NULL DEFAULT '',
    created_at_ms      BIGINT NOT NULL,
    updated_at_ms      BIGINT NOT NULL
);
INSERT INTO pay_intents_next (idempotency_key, amount_cents, currency, method, state,
    provider_reference, decline_reason, created_at_ms, updated_at_ms)
SELECT idempotency_key, amount_cents, currency, method, state,
    provider_reference, decline_reason, created_at_ms, updated_at_ms
FROM pay_intents;
DROP TABLE pay_intents;
ALTER TABLE pay_intents_next RENAME TO pay_intents;

-- The sandbox provider's refunds: one per charge reference, so a repeated refund of a
-- charge is the same refund.
CREATE TABLE pay_sandbox_refunds (
    reference     TEXT PRIMARY KEY,
    created_at_ms BIGINT NOT NULL
);
