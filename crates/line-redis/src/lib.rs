//! The waiting line's store on Redis (standalone or Cluster).
//!
//! Every key of one event shares the hash tag `{<namespace>:<event>}`, so every script
//! runs on one node of a cluster. Per waiting buyer Redis holds a few bits: one in the
//! `out` bitmap and one per heartbeat epoch; the queue number counter, the change log
//! and the ready/session sets are per event or bounded by the active cap.

mod codec;
mod connection;
mod keys;
mod scripts;
mod store;

pub use connection::{RedisOptions, RedisTopology};
pub use store::RedisLineStore;
