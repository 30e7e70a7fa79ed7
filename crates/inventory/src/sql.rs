//! Small helpers for SQL text shared by both engines.

/// `$start, $start+1, …` for `count` parameters (both engines accept `$n`).
pub fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The free-seat condition; `$now` is the parameter holding the current time.
pub fn free_seat(now: &str) -> String {
    format!("sold = 0 AND (hold_id IS NULL OR hold_expires_at_ms <= {now})")
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_count_from_start() {
        assert_eq!(super::placeholders(3, 3), "$3, $4, $5");
        assert_eq!(super::placeholders(1, 0), "");
    }
}
