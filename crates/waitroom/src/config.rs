//! Tuning of the engine (not of any one event: those are the lines' settings).

use std::time::Duration;

/// How often the engine talks to its store, and its bounds.
#[derive(Debug, Clone)]
pub struct WaitroomConfig {
    /// This gateway's name in pacer leases; unique per process.
    pub gateway_id: String,
    /// How often each replica pulls the change log. Positions are at most this (plus a
    /// round trip) behind the store.
    pub sync_interval: Duration,
    /// Polls are refused with 503 when the replica could not sync for this long: the
    /// line's store is unreachable and answers would be stale.
    pub stale_after: Duration,
    /// How often batched heartbeats are written to the store.
    pub heartbeat_flush_interval: Duration,
    /// How often the pacer steps.
    pub pacer_interval: Duration,
    /// How long a pacer lease lasts unless renewed.
    pub lease_ttl: Duration,
    /// How often the store's list of events is re-read.
    pub discovery_interval: Duration,
    /// Most joins handed out in one store call.
    pub join_batch_max: usize,
    /// Most joins waiting for a store call per event; beyond it joins get 503.
    pub join_queue_capacity: usize,
    /// Queue numbers skipped when restoring a lost line: more than any gateway can have
    /// handed out in one sync interval that the restoring replica did not see.
    pub restore_gap: u64,
    /// Most changes read per sync call.
    pub sync_batch_max: usize,
    /// Most numbers per drop-out store call.
    pub drop_batch_max: usize,
    /// How often the gateway running an event's pacer asks the ticketing backend about the
    /// seats left (while buyers are in line).
    pub stock_interval: Duration,
    /// Joins per second on one event, on this gateway, past which an event that asks a
    /// proof of work asks one bit more per doubling (0: never raised).
    pub proof_flood_joins_per_second: u64,
}

impl Default for WaitroomConfig {
    fn default() -> Self {
        Self {
            gateway_id: format!("gw-{:012x}", rand::random::<u64>() >> 16),
            sync_interval: Duration::from_millis(200),
            stale_after: Duration::from_secs(2),
            heartbeat_flush_interval: Duration::from_millis(1000),
            pacer_interval: Duration::from_millis(20),
            lease_ttl: Duration::from_secs(3),
            discovery_interval: Duration::from_secs(1),
            join_batch_max: 4096,
            join_queue_capacity: 65_536,
            restore_gap: 1 << 20,
            sync_batch_max: 10_000,
            drop_batch_max: 10_000,
            stock_interval: Duration::from_secs(1),
            proof_flood_joins_per_second: 2_000,
        }
    }
}

impl WaitroomConfig {
    /// Settings for a store in this process: syncing is nearly free, so sync often.
    pub fn embedded() -> Self {
        Self {
            sync_interval: Duration::from_millis(50),
            heartbeat_flush_interval: Duration::from_millis(500),
            ..Self::default()
        }
    }

    /// How far behind the schedule a late pacer step may catch up: five steps, so timers
    /// running late lose nothing, while a stalled process catches up at most this much
    /// (a tenth of a second's admissions) rather than in a burst.
    pub fn pacing_tolerance_ms(&self) -> f64 {
        5.0 * self.pacer_interval.as_secs_f64() * 1000.0
    }
}
