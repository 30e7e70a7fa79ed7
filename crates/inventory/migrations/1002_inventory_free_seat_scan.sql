-- Best-available walks seats in preference order testing "free" (`sold = 0 AND
-- hold_expires_at_ms <= now`; a seat without a hold has expiry 0). Carrying both columns in
-- the index lets the walk skip taken seats without visiting the table.
CREATE INDEX inv_seats_free_scan
    ON inv_seats (event_id, section_rank, row_no, seat_no, sold, hold_expires_at_ms);
DROP INDEX inv_seats_preference;

-- `inv_events.alloc_seq` is no longer written: PostgreSQL allocators lock free seats with
-- FOR UPDATE SKIP LOCKED instead of serialising on the event row.
