//! The contract of a waiting line's shared store, and the embedded in-process store.
