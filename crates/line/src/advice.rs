//! What a buyer is told besides their standing: the estimated wait and when to poll again.

use crate::{LineSettings, Standing};

/// The estimate and polling advice sent with a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// Estimated seconds until admission; `None` when it cannot be estimated (paused).
    pub eta_seconds: Option<u64>,
    /// When to poll again, in milliseconds.
    pub poll_after_ms: u64,
}

const MIN_POLL_MS: u64 = 1_000;
const MAX_POLL_MS: u64 = 15_000;
const SETTLED_POLL_MS: u64 = 30_000;

/// Advice for a buyer with `standing` at `now_ms`. `jitter` in `[-1, 1]` spreads polls by
/// up to ±10 % so a crowd that joined together does not poll together.
///
/// Buyers far back poll rarely and those near the front often: polls cost in proportion
/// to how much a buyer's answer can change, yet always at least three per heartbeat window
/// so nobody drops out for polling as told.
pub fn advise(standing: Standing, settings: &LineSettings, now_ms: u64, jitter: f64) -> Advice {
    let heartbeat_cap = settings.heartbeat_timeout_ms() / 3;
    let (eta_ms, poll_ms) = match standing {
        Standing::Waiting { position, .. } => {
            let until_open = settings.opens_at_ms.saturating_sub(now_ms);
            let in_line = position.map_or(0, |position| {
                (position as f64 * settings.admission_interval_ms()) as u64
            });
            let eta = until_open + in_line;
            let eta = (!settings.paused).then_some(eta);
            let poll = eta.map_or(MAX_POLL_MS, |eta| eta / 4);
            (eta, poll.clamp(MIN_POLL_MS, MAX_POLL_MS.min(heartbeat_cap)))
        }
        Standing::Ready { .. } => (Some(0), MIN_POLL_MS),
        Standing::Entered | Standing::Expired => (Some(0), SETTLED_POLL_MS),
    };
    let jitter = jitter.clamp(-1.0, 1.0) * 0.1;
    Advice {
        eta_seconds: eta_ms.map(|ms| ms.div_ceil(1000)),
        poll_after_ms: ((poll_ms as f64) * (1.0 + jitter)).round() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(position: u64) -> Standing {
        Standing::Waiting {
            position: Some(position),
            recovering: false,
        }
    }

    #[test]
    fn far_back_polls_rarely_and_near_front_often() {
        let settings = LineSettings::with_defaults("x", 0);
        let near = advise(waiting(1), &settings, 0, 0.0);
        let far = advise(waiting(100_000), &settings, 0, 0.0);
        assert_eq!(near.poll_after_ms, MIN_POLL_MS);
        assert_eq!(
            far.poll_after_ms, 10_000,
            "capped at a third of the heartbeat window"
        );
        assert_eq!(far.eta_seconds, Some(1000));
    }

    #[test]
    fn paused_line_gives_no_estimate() {
        let mut settings = LineSettings::with_defaults("x", 0);
        settings.paused = true;
        assert_eq!(advise(waiting(5), &settings, 0, 0.0).eta_seconds, None);
    }

    #[test]
    fn pre_queue_estimate_counts_down_to_opening() {
        let settings = LineSettings::with_defaults("x", 60_000);
        let advice = advise(
            Standing::Waiting {
                position: None,
                recovering: false,
            },
            &settings,
            0,
            0.0,
        );
        assert_eq!(advice.eta_seconds, Some(60));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let settings = LineSettings::with_defaults("x", 0);
        let high = advise(waiting(1), &settings, 0, 5.0).poll_after_ms;
        let low = advise(waiting(1), &settings, 0, -1.0).poll_after_ms;
        assert_eq!((low, high), (900, 1100));
    }
}
