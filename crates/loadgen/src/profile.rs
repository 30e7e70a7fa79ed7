//! Arrival profiles: how many new virtual users arrive per second over a run.
//!
//! A profile is a list of segments in which the arrival rate moves linearly from one value
//! to another; constant rates, ramps and spikes are all such lists. Arrivals are placed
//! deterministically where the cumulative expected count crosses each whole number, so a
//! run is reproducible and its arrival count is exact.

/// Why a profile could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad arrival profile `{spec}`: {reason}")]
pub struct ProfileError {
    spec: String,
    reason: String,
}

impl ProfileError {
    fn new(spec: &str, reason: impl Into<String>) -> Self {
        Self {
            spec: spec.to_owned(),
            reason: reason.into(),
        }
    }
}

/// One piece of a profile: the rate moves linearly from `from` to `to` over `seconds`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Arrivals per second at the segment's start.
    pub from: f64,
    /// Arrivals per second at the segment's end.
    pub to: f64,
    /// How long the segment lasts.
    pub seconds: f64,
}

impl Segment {
    /// Expected arrivals over the whole segment.
    fn total(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.seconds
    }

    /// The offset into the segment at which `count` arrivals are expected (`count` no more
    /// than [`Segment::total`]).
    fn time_of(&self, count: f64) -> f64 {
        let slope = (self.to - self.from) / self.seconds;
        // Solves from·t + slope·t²/2 = count in a form that is stable for slope → 0.
        let root = (self.from * self.from + 2.0 * slope * count)
            .max(0.0)
            .sqrt();
        let denominator = self.from + root;
        if denominator <= 0.0 {
            return self.seconds;
        }
        (2.0 * count / denominator).min(self.seconds)
    }
}

/// How arrivals are spread over a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalProfile {
    segments: Vec<Segment>,
}

impl ArrivalProfile {
    /// A profile from segments; empty segments are dropped.
    pub fn new(segments: Vec<Segment>) -> Self {
        let segments = segments
            .into_iter()
            .filter(|segment| segment.seconds > 0.0)
            .collect();
        Self { segments }
    }

    /// `rate` arrivals per second for `seconds`.
    pub fn constant(rate: f64, seconds: f64) -> Self {
        Self::new(vec![Segment {
            from: rate,
            to: rate,
            seconds,
        }])
    }

    /// From `from` to `to` arrivals per second over `ramp_seconds`, then `to` until
    /// `seconds`.
    pub fn ramp(from: f64, to: f64, ramp_seconds: f64, seconds: f64) -> Self {
        let ramp_seconds = ramp_seconds.min(seconds);
        Self::new(vec![
            Segment {
                from,
                to,
                seconds: ramp_seconds,
            },
            Segment {
                from: to,
                to,
                seconds: seconds - ramp_seconds,
            },
        ])
    }

    /// `base` arrivals per second, jumping to `peak` at `at` seconds for `width` seconds
    /// (a sale opening), then `base` again until `seconds`.
    pub fn spike(base: f64, peak: f64, at: f64, width: f64, seconds: f64) -> Self {
        let at = at.min(seconds);
        let width = width.min(seconds - at);
        Self::new(vec![
            Segment {
                from: base,
                to: base,
                seconds: at,
            },
            Segment {
                from: peak,
                to: peak,
                seconds: width,
            },
            Segment {
                from: base,
                to: base,
                seconds: seconds - at - width,
            },
        ])
    }

    /// Reads a profile lasting `seconds`:
    /// `constant:RATE`, `ramp:FROM:TO:RAMP_SECONDS`, `spike:BASE:PEAK:AT:WIDTH`, or
    /// `steps:R@S,R1->R2@S,...` (explicit segments; `seconds` is then ignored).
    pub fn parse(spec: &str, seconds: f64) -> Result<Self, ProfileError> {
        let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let numbers = || -> Result<Vec<f64>, ProfileError> {
            rest.split(':')
                .map(|part| number(spec, part))
                .collect::<Result<Vec<_>, _>>()
        };
        let profile = match kind {
            "constant" => match numbers()?.as_slice() {
                [rate] => Self::constant(*rate, seconds),
                _ => return Err(ProfileError::new(spec, "expected constant:RATE")),
            },
            "ramp" => match numbers()?.as_slice() {
                [from, to, ramp] => Self::ramp(*from, *to, *ramp, seconds),
                _ => return Err(ProfileError::new(spec, "expected ramp:FROM:TO:SECONDS")),
            },
            "spike" => match numbers()?.as_slice() {
                [base, peak, at, width] => Self::spike(*base, *peak, *at, *width, seconds),
                _ => {
                    return Err(ProfileError::new(spec, "expected spike:BASE:PEAK:AT:WIDTH"));
                }
            },
            "steps" => Self::new(
                rest.split(',')
                    .map(|step| parse_step(spec, step))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            _ => {
                return Err(ProfileError::new(
                    spec,
                    "kind must be constant, ramp, spike or steps",
                ));
            }
        };
        if profile.segments.is_empty() {
            return Err(ProfileError::new(spec, "the profile lasts no time"));
        }
        Ok(profile)
    }

    /// How long arrivals last, in seconds.
    pub fn seconds(&self) -> f64 {
        self.segments.iter().map(|segment| segment.seconds).sum()
    }

    /// Expected arrivals over the whole profile.
    pub fn expected_arrivals(&self) -> f64 {
        self.segments.iter().map(Segment::total).sum()
    }

    /// The arrival rate `at` seconds into the run.
    pub fn rate_at(&self, at: f64) -> f64 {
        let mut start = 0.0;
        for segment in &self.segments {
            if at < start + segment.seconds {
                let fraction = (at - start) / segment.seconds;
                return segment.from + (segment.to - segment.from) * fraction;
            }
            start += segment.seconds;
        }
        0.0
    }

    /// Arrival times, in microseconds from the start of the run, in order.
    pub fn arrivals(&self) -> Arrivals<'_> {
        Arrivals {
            segments: &self.segments,
            index: 0,
            segment_start: 0.0,
            count_before: 0.0,
            next: 1,
        }
    }
}

fn number(spec: &str, text: &str) -> Result<f64, ProfileError> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| ProfileError::new(spec, format!("`{text}` is not a number")))?;
    if !value.is_finite() || value < 0.0 {
        return Err(ProfileError::new(
            spec,
            format!("`{text}` must be 0 or more"),
        ));
    }
    Ok(value)
}

fn parse_step(spec: &str, step: &str) -> Result<Segment, ProfileError> {
    let (rates, seconds) = step
        .split_once('@')
        .ok_or_else(|| ProfileError::new(spec, format!("step `{step}` needs @SECONDS")))?;
    let (from, to) = match rates.split_once("->") {
        Some((from, to)) => (number(spec, from)?, number(spec, to)?),
        None => {
            let rate = number(spec, rates)?;
            (rate, rate)
        }
    };
    Ok(Segment {
        from,
        to,
        seconds: number(spec, seconds)?,
    })
}

/// The arrival times of a profile, in microseconds from the start of the run.
#[derive(Debug, Clone)]
pub struct Arrivals<'a> {
    segments: &'a [Segment],
    index: usize,
    segment_start: f64,
    count_before: f64,
    next: u64,
}

impl Iterator for Arrivals<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        loop {
            let segment = self.segments.get(self.index)?;
            let wanted = self.next as f64 - self.count_before;
            if wanted <= segment.total() + 1e-9 {
                self.next += 1;
                let at = self.segment_start + segment.time_of(wanted);
                return Some((at * 1e6).round() as u64);
            }
            self.count_before += segment.total();
            self.segment_start += segment.seconds;
            self.index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_between(profile: &ArrivalProfile, from_s: f64, to_s: f64) -> usize {
        profile
            .arrivals()
            .filter(|&us| us as f64 >= from_s * 1e6 && (us as f64) < to_s * 1e6)
            .count()
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let profile = ArrivalProfile::constant(100.0, 10.0);
        let times: Vec<u64> = profile.arrivals().collect();
        assert_eq!(times.len(), 1000);
        assert_eq!(times[0], 10_000);
        assert!(times.windows(2).all(|pair| pair[1] - pair[0] == 10_000));
    }

    #[test]
    fn ramp_grows_linearly() {
        let profile = ArrivalProfile::ramp(0.0, 1000.0, 10.0, 10.0);
        assert_eq!(profile.arrivals().count(), 5000);
        // ∫₀⁵ 100t dt = 1250 and ∫₅¹⁰ 100t dt = 3750.
        let first_half = count_between(&profile, 0.0, 5.0);
        assert!((1249..=1251).contains(&first_half), "{first_half}");
        assert!((profile.rate_at(2.5) - 250.0).abs() < 1e-9);
    }

    #[test]
    fn spike_concentrates_arrivals() {
        let profile = ArrivalProfile::spike(10.0, 1000.0, 5.0, 2.0, 10.0);
        assert_eq!(profile.expected_arrivals(), 50.0 + 2000.0 + 30.0);
        assert_eq!(profile.arrivals().count(), 2080);
        let during = count_between(&profile, 5.0, 7.0);
        assert!((1999..=2001).contains(&during), "{during}");
    }

    #[test]
    fn arrivals_are_ordered() {
        let profile = ArrivalProfile::parse("steps:0->300@3,300@2,300->0@3", 0.0).unwrap();
        let times: Vec<u64> = profile.arrivals().collect();
        assert_eq!(times.len(), 1500);
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(*times.last().unwrap() <= 8_000_000);
    }

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            ArrivalProfile::parse("constant:50", 4.0).unwrap(),
            ArrivalProfile::constant(50.0, 4.0)
        );
        assert_eq!(
            ArrivalProfile::parse("ramp:0:100:2", 4.0).unwrap(),
            ArrivalProfile::ramp(0.0, 100.0, 2.0, 4.0)
        );
        assert_eq!(
            ArrivalProfile::parse("spike:1:100:1:1", 4.0).unwrap(),
            ArrivalProfile::spike(1.0, 100.0, 1.0, 1.0, 4.0)
        );
        assert!(
            (ArrivalProfile::parse("steps:5@1,10@2", 0.0)
                .unwrap()
                .seconds()
                - 3.0)
                .abs()
                < 1e-9
        );
    }

    #[test]
    fn refuses_nonsense() {
        for spec in [
            "",
            "constant",
            "constant:x",
            "ramp:1:2",
            "wave:1",
            "constant:-1",
            "steps:5",
        ] {
            assert!(ArrivalProfile::parse(spec, 10.0).is_err(), "{spec}");
        }
        assert!(ArrivalProfile::parse("constant:5", 0.0).is_err());
    }
}
