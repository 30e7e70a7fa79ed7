//! Live progress on the terminal: one line, rewritten every second (every five seconds,
//! as plain lines, when stderr is not a terminal).

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use crossterm::terminal::{Clear, ClearType};
use crossterm::{cursor, queue};
use parking_lot::Mutex;

use crate::endpoint::Endpoint;
use crate::record::Recorder;

/// Text that samplers add to the progress line (line length, Redis CPU...).
pub type LiveExtra = Arc<Mutex<String>>;

/// The progress display of one run.
pub struct Live {
    label: String,
    enabled: bool,
    terminal: bool,
    shown_second: u64,
    extra: LiveExtra,
}

impl Live {
    /// A display for a run called `label`; silent unless `enabled`.
    pub fn new(label: impl Into<String>, enabled: bool) -> Self {
        Self {
            label: label.into(),
            enabled,
            terminal: std::io::stderr().is_terminal(),
            shown_second: 0,
            extra: LiveExtra::default(),
        }
    }

    /// Where samplers put their part of the line.
    pub fn extra(&self) -> LiveExtra {
        self.extra.clone()
    }

    /// Shows progress if a new second began since the last time.
    pub fn tick(&mut self, now_us: u64, recorder: &Recorder, in_flight: usize, script: &str) {
        let second = now_us / 1_000_000;
        if !self.enabled || second <= self.shown_second {
            return;
        }
        self.shown_second = second;
        if !self.terminal && !second.is_multiple_of(5) {
            return;
        }
        let line = self.line(second, recorder, in_flight, script);
        let mut stderr = std::io::stderr().lock();
        if self.terminal {
            let _ = queue!(
                stderr,
                cursor::MoveToColumn(0),
                Clear(ClearType::CurrentLine)
            );
            let _ = write!(stderr, "{line}");
        } else {
            let _ = writeln!(stderr, "{line}");
        }
        let _ = stderr.flush();
    }

    fn line(&self, second: u64, recorder: &Recorder, in_flight: usize, script: &str) -> String {
        let row = recorder.timeline().last();
        let rps = row.map_or(0, |row| row.all.requests);
        let errors = row.map_or(0, |row| row.all.errors);
        let status_p99 = row
            .and_then(|row| row.endpoints.get(&Endpoint::Status))
            .map_or(0.0, |stats| stats.p99_us as f64 / 1000.0);
        let all_p99 = row.map_or(0.0, |row| row.all.p99_us as f64 / 1000.0);
        format!(
            "[{}] {second:>4}s {rps:>7} req/s p99 {all_p99:.1} ms (status {status_p99:.1} ms) \
             in-flight {in_flight} errors/s {errors} | {script} | {}",
            self.label,
            self.extra.lock()
        )
    }

    /// Ends the display (moves past the rewritten line).
    pub fn done(&mut self) {
        if self.enabled && self.terminal {
            eprintln!();
        }
    }
}
