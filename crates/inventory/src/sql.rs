//! Small helpers for SQL text shared by both engines.

/// `$start, $start+1, …` for `count` parameters (both engines accept `$n`).
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The free-seat condition; `now` is the parameter holding the current time. A seat with
/// no hold always has `hold_expires_at_ms = 0` (set so on creation and on release), so the
/// expiry alone tells, and the scan index covers it.
pub fn free_seat(now: &str) -> String {
    format!("sold = 0 AND hold_expires_at_ms <= {now}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_count_from_start() {
        assert_eq!(super::placeholders(3, 3), "$3, $4, $5");
        assert_eq!(super::placeholders(1, 0), "");
    }
}
