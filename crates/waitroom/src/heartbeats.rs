//! Polls waiting to be written to the store, one bitmap per epoch.

use breakwater_line::Bitset;
use breakwater_line_store::{Epoch, HeartbeatReport};

/// Most reinstatements held between flushes; beyond it a buyer is reinstated on a later
/// poll instead (memory stays bounded while the store is down).
const MAX_PENDING_REINSTATE: usize = 100_000;

/// A gateway's unflushed polls for one line.
#[derive(Debug, Default)]
pub(crate) struct PendingHeartbeats {
    reports: Vec<HeartbeatReport>,
}

impl PendingHeartbeats {
    /// Records a poll by `number` in `epoch`; `recovering` asks to reinstate the number.
    pub fn record(&mut self, number: u64, epoch: Epoch, retention_ms: u64, recovering: bool) {
        let report = match self.reports.last_mut() {
            Some(report) if report.epoch == epoch => report,
            _ => {
                self.reports.push(HeartbeatReport {
                    epoch,
                    seen: Bitset::new(),
                    reinstate: Vec::new(),
                    retention_ms,
                });
                let last = self.reports.len() - 1;
                &mut self.reports[last]
            }
        };
        report.seen.insert(number);
        if recovering && report.reinstate.len() < MAX_PENDING_REINSTATE {
            report.reinstate.push(number);
        }
    }

    /// Takes everything recorded so far.
    pub fn take(&mut self) -> Vec<HeartbeatReport> {
        std::mem::take(&mut self.reports)
    }

    /// Puts back reports a failed flush could not write, ahead of newer ones; reports
    /// older than their retention are let go (they no longer matter).
    pub fn put_back(&mut self, mut failed: Vec<HeartbeatReport>, now_ms: u64) {
        failed.retain(|report| {
            (report.epoch.index + 1) * report.epoch.length_ms + report.retention_ms > now_ms
        });
        failed.append(&mut self.reports);
        self.reports = failed;
    }
}
