//! One measured load run: probes sampled alongside the driver, results assembled and
//! written.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::driver::{DriveOptions, drive};
use crate::http::Pool;
use crate::live::Live;
use crate::probe::{Probes, Sampler};
use crate::report::RunResult;
use crate::script::Script;

/// Runs `script` with `options` against `pools`, sampling `probes` every second, and
/// writes the results into `out` when given. Returns the results and the probes.
pub async fn measured_run<S: Script>(
    name: &str,
    script: &mut S,
    pools: &[Arc<Pool>],
    probes: Probes,
    options: &DriveOptions,
    live: bool,
    out: Option<&Path>,
) -> anyhow::Result<(RunResult, Probes)> {
    let mut live = Live::new(name, live);
    let names: Vec<String> = probes
        .processes
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let start = Instant::now();
    let sampler = Sampler::start(probes, start, Duration::from_secs(1), live.extra());
    let report = drive(script, pools, options, start, &mut live).await;
    let (samples, probes) = sampler.stop().await;
    let result = RunResult::new(
        name,
        &report,
        script.report(),
        samples,
        names,
        options.warmup,
    );
    if let Some(dir) = out {
        result.write(dir)?;
    }
    Ok((result, probes))
}
