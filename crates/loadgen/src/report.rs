//! A run's results: the JSON summary, the per-second timeline, and its dashboard chart.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::chart::{Panel, Series, dashboard};
use crate::driver::DriveReport;
use crate::endpoint::Endpoint;
use crate::probe::Sample;
use crate::record::{EndpointSummary, Percentiles, SecondRow};

/// One endpoint's whole-run figures with its throughput.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Counts and latency.
    #[serde(flatten)]
    pub summary: EndpointSummary,
    /// Requests per second over the run.
    pub requests_per_second: f64,
}

/// The load generator's own cost and health.
#[derive(Debug, Clone, Serialize)]
pub struct LoadgenFigures {
    /// CPU used by the load generator, % of one core.
    pub cpu_percent: f64,
    /// How late requests left relative to their intended time.
    pub send_lag: Percentiles,
    /// Most requests in flight at once.
    pub peak_in_flight: usize,
}

/// Redis over the run.
#[derive(Debug, Clone, Serialize)]
pub struct RedisFigures {
    /// CPU, % of one core.
    pub cpu_percent: f64,
    /// Commands executed (script internals included) per second.
    pub commands_per_second: f64,
    /// Commands executed over the run.
    pub commands: u64,
    /// Script runs (EVAL/EVALSHA) over the run.
    pub script_calls: u64,
    /// `used_memory` at the end, bytes.
    pub used_memory_bytes: u64,
}

/// The line over the run.
#[derive(Debug, Clone, Serialize)]
pub struct LineFigures {
    /// Most buyers waiting at once.
    pub peak_waiting: u64,
    /// Buyers admitted during the run.
    pub admitted: u64,
    /// Admissions per second over the run.
    pub admitted_per_second: f64,
}

/// A watched server process over the run.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessFigures {
    /// Its name.
    pub name: String,
    /// CPU, % of one core.
    pub cpu_percent: f64,
    /// Largest RSS seen, bytes.
    pub peak_rss_bytes: u64,
    /// RSS at the end, bytes.
    pub last_rss_bytes: u64,
}

/// Everything a run measured, in one JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run's name.
    pub name: String,
    /// Seconds the run took.
    pub seconds: f64,
    /// Virtual users who arrived.
    pub arrivals: u64,
    /// Users still active at the end.
    pub users_left: usize,
    /// Requests finished.
    pub requests: u64,
    /// Of those, errors.
    pub errors: u64,
    /// Requests per second over the run.
    pub requests_per_second: f64,
    /// Latency of every request together, from intended send time.
    pub latency: Percentiles,
    /// Per endpoint.
    pub endpoints: Vec<EndpointRow>,
    /// What the users did (script-specific).
    pub users: serde_json::Value,
    /// The load generator itself.
    pub loadgen: LoadgenFigures,
    /// Redis, when watched.
    pub redis: Option<RedisFigures>,
    /// The line, when watched.
    pub line: Option<LineFigures>,
    /// Watched server processes.
    pub processes: Vec<ProcessFigures>,
}

/// The per-second record of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// Requests per second of the run.
    pub seconds: Vec<SecondRow>,
    /// Probe readings.
    pub samples: Vec<Sample>,
    /// Names of the watched processes, in sample order.
    pub process_names: Vec<String>,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The summary.
    pub summary: RunSummary,
    /// The timeline.
    pub timeline: Timeline,
}

impl RunResult {
    /// Assembles a run's results.
    ///
    /// Whole-run figures cover the time after `warmup`; the timeline covers everything.
    pub fn new(
        name: &str,
        report: &DriveReport,
        users: serde_json::Value,
        samples: Vec<Sample>,
        process_names: Vec<String>,
        warmup: std::time::Duration,
    ) -> Self {
        let warmup_s = warmup.as_secs_f64();
        let seconds = (report.elapsed.as_secs_f64() - warmup_s).max(1e-3);
        // Samples of the measured part (the one just before it is its baseline).
        let first = samples
            .iter()
            .rposition(|sample| sample.at_s <= warmup_s)
            .unwrap_or(0);
        let measured = &samples[first..];
        let (requests, errors) = report.recorder.totals();
        let endpoints = report
            .recorder
            .endpoints()
            .into_iter()
            .map(|summary| EndpointRow {
                requests_per_second: summary.requests as f64 / seconds,
                summary,
            })
            .collect();
        let summary = RunSummary {
            name: name.to_owned(),
            seconds,
            arrivals: report.arrivals,
            users_left: report.users_left,
            requests,
            errors,
            requests_per_second: requests as f64 / seconds,
            latency: report.recorder.all_latency(),
            endpoints,
            users,
            loadgen: LoadgenFigures {
                cpu_percent: loadgen_cpu(measured),
                send_lag: report.send_lag,
                peak_in_flight: report.peak_in_flight,
            },
            redis: redis_figures(measured),
            line: line_figures(measured),
            processes: process_figures(measured, &process_names),
        };
        let timeline = Timeline {
            seconds: report.recorder.timeline().to_vec(),
            samples,
            process_names,
        };
        Self { summary, timeline }
    }

    /// Writes `summary.json`, `timeline.json` and `dashboard.svg` into `dir`; returns the
    /// chart's path.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&self.summary)?,
        )?;
        std::fs::write(
            dir.join("timeline.json"),
            serde_json::to_string(&self.timeline)?,
        )?;
        let chart = dir.join("dashboard.svg");
        dashboard(&chart, &self.summary.name, &self.panels())?;
        Ok(chart)
    }

    /// The dashboard's panels.
    pub fn panels(&self) -> Vec<Panel> {
        let rows = &self.timeline.seconds;
        let samples = &self.timeline.samples;
        let seen: Vec<Endpoint> = self
            .summary
            .endpoints
            .iter()
            .map(|row| row.summary.endpoint)
            .collect();
        let per_endpoint = |pick: fn(&crate::record::SecondStats) -> f64| -> Vec<Series> {
            seen.iter()
                .map(|endpoint| {
                    let points = rows
                        .iter()
                        .map(|row| {
                            let value = row.endpoints.get(endpoint).map_or(0.0, pick);
                            (row.second as f64, value)
                        })
                        .collect();
                    Series::new(endpoint.name(), points)
                })
                .collect()
        };
        let all = |pick: fn(&crate::record::SecondStats) -> f64, name: &str| {
            Series::new(
                name,
                rows.iter()
                    .map(|row| (row.second as f64, pick(&row.all)))
                    .collect(),
            )
        };
        let mut latency = vec![
            all(|stats| stats.p50_us as f64 / 1000.0, "all p50"),
            all(|stats| stats.p99_us as f64 / 1000.0, "all p99"),
        ];
        latency.extend(
            per_endpoint(|stats| stats.p99_us as f64 / 1000.0)
                .into_iter()
                .map(|series| Series::new(format!("{} p99", series.name), series.points)),
        );
        vec![
            Panel::new(
                "requests/s per endpoint",
                "req/s",
                per_endpoint(|stats| stats.requests as f64),
            ),
            Panel::new("latency from intended send time", "ms", latency),
            Panel::new(
                "line length (waiting)",
                "buyers",
                vec![line_series(samples)],
            ),
            Panel::new(
                "admissions/s",
                "admitted/s",
                vec![admissions_series(samples)],
            ),
            Panel::new(
                "Redis CPU",
                "% of a core",
                vec![redis_rate(
                    samples,
                    |info| info.cpu_seconds * 100.0,
                    "redis cpu %",
                )],
            ),
            Panel::new(
                "Redis commands/s",
                "commands/s",
                vec![redis_rate(
                    samples,
                    |info| info.commands as f64,
                    "commands/s",
                )],
            ),
            Panel::new("errors/s", "errors/s", {
                let mut series = per_endpoint(|stats| stats.errors as f64);
                series.insert(0, all(|stats| stats.errors as f64, "all"));
                series
            }),
            Panel::new(
                "CPU of processes",
                "% of a core",
                cpu_series(samples, &self.timeline.process_names),
            ),
        ]
    }
}

fn pairs(samples: &[Sample]) -> impl Iterator<Item = (&Sample, &Sample, f64)> {
    samples.windows(2).map(|pair| {
        let seconds = (pair[1].at_s - pair[0].at_s).max(1e-3);
        (&pair[0], &pair[1], seconds)
    })
}

fn line_series(samples: &[Sample]) -> Series {
    Series::new(
        "waiting",
        samples
            .iter()
            .filter_map(|sample| Some((sample.at_s, sample.line?.waiting as f64)))
            .collect(),
    )
}

fn admissions_series(samples: &[Sample]) -> Series {
    Series::new(
        "admitted/s",
        pairs(samples)
            .filter_map(|(before, after, seconds)| {
                let admitted = after
                    .line?
                    .admitted_total
                    .saturating_sub(before.line?.admitted_total);
                Some((after.at_s, admitted as f64 / seconds))
            })
            .collect(),
    )
}

fn redis_rate(samples: &[Sample], pick: fn(&crate::probe::RedisInfo) -> f64, name: &str) -> Series {
    Series::new(
        name,
        pairs(samples)
            .filter_map(|(before, after, seconds)| {
                let delta = after.redis.as_ref()?.since(before.redis.as_ref()?);
                Some((after.at_s, pick(&delta) / seconds))
            })
            .collect(),
    )
}

fn cpu_series(samples: &[Sample], names: &[String]) -> Vec<Series> {
    let mut series = vec![Series::new(
        "loadgen",
        pairs(samples)
            .map(|(before, after, seconds)| {
                let cpu = after.loadgen.cpu_seconds - before.loadgen.cpu_seconds;
                (after.at_s, cpu / seconds * 100.0)
            })
            .collect(),
    )];
    for (index, name) in names.iter().enumerate() {
        series.push(Series::new(
            name.clone(),
            pairs(samples)
                .filter_map(|(before, after, seconds)| {
                    let cpu = after.processes.get(index)?.as_ref()?.cpu_seconds
                        - before.processes.get(index)?.as_ref()?.cpu_seconds;
                    Some((after.at_s, cpu / seconds * 100.0))
                })
                .collect(),
        ));
    }
    series
}

/// First and last samples, and the seconds between them.
fn span(samples: &[Sample]) -> Option<(&Sample, &Sample, f64)> {
    let first = samples.first()?;
    let last = samples.last()?;
    let seconds = last.at_s - first.at_s;
    (seconds > 0.0).then_some((first, last, seconds))
}

fn loadgen_cpu(samples: &[Sample]) -> f64 {
    span(samples).map_or(0.0, |(first, last, seconds)| {
        (last.loadgen.cpu_seconds - first.loadgen.cpu_seconds) / seconds * 100.0
    })
}

fn redis_figures(samples: &[Sample]) -> Option<RedisFigures> {
    let with_redis: Vec<&Sample> = samples
        .iter()
        .filter(|sample| sample.redis.is_some())
        .collect();
    let first = with_redis.first()?;
    let last = with_redis.last()?;
    let seconds = (last.at_s - first.at_s).max(1e-3);
    let (before, after) = (first.redis.as_ref()?, last.redis.as_ref()?);
    let delta = after.since(before);
    Some(RedisFigures {
        cpu_percent: delta.cpu_seconds / seconds * 100.0,
        commands_per_second: delta.commands as f64 / seconds,
        commands: delta.commands,
        script_calls: delta.script_calls,
        used_memory_bytes: after.used_memory,
    })
}

fn line_figures(samples: &[Sample]) -> Option<LineFigures> {
    let lines: Vec<(f64, crate::probe::LineSample)> = samples
        .iter()
        .filter_map(|sample| Some((sample.at_s, sample.line?)))
        .collect();
    let (first_at, first) = *lines.first()?;
    let (last_at, last) = *lines.last()?;
    let admitted = last.admitted_total.saturating_sub(first.admitted_total);
    Some(LineFigures {
        peak_waiting: lines
            .iter()
            .map(|(_, line)| line.waiting)
            .max()
            .unwrap_or(0),
        admitted,
        admitted_per_second: admitted as f64 / (last_at - first_at).max(1e-3),
    })
}

fn process_figures(samples: &[Sample], names: &[String]) -> Vec<ProcessFigures> {
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let readings: Vec<(f64, crate::probe::ProcessSample)> = samples
                .iter()
                .filter_map(|sample| Some((sample.at_s, (*sample.processes.get(index)?)?)))
                .collect();
            let cpu_percent = match (readings.first(), readings.last()) {
                (Some((t0, first)), Some((t1, last))) if t1 > t0 => {
                    (last.cpu_seconds - first.cpu_seconds) / (t1 - t0) * 100.0
                }
                _ => 0.0,
            };
            ProcessFigures {
                name: name.clone(),
                cpu_percent,
                peak_rss_bytes: readings
                    .iter()
                    .map(|(_, reading)| reading.rss_bytes)
                    .max()
                    .unwrap_or(0),
                last_rss_bytes: readings.last().map_or(0, |(_, reading)| reading.rss_bytes),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{LineSample, ProcessSample, RedisInfo};
    use crate::record::{Outcome, Recorder};
    use std::time::Duration;

    fn sample(at_s: f64, admitted: u64, cpu: f64) -> Sample {
        Sample {
            at_s,
            redis: Some(RedisInfo {
                cpu_seconds: cpu,
                commands: (at_s * 100.0) as u64,
                ..RedisInfo::default()
            }),
            line: Some(LineSample {
                waiting: 1000 - admitted,
                admitted_total: admitted,
                ..LineSample::default()
            }),
            loadgen: ProcessSample {
                cpu_seconds: at_s * 0.5,
                rss_bytes: 1,
            },
            processes: vec![Some(ProcessSample {
                cpu_seconds: at_s,
                rss_bytes: 10 + at_s as u64,
            })],
        }
    }

    #[test]
    fn summarizes_and_writes_a_run() {
        let mut recorder = Recorder::new();
        for second in 0..4 {
            for _ in 0..100 {
                recorder.record(Endpoint::Status, 500, Outcome::Status(200));
            }
            recorder.record(Endpoint::Join, 900, Outcome::Status(503));
            recorder.close_seconds_before(second + 1);
        }
        let report = DriveReport {
            recorder,
            elapsed: Duration::from_secs(4),
            arrivals: 4,
            users_left: 0,
            send_lag: Percentiles::default(),
            peak_in_flight: 3,
        };
        let samples = (0..5)
            .map(|s| sample(s as f64, s * 10, s as f64 * 0.2))
            .collect();
        let result = RunResult::new(
            "unit",
            &report,
            serde_json::json!({"x": 1}),
            samples,
            vec!["gateway".into()],
            Duration::ZERO,
        );
        let summary = &result.summary;
        assert_eq!((summary.requests, summary.errors), (404, 4));
        assert!((summary.requests_per_second - 101.0).abs() < 1e-9);
        let redis = summary.redis.as_ref().unwrap();
        assert!((redis.cpu_percent - 20.0).abs() < 1e-6);
        assert!((redis.commands_per_second - 100.0).abs() < 1e-6);
        let line = summary.line.as_ref().unwrap();
        assert_eq!((line.admitted, line.peak_waiting), (40, 1000));
        assert!((summary.loadgen.cpu_percent - 50.0).abs() < 1e-6);
        assert_eq!(summary.processes[0].peak_rss_bytes, 14);

        let dir = tempfile::tempdir().unwrap();
        let chart = result.write(dir.path()).unwrap();
        assert!(
            std::fs::read_to_string(chart)
                .unwrap()
                .contains("admissions/s")
        );
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(json["endpoints"][0]["endpoint"], "join");
        assert!(dir.path().join("timeline.json").exists());
    }
}
