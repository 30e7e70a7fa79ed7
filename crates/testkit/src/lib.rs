//! Test harness shared by the test suites: real Redis servers and Redis Clusters started on
//! free loopback ports (and stopped when dropped), and fresh PostgreSQL databases.
//!
//! Only tests and benchmark programs depend on this crate.

pub mod ports;
pub mod postgres;
pub mod redis;
