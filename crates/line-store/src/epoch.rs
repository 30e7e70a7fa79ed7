//! Heartbeat epochs: the time buckets in which polls are recorded, one bit per buyer.

/// One heartbeat bucket: polls between `index × length_ms` and the next bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch {
    /// Bucket length in milliseconds; derived from the heartbeat timeout.
    pub length_ms: u64,
    /// Bucket number since the Unix epoch.
    pub index: u64,
}

/// A run of consecutive epochs of one length: the heartbeat window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochWindow {
    /// Bucket length in milliseconds.
    pub length_ms: u64,
    /// First bucket, inclusive.
    pub first: u64,
    /// Last bucket, inclusive.
    pub last: u64,
}

impl Epoch {
    /// The bucket length for a heartbeat timeout: about an eighth of it, 1 to 10 s, so a
    /// window spans about eight buckets whatever the timeout (bits per buyer stay few).
    pub fn length_for(timeout_ms: u64) -> u64 {
        (timeout_ms / 8).clamp(1_000, 10_000) / 250 * 250
    }

    /// The bucket `now_ms` falls in, for a line with the given heartbeat timeout.
    pub fn at(now_ms: u64, timeout_ms: u64) -> Self {
        let length_ms = Self::length_for(timeout_ms);
        Self {
            length_ms,
            index: now_ms / length_ms,
        }
    }

    /// How long a bucket must be kept: long enough to cover the window and a hand-over.
    pub fn retention_ms(timeout_ms: u64) -> u64 {
        timeout_ms + 3 * Self::length_for(timeout_ms)
    }
}

impl EpochWindow {
    /// The buckets that cover the last `timeout_ms` before `now_ms`, the current one
    /// included: a buyer with no bit in any of them was silent that long.
    pub fn ending_at(now_ms: u64, timeout_ms: u64) -> Self {
        let current = Epoch::at(now_ms, timeout_ms);
        let span = timeout_ms.div_ceil(current.length_ms);
        Self {
            length_ms: current.length_ms,
            first: current.index.saturating_sub(span),
            last: current.index,
        }
    }

    /// The buckets, oldest first.
    pub fn epochs(&self) -> impl Iterator<Item = Epoch> + '_ {
        (self.first..=self.last).map(|index| Epoch {
            length_ms: self.length_ms,
            index,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_covers_the_timeout() {
        let window = EpochWindow::ending_at(100_000, 30_000);
        assert_eq!(window.length_ms, 3_750);
        let covered_from = window.first * window.length_ms;
        assert!(covered_from <= 100_000 - 30_000);
        // One bucket fewer would start after the silence began: the window is the tightest.
        assert!(covered_from + window.length_ms > 100_000 - 30_000);
        assert_eq!(window.epochs().count(), 9);
    }

    #[test]
    fn lengths_stay_in_bounds() {
        assert_eq!(Epoch::length_for(3_000), 1_000);
        assert_eq!(Epoch::length_for(3_600_000), 10_000);
    }
}
