//! Benchmark 3: what each call costs Redis. One gateway on a private Redis; phases of
//! joins, status polls, admissions (the pacer alone) and enters, each read against
//! `INFO commandstats` and `INFO cpu` before and after, less the idle background
//! (replica sync, heartbeat flush, pacer lease) measured first.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::users::{EventSpec, join_users, poll_each};
use super::{Admin, BenchOptions, GatewaySetup, Server, round, sane};
use crate::chart::{Panel, Series, dashboard};
use crate::endpoint::Endpoint;
use crate::http::Call;
use crate::probe::{Probes, RedisInfo, RedisProbe, Sampler};
use crate::saturate::{Phase, saturate};
use breakwater_testkit::redis::RedisServer;

const EVENT: &str = "bench-cost";

struct Plan {
    idle: Duration,
    joins: u64,
    polls: u64,
    rate: f64,
    admit_for: Duration,
}

/// One phase's Redis cost.
struct Cost {
    name: &'static str,
    calls: u64,
    seconds: f64,
    delta: RedisInfo,
}

impl Cost {
    fn figures(&self, idle: &Cost) -> Value {
        let per = |total: f64, idle_rate: f64| {
            let net = (total - idle_rate * self.seconds).max(0.0);
            net / self.calls.max(1) as f64
        };
        let idle_seconds = idle.seconds.max(1e-3);
        json!({
            "calls": self.calls,
            "seconds": round(self.seconds, 2),
            "redis_commands_per_call": round(self.delta.commands as f64 / self.calls.max(1) as f64, 4),
            "redis_script_calls_per_call": round(self.delta.script_calls as f64 / self.calls.max(1) as f64, 4),
            "redis_cpu_us_per_call": round(self.delta.cpu_seconds * 1e6 / self.calls.max(1) as f64, 2),
            "net_of_idle": {
                "redis_commands_per_call": round(per(self.delta.commands as f64, idle.delta.commands as f64 / idle_seconds), 4),
                "redis_cpu_us_per_call": round(per(self.delta.cpu_seconds * 1e6, idle.delta.cpu_seconds * 1e6 / idle_seconds), 2),
            },
            "commands": self.delta.calls,
        })
    }
}

/// Runs the benchmark (its short form with `--quick`) and returns its figures.
pub async fn run(options: &BenchOptions) -> anyhow::Result<Value> {
    let plan = if options.quick {
        Plan {
            idle: Duration::from_secs(2),
            joins: 2_000,
            polls: 4_000,
            rate: 200.0,
            admit_for: Duration::from_secs(3),
        }
    } else {
        Plan {
            idle: Duration::from_secs(10),
            joins: 50_000,
            polls: 100_000,
            rate: 1_000.0,
            admit_for: Duration::from_secs(20),
        }
    };
    let redis = RedisServer::start().await?;
    let setup = GatewaySetup::standalone(redis.url());
    let gateway = Server::gateway("gateway", &setup, &options.out).await?;
    let admin = Admin::new(gateway.pool(2), &setup.admin_key);
    admin.create_event(&EventSpec::still(EVENT).body()).await?;
    let sampler = Sampler::start(
        Probes {
            redis: Some(RedisProbe::new(vec![redis.url()])),
            line: Some(admin.line_probe(EVENT)),
            processes: vec![],
        },
        Instant::now(),
        Duration::from_secs(1),
        Default::default(),
    );
    let mut probe = RedisProbe::new(vec![redis.url()]);
    let pool = gateway.pool(32);

    let mark = Mark::now(&mut probe).await?;
    tokio::time::sleep(plan.idle).await;
    let idle = mark.cost(&mut probe, "idle", 1).await?;

    let mark = Mark::now(&mut probe).await?;
    let (_, tokens) = join_users(pool.clone(), EVENT, plan.joins, 32).await;
    let joins = mark.cost(&mut probe, "join", tokens.len() as u64).await?;
    sane(
        tokens.len() as u64 == plan.joins,
        "every join returned a token",
    )?;
    let tokens = Arc::new(tokens);

    let mark = Mark::now(&mut probe).await?;
    let mut polled = 0;
    while polled < plan.polls {
        polled += poll_each(pool.clone(), EVENT, tokens.clone(), 32)
            .await
            .requests;
    }
    let polls = mark.cost(&mut probe, "status", polled).await?;

    let before = admin.stats(EVENT).await?.admitted_total;
    let mark = Mark::now(&mut probe).await?;
    admin
        .patch_event(
            EVENT,
            &json!({"paused": false, "admission_rate_per_second": plan.rate}),
        )
        .await?;
    tokio::time::sleep(plan.admit_for).await;
    admin.patch_event(EVENT, &json!({"paused": true})).await?;
    let admitted = admin.stats(EVENT).await?.admitted_total - before;
    let admissions = mark.cost(&mut probe, "admission", admitted).await?;
    sane(admitted > 0, "the pacer admitted buyers")?;

    // The first admitted are the first who joined (FIFO): they enter now.
    let entering = Arc::new(tokens[..(admitted as usize).min(tokens.len())].to_vec());
    let mark = Mark::now(&mut probe).await?;
    let path = format!("/api/v1/events/{EVENT}/queue/enter");
    let list = entering.clone();
    let entered = saturate(
        pool.clone(),
        Phase {
            endpoint: Endpoint::Enter,
            concurrency: 16,
            duration: Duration::from_secs(600),
            limit: Some(entering.len() as u64),
            make: Arc::new(move |n| {
                Call::new(Method::POST, path.clone()).bearer(list[n as usize].clone())
            }),
            keep: None,
        },
    )
    .await;
    let enters = mark.cost(&mut probe, "enter", entered.requests).await?;
    sane(entered.requests > 0, "buyers entered")?;

    let (samples, _) = sampler.stop().await;
    chart(options, &samples)?;
    Ok(json!({
        "idle_background": {
            "redis_commands_per_second": round(idle.delta.commands as f64 / idle.seconds, 1),
            "redis_cpu_percent": round(idle.delta.cpu_seconds / idle.seconds * 100.0, 2),
            "commands": idle.delta.calls,
        },
        "per_join": joins.figures(&idle),
        "per_status": polls.figures(&idle),
        "per_admission": admissions.figures(&idle),
        "per_enter": enters.figures(&idle),
        "enter_statuses_ok": entered.requests - entered.errors,
        "admission_rate_per_second": plan.rate,
        "note": "commands count every command Redis ran, script internals included (INFO commandstats); script calls count EVAL/EVALSHA round trips",
        "chart": "redis-cost.svg",
        "phases": [idle.name, joins.name, polls.name, admissions.name, enters.name],
    }))
}

/// Redis readings at the start of a phase.
struct Mark {
    at: Instant,
    info: RedisInfo,
}

impl Mark {
    async fn now(probe: &mut RedisProbe) -> anyhow::Result<Self> {
        Ok(Self {
            at: Instant::now(),
            info: probe.read().await?,
        })
    }

    async fn cost(
        self,
        probe: &mut RedisProbe,
        name: &'static str,
        calls: u64,
    ) -> anyhow::Result<Cost> {
        // Let the gateway's batched writes of the phase (heartbeat flush: 1 s) land.
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let delta = probe.read().await?.since(&self.info);
        Ok(Cost {
            name,
            calls,
            seconds: self.at.elapsed().as_secs_f64(),
            delta,
        })
    }
}

fn chart(options: &BenchOptions, samples: &[crate::probe::Sample]) -> anyhow::Result<()> {
    let rate = |pick: fn(&RedisInfo) -> f64, name: &str| {
        Series::new(
            name,
            samples
                .windows(2)
                .filter_map(|pair| {
                    let delta = pair[1].redis.as_ref()?.since(pair[0].redis.as_ref()?);
                    Some((
                        pair[1].at_s,
                        pick(&delta) / (pair[1].at_s - pair[0].at_s).max(1e-3),
                    ))
                })
                .collect(),
        )
    };
    let waiting = Series::new(
        "waiting",
        samples
            .iter()
            .filter_map(|sample| Some((sample.at_s, sample.line?.waiting as f64)))
            .collect(),
    );
    let panels = vec![
        Panel::new(
            "Redis commands/s (phases: idle, joins, polls, admissions, enters)",
            "commands/s",
            vec![
                rate(|info| info.commands as f64, "all commands"),
                rate(|info| info.script_calls as f64, "script calls (EVALSHA)"),
            ],
        ),
        Panel::new(
            "Redis CPU",
            "% of a core",
            vec![rate(|info| info.cpu_seconds * 100.0, "cpu %")],
        ),
        Panel::new("line length", "waiting", vec![waiting]),
    ];
    dashboard(
        &options.out.join("redis-cost.svg"),
        "Redis cost per call, phase by phase",
        &panels,
    )
}
