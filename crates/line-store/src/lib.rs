//! The contract between the waiting room engine and the store its gateways share, and the
//! embedded store that `breakwater serve` runs on.
//!
//! A store keeps each line's authoritative state and a change log; gateways keep replicas
//! in step with it and answer polls from memory. Every operation that decides something
//! (handing out numbers, admitting, entering) is atomic in the store, so any number of
//! gateways may share one.

mod contract;
mod embedded;
mod epoch;

pub use contract::{
    AdmitRequest, AdmitResult, EnterOutcome, HeartbeatReport, LineStore, Snapshot, StoreError,
    SyncBatch, SyncCursor, SyncOutcome,
};
pub use embedded::EmbeddedLineStore;
pub use epoch::{Epoch, EpochWindow};
