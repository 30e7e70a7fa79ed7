//! Real Redis servers and Redis Clusters on free loopback ports, for tests and benchmarks.
//!
//! Each server runs from `redis-server` in a temporary directory, keeps nothing on disk,
//! and is killed when its handle is dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use tempfile::TempDir;

use crate::ports::free_port_with_companion;

/// How long a server may take to answer after starting.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// One `redis-server` process.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    cluster: bool,
}

impl RedisServer {
    /// Starts a standalone server on a free port and waits until it answers.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(false).await
    }

    async fn start_with(cluster: bool) -> anyhow::Result<Self> {
        let mut last_error = None;
        for _ in 0..5 {
            // Cluster nodes also listen on port + 10000 (the cluster bus).
            let port = free_port_with_companion(10_000)?;
            let mut server = Self {
                child: None,
                port,
                dir: tempfile::tempdir()?,
                cluster,
            };
            match server.spawn().and(Ok(())) {
                Ok(()) => match server.wait_until_up().await {
                    Ok(()) => return Ok(server),
                    Err(error) => last_error = Some(error),
                },
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("redis-server did not start")))
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.cluster {
            command
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", "2000"]);
        }
        self.child = Some(command.spawn().context("starting redis-server")?);
        Ok(())
    }

    async fn wait_until_up(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.query(&["PING"]).await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => {
                    return Err(
                        error.context(format!("redis on port {} never answered", self.port))
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs one command and returns its reply as text.
    pub async fn query(&self, args: &[&str]) -> anyhow::Result<String> {
        let client = redis::Client::open(self.url())?;
        let mut connection = tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection(),
        )
        .await
        .context("connect timeout")??;
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        let value: redis::Value = command.query_async(&mut connection).await?;
        Ok(match value {
            redis::Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            redis::Value::SimpleString(text) => text,
            redis::Value::Okay => "OK".into(),
            redis::Value::Int(number) => number.to_string(),
            other => format!("{other:?}"),
        })
    }

    /// `INFO commandstats` as (command, calls) pairs.
    pub async fn command_calls(&self) -> anyhow::Result<Vec<(String, u64)>> {
        let info = self.query(&["INFO", "commandstats"]).await?;
        Ok(info
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("cmdstat_")?;
                let (name, stats) = rest.split_once(':')?;
                let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
                Some((name.to_owned(), calls.trim().parse().ok()?))
            })
            .collect())
    }

    /// Kills the server (like a crash: everything it held is gone).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, after [`RedisServer::kill`].
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        let _ = std::fs::remove_file(self.dir.path().join("nodes.conf"));
        self.spawn()?;
        self.wait_until_up().await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Cluster of masters (no replicas) on free loopback ports.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes, creates the cluster and waits until every slot is served.
    pub async fn start(masters: usize) -> anyhow::Result<Self> {
        let mut nodes = Vec::with_capacity(masters);
        for _ in 0..masters {
            nodes.push(RedisServer::start_with(true).await?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .context("running redis-cli --cluster create")?;
        anyhow::ensure!(
            output.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Self { nodes };
        cluster.wait_until_ok().await?;
        Ok(cluster)
    }

    async fn wait_until_ok(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let mut all_ok = true;
            for node in &self.nodes {
                let info = node.query(&["CLUSTER", "INFO"]).await.unwrap_or_default();
                all_ok &= info.contains("cluster_state:ok");
            }
            if all_ok {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "cluster never reached state ok");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Seed URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// Empties every node (`FLUSHALL`), as an operator's mistake or a restart would.
    pub async fn flush_all(&self) -> anyhow::Result<()> {
        for node in &self.nodes {
            node.query(&["FLUSHALL"]).await?;
        }
        Ok(())
    }
}
