//! What the load generator watches besides its own requests: Redis (CPU, commands,
//! memory), processes (CPU, RSS) and the line (length, admissions), sampled once a second.

mod line;
mod process;
mod redis_info;
mod sampler;

pub use line::{LineProbe, LineSample};
pub use process::{ProcessSample, process_sample, self_sample};
pub use redis_info::{RedisInfo, RedisProbe};
pub use sampler::{Probes, Sample, Sampler};
