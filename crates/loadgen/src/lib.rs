//! Load generator and benchmark programs.
//!
//! `breakwater loadgen` simulates buyers (an open model: users arrive on a profile's clock
//! whatever the server does, and latency is measured from each request's intended send
//! time); `breakwater bench NAME` runs the benchmarks of BENCHMARKS.md, each printing one
//! JSON line and writing SVG charts.

pub mod bench;
pub mod chart;
pub mod cli;
pub mod driver;
pub mod endpoint;
pub mod http;
pub mod journey;
pub mod live;
pub mod probe;
pub mod profile;
pub mod record;
pub mod report;
pub mod run;
pub mod saturate;
pub mod schedule;
pub mod script;
