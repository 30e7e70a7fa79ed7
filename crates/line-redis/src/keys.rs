//! Key names: every key of one event under one hash tag.

use breakwater_line::EventId;
use breakwater_line_store::Epoch;

/// The keys of one event's line.
pub(crate) struct LineKeys {
    prefix: String,
}

impl LineKeys {
    pub fn new(namespace: &str, event: &EventId) -> Self {
        Self {
            prefix: format!("{{{namespace}:{event}}}"),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// Counters and flags: incarnation, seq, base, lsn, pacing state, pause.
    pub fn state(&self) -> String {
        self.key("st")
    }
    /// The settings as JSON.
    pub fn settings(&self) -> String {
        self.key("cfg")
    }
    /// Bitmap of numbers no longer waiting.
    pub fn out(&self) -> String {
        self.key("out")
    }
    /// Bitmap of numbers reinstated from their tokens.
    pub fn reinstated(&self) -> String {
        self.key("reg")
    }
    /// Bitmap of numbers that entered.
    pub fn entered(&self) -> String {
        self.key("ent")
    }
    /// Sorted set of ready numbers by claim deadline.
    pub fn ready(&self) -> String {
        self.key("ready")
    }
    /// Sorted set of sessions by end time.
    pub fn sessions(&self) -> String {
        self.key("sess")
    }
    /// The change log stream.
    pub fn log(&self) -> String {
        self.key("log")
    }
    /// The pacer lease.
    pub fn lease(&self) -> String {
        self.key("lease")
    }
    /// Scratch space for one script call (scripts are atomic, so one suffices).
    pub fn scratch(&self) -> String {
        self.key("tmp")
    }
    /// One heartbeat epoch's bitmap.
    pub fn heartbeat(&self, epoch: Epoch) -> String {
        self.key(&format!("hb:{}:{}", epoch.length_ms, epoch.index))
    }
}

/// The set of every event id in a namespace (its own slot; only read and added to).
pub(crate) fn events_key(namespace: &str) -> String {
    format!("{namespace}:events")
}
