//! Breakwater servers for benchmarks: `breakwater gateway` and `breakwater serve` started
//! from this very binary on free loopback ports, ready before use, killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::time::Instant;

use crate::http::{Call, Pool, PoolOptions};

/// How long a server may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A random secret long enough for the gateway's checks.
pub fn secret() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

/// One Breakwater server process.
pub struct Server {
    name: String,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

/// What a gateway runs against.
#[derive(Debug, Clone)]
pub struct GatewaySetup {
    /// Redis URLs (every node of a cluster).
    pub redis_urls: Vec<String>,
    /// Whether they form a cluster.
    pub cluster: bool,
    /// Shared token secret.
    pub token_secret: String,
    /// Admin key.
    pub admin_key: String,
}

impl GatewaySetup {
    /// A setup on one standalone Redis with fresh secrets.
    pub fn standalone(redis_url: String) -> Self {
        Self {
            redis_urls: vec![redis_url],
            cluster: false,
            token_secret: secret(),
            admin_key: secret(),
        }
    }
}

impl Server {
    /// Starts `breakwater gateway` on `setup`, logging to `log_dir/<name>.log`.
    pub async fn gateway(name: &str, setup: &GatewaySetup, log_dir: &Path) -> anyhow::Result<Self> {
        Self::start(name, log_dir, |command, addr| {
            command
                .arg("gateway")
                .args(["--listen", &addr.to_string()])
                .args(["--redis-url", &setup.redis_urls.join(",")])
                .env("BREAKWATER_TOKEN_SECRET", &setup.token_secret)
                .env("BREAKWATER_ADMIN_KEY", &setup.admin_key);
            if setup.cluster {
                command.arg("--redis-cluster");
            }
        })
        .await
    }

    /// Starts `breakwater serve` with its data in `data_dir` and `admin_key`.
    pub async fn serve(
        name: &str,
        data_dir: &Path,
        admin_key: &str,
        log_dir: &Path,
    ) -> anyhow::Result<Self> {
        Self::start(name, log_dir, |command, addr| {
            command
                .arg("serve")
                .args(["--listen", &addr.to_string()])
                .arg("--data-dir")
                .arg(data_dir)
                .env("BREAKWATER_ADMIN_KEY", admin_key);
        })
        .await
    }

    async fn start(
        name: &str,
        log_dir: &Path,
        configure: impl Fn(&mut Command, SocketAddr),
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log = log_dir.join(format!("{name}.log"));
        let mut last_error = None;
        // A free port can be taken between choosing and binding it: try a few.
        for _ in 0..3 {
            let port = breakwater_testkit::ports::free_port()?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let mut command = Command::new(std::env::current_exe()?);
            // The simulated buyers all come from this one address: lift the per-client
            // limits (a setting in the environment still wins, to measure their cost).
            for key in [
                "BREAKWATER_CLIENTS__JOINS_PER_MINUTE",
                "BREAKWATER_CLIENTS__CALLS_PER_SECOND",
            ] {
                if std::env::var_os(key).is_none() {
                    command.env(key, "0");
                }
            }
            configure(&mut command, addr);
            command
                // Request logs would cost the server more than the requests.
                .env(
                    "RUST_LOG",
                    std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
                )
                .stdin(Stdio::null())
                .stdout(Stdio::from(std::fs::File::create(&log)?))
                .stderr(Stdio::from(
                    std::fs::OpenOptions::new().append(true).open(&log)?,
                ));
            let child = command.spawn().context("starting a breakwater server")?;
            let mut server = Self {
                name: name.to_owned(),
                child,
                addr,
                log: log.clone(),
            };
            match server.wait_ready().await {
                Ok(()) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("server never started")))
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let pool = Pool::new(
            self.addr,
            PoolOptions {
                connections: 1,
                connect_timeout: Duration::from_millis(500),
                request_timeout: Duration::from_secs(2),
            },
        );
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "{} exited with {status} before it was ready; see {}",
                    self.name,
                    self.log.display()
                );
            }
            if let Ok(reply) = pool.send(&Call::get("/readyz")).await
                && reply.status == 200
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} not ready after {READY_TIMEOUT:?}; see {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server's name in logs and charts.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A connection pool to it.
    pub fn pool(&self, connections: usize) -> Arc<Pool> {
        Pool::new(
            self.addr,
            PoolOptions {
                connections,
                ..PoolOptions::default()
            },
        )
    }

    /// Stops it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
