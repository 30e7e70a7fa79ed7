//! The waiting room engine: an in-memory replica of each line kept in step with the store, the admission pacer, batched heartbeats and recovery.
