//! Cross-part tests of the waiting room: the real `breakwater` binary, spawned as
//! processes on free loopback ports, against real Redis servers.

mod admission_rate;
mod bad_input;
mod client_limits;
mod forwarding;
mod multi_gateway;
mod redis_faults;
mod redis_outage;
mod redis_rollback;
mod serve_restart;
mod sessions;
mod slow_backend;
mod slow_clients;
mod sold_out;
mod support;
