-- Inventory tables, the same SQL for SQLite and PostgreSQL. Versions 1xxx belong to
-- inventory so the three services can share one PostgreSQL database without colliding.
CREATE TABLE inv_events (
    event_id      TEXT PRIMARY KEY,
    venue         TEXT NOT NULL,
    -- Bumped by every best-available allocation: the row lock serialises allocators.
    alloc_seq     BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE inv_sections (
    event_id      TEXT NOT NULL REFERENCES inv_events (event_id) ON DELETE CASCADE,
    section_id    TEXT NOT NULL,
    position_no   BIGINT NOT NULL,
    section_rank  BIGINT NOT NULL,
    name          TEXT NOT NULL,
    price_cents   BIGINT NOT NULL,
    rows_count    BIGINT NOT NULL,
    seats_per_row BIGINT NOT NULL,
    capacity      BIGINT NOT NULL,
    PRIMARY KEY (event_id, section_id)
);

-- One row per sellable ticket. A seat belongs to at most one hold because `hold_id` is a
-- single column; claims are conditional updates (`WHERE sold = 0 AND (hold_id IS NULL OR
-- expired)`), so two holds can never both win a seat. Sold seats keep their hold forever.
CREATE TABLE inv_seats (
    event_id           TEXT NOT NULL,
    seat_id            TEXT NOT NULL,
    section_id         TEXT NOT NULL,
    section_rank       BIGINT NOT NULL,
    row_no             BIGINT NOT NULL,
    seat_no            BIGINT NOT NULL,
    row_length         BIGINT NOT NULL,
    price_cents        BIGINT NOT NULL,
    hold_id            TEXT,
    hold_expires_at_ms BIGINT NOT NULL DEFAULT 0,
    sold               BIGINT NOT NULL DEFAULT 0 CHECK (sold IN (0, 1)),
    PRIMARY KEY (event_id, seat_id),
    CHECK (sold = 0 OR hold_id IS NOT NULL)
);
CREATE INDEX inv_seats_preference ON inv_seats (event_id, section_rank, row_no, seat_no);
CREATE INDEX inv_seats_hold ON inv_seats (hold_id);

-- Holds by id: makes Hold idempotent and records pin / sale / release.
CREATE TABLE inv_holds (
    hold_id       TEXT PRIMARY KEY,
    event_id      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('held', 'pinned', 'sold', 'released')),
    expires_at_ms BIGINT NOT NULL,
    adjacent      BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX inv_holds_event ON inv_holds (event_id);
