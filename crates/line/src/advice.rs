//! What a buyer is told besides their standing: the estimated wait and when to poll again.

use crate::{LineCounts, LineSettings, Standing};

/// The estimate and polling advice sent with a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// Estimated seconds until admission; `None` when it cannot be estimated (paused).
    pub eta_seconds: Option<u64>,
    /// The wait if the buyers ahead leave as often as buyers so far have.
    pub eta_low_seconds: Option<u64>,
    /// The wait if nobody ahead leaves; `None` when the active cap, not the rate, holds
    /// admissions back (then the wait has no honest upper bound).
    pub eta_high_seconds: Option<u64>,
    /// When to poll again, in milliseconds.
    pub poll_after_ms: u64,
}

/// What the line has seen so far that bears on a wait: how often buyers left before
/// their turn, and whether the active cap is what holds admissions back.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LineOutlook {
    /// The share of buyers whose fate is known who left or dropped out before their turn.
    pub departed_share: f64,
    /// Ready and entered buyers fill the active cap.
    pub cap_bound: bool,
}

/// Most of the line a low estimate assumes will leave: a rush's early departures must
/// not promise an empty line.
const MAX_DEPARTED_SHARE: f64 = 0.5;

impl LineOutlook {
    /// The outlook of a line with `counts` under `settings`.
    pub fn of(counts: &LineCounts, settings: &LineSettings) -> Self {
        let resolved = counts.departed_total + counts.admitted_total;
        let departed_share = if resolved == 0 {
            0.0
        } else {
            counts.departed_total as f64 / resolved as f64
        };
        Self {
            departed_share: departed_share.min(MAX_DEPARTED_SHARE),
            cap_bound: counts.ready + counts.entered >= u64::from(settings.max_active_users),
        }
    }
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
pub fn advise(
    standing: Standing,
    settings: &LineSettings,
    outlook: &LineOutlook,
    now_ms: u64,
    jitter: f64,
) -> Advice {
    let heartbeat_cap = settings.heartbeat_timeout_ms() / 3;
    let (range, poll_ms) = match standing {
        Standing::Waiting { position, .. } => {
            let until_open = settings.opens_at_ms.saturating_sub(now_ms);
            let in_line = position.map_or(0.0, |position| {
                position as f64 * settings.admission_interval_ms()
            });
            let range = (!settings.paused).then(|| EtaRange {
                eta: until_open + in_line as u64,
                low: until_open + (in_line * (1.0 - outlook.departed_share)) as u64,
                high: (!outlook.cap_bound).then_some(until_open + in_line as u64),
            });
            let poll = range.map_or(MAX_POLL_MS, |range| range.eta / 4);
            (
                range,
                poll.clamp(MIN_POLL_MS, MAX_POLL_MS.min(heartbeat_cap)),
            )
        }
        Standing::Ready { .. } => (Some(EtaRange::NOW), MIN_POLL_MS),
        Standing::Entered | Standing::Expired => (Some(EtaRange::NOW), SETTLED_POLL_MS),
    };
    let jitter = jitter.clamp(-1.0, 1.0) * 0.1;
    let seconds = |ms: u64| ms.div_ceil(1000);
    Advice {
        eta_seconds: range.map(|range| seconds(range.eta)),
        eta_low_seconds: range.map(|range| seconds(range.low)),
        eta_high_seconds: range.and_then(|range| range.high.map(seconds)),
        poll_after_ms: ((poll_ms as f64) * (1.0 + jitter)).round() as u64,
    }
}

/// A wait in milliseconds: the estimate and its range.
#[derive(Debug, Clone, Copy)]
struct EtaRange {
    eta: u64,
    low: u64,
    high: Option<u64>,
}

impl EtaRange {
    const NOW: Self = Self {
        eta: 0,
        low: 0,
        high: Some(0),
    };
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
        let near = advise(waiting(1), &settings, &LineOutlook::default(), 0, 0.0);
        let far = advise(waiting(100_000), &settings, &LineOutlook::default(), 0, 0.0);
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
        assert_eq!(
            advise(waiting(5), &settings, &LineOutlook::default(), 0, 0.0).eta_seconds,
            None
        );
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
            &LineOutlook::default(),
            0,
            0.0,
        );
        assert_eq!(advice.eta_seconds, Some(60));
    }

    #[test]
    fn the_range_narrows_by_departures_and_opens_when_the_cap_binds() {
        let settings = LineSettings::with_defaults("x", 0);
        let leaving = LineOutlook {
            departed_share: 0.25,
            cap_bound: false,
        };
        let advice = advise(waiting(400), &settings, &leaving, 0, 0.0);
        assert_eq!(
            (
                advice.eta_low_seconds,
                advice.eta_seconds,
                advice.eta_high_seconds
            ),
            (Some(3), Some(4), Some(4))
        );
        let capped = LineOutlook {
            cap_bound: true,
            ..leaving
        };
        let advice = advise(waiting(400), &settings, &capped, 0, 0.0);
        assert_eq!(
            (advice.eta_low_seconds, advice.eta_high_seconds),
            (Some(3), None)
        );
    }

    #[test]
    fn departures_are_measured_on_the_line() {
        let settings = LineSettings::with_defaults("x", 0);
        let counts = LineCounts {
            departed_total: 30,
            admitted_total: 70,
            ..LineCounts::default()
        };
        let outlook = LineOutlook::of(&counts, &settings);
        assert!((outlook.departed_share - 0.3).abs() < 1e-9 && !outlook.cap_bound);
        let flood = LineCounts {
            departed_total: 90,
            admitted_total: 10,
            ready: 1000,
            ..LineCounts::default()
        };
        let outlook = LineOutlook::of(&flood, &settings);
        assert!((outlook.departed_share - 0.5).abs() < 1e-9 && outlook.cap_bound);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let settings = LineSettings::with_defaults("x", 0);
        let high = advise(waiting(1), &settings, &LineOutlook::default(), 0, 5.0).poll_after_ms;
        let low = advise(waiting(1), &settings, &LineOutlook::default(), 0, -1.0).poll_after_ms;
        assert_eq!((low, high), (900, 1100));
    }
}
