//! The waiting room engine.
//!
//! Each gateway keeps an in-memory replica of every line, kept in step with the shared
//! store through its change log, and answers status polls from it: a poll costs no store
//! command. Joins are batched into one store call per batch; heartbeats are batched into
//! one bitmap per epoch; one gateway per event holds the pacer lease and admits the front
//! of the line at the configured rate. When the store loses a line (restart, flush), the
//! engine restores it from its replica, and buyers the replica does not know come back
//! with their signed line tokens.

mod config;
mod error;
mod heartbeats;
mod joins;
mod line;
mod pacer;
mod proofs;
mod room;
mod sync;
mod view;

pub use config::WaitroomConfig;
pub use error::WaitroomError;
pub use room::Waitroom;
pub use view::{Admission, EventView, Joined, LineStats, QueueState, QueueStatus};
