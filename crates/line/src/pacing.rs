//! Admission pacing: the generic cell rate algorithm (GCRA).

/// Paces admissions at a fixed rate with a small tolerance for batching.
///
/// The state is one number, the *theoretical arrival time* (TAT) of the next admission,
/// kept in the line's store so every gateway and every pacer hand-over shares it; over any
/// period the count admitted is at most `rate × period + tolerance × rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcra {
    /// Milliseconds between two admissions.
    pub interval_ms: f64,
    /// How far ahead of schedule a batch may run, in milliseconds.
    pub tolerance_ms: f64,
}

impl Gcra {
    /// How many may be admitted at `now_ms` given the stored `tat_ms`.
    pub fn allowance(&self, tat_ms: f64, now_ms: f64) -> u64 {
        let start = tat_ms.max(now_ms);
        let room = now_ms + self.tolerance_ms - start;
        if room < 0.0 {
            return 0;
        }
        // The epsilon absorbs float error so that exactly-due admissions are not lost.
        ((room + 1e-6) / self.interval_ms).floor() as u64
    }

    /// The TAT after admitting `count` at `now_ms`.
    pub fn after(&self, tat_ms: f64, now_ms: f64, count: u64) -> f64 {
        tat_ms.max(now_ms) + count as f64 * self.interval_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_run_rate_is_exact() {
        let gcra = Gcra {
            interval_ms: 1000.0 / 333.0,
            tolerance_ms: 50.0,
        };
        let mut tat = 0.0;
        let mut admitted = 0;
        let mut now = 0.0;
        while now <= 60_000.0 {
            let count = gcra.allowance(tat, now);
            tat = gcra.after(tat, now, count);
            admitted += count;
            now += 7.0;
        }
        // 60 s at 333/s, plus at most the tolerance's worth.
        let expected = 333.0 * 60.0;
        assert!(
            (admitted as f64 - expected).abs() <= 333.0 * 0.05 + 1.0,
            "{admitted}"
        );
    }

    #[test]
    fn idle_time_does_not_bank_a_burst() {
        let gcra = Gcra {
            interval_ms: 10.0,
            tolerance_ms: 50.0,
        };
        assert_eq!(gcra.allowance(0.0, 1_000_000.0), 5);
    }
}
