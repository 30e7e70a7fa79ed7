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
            // Fault tests freeze the server with `DEBUG SLEEP` (loopback clients only).
            .args(["--enable-debug-command", "local"])
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

/// A numeric field of an `INFO` section.
fn info_field(info: &str, name: &str) -> Option<u64> {
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

/// The port of the master serving `slot`, from `CLUSTER NODES` (a line per node: id,
/// `ip:port@bus`, flags, master id, pings, epoch, link state, then slot ranges).
fn master_port_of_slot(nodes: &str, slot: u16) -> Option<u16> {
    nodes.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let is_master = fields.get(2)?.split(',').any(|flag| flag == "master");
        let serves = fields.iter().skip(8).any(|range| {
            let (low, high) = range.split_once('-').unwrap_or((range, range));
            matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(low), Ok(high)) if (low..=high).contains(&slot))
        });
        if !(is_master && serves) {
            return None;
        }
        let address = fields.get(1)?.split('@').next()?;
        address.rsplit_once(':')?.1.parse().ok()
    })
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis Cluster on free loopback ports: masters, and optionally replicas of each.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` nodes, creates the cluster and waits until every slot is served.
    pub async fn start(masters: usize) -> anyhow::Result<Self> {
        Self::start_with_replicas(masters, 0).await
    }

    /// Starts `masters` masters with `replicas` replicas each, and waits until every slot
    /// is served.
    pub async fn start_with_replicas(masters: usize, replicas: usize) -> anyhow::Result<Self> {
        let count = masters * (1 + replicas);
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
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
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
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

    /// Kills the master serving `key`'s slot once its replicas have every write it took
    /// (so what follows is a failover, not a lost write); returns the killed node's port.
    pub async fn kill_master_of(&mut self, key: &str) -> anyhow::Result<u16> {
        let seed = self.nodes.first().context("an empty cluster")?;
        let slot: u16 = seed.query(&["CLUSTER", "KEYSLOT", key]).await?.parse()?;
        let nodes = seed.query(&["CLUSTER", "NODES"]).await?;
        let port = master_port_of_slot(&nodes, slot).context("no master serves the slot")?;
        let index = self
            .nodes
            .iter()
            .position(|node| node.port() == port)
            .context("the master is not one of ours")?;
        self.wait_until_replicated(index).await?;
        self.nodes[index].kill();
        Ok(port)
    }

    /// Whether a node other than `old_master` now serves `key`'s slot and every live node
    /// says every slot is served: the failover is over.
    pub async fn failed_over(&self, key: &str, old_master: u16) -> bool {
        let mut answered = false;
        for node in self.nodes.iter().filter(|node| node.port() != old_master) {
            let (Ok(info), Ok(nodes), Ok(slot)) = (
                node.query(&["CLUSTER", "INFO"]).await,
                node.query(&["CLUSTER", "NODES"]).await,
                node.query(&["CLUSTER", "KEYSLOT", key]).await,
            ) else {
                continue;
            };
            let master = slot
                .parse()
                .ok()
                .and_then(|slot| master_port_of_slot(&nodes, slot));
            if !info.contains("cluster_state:ok") || master.is_none_or(|port| port == old_master) {
                return false;
            }
            answered = true;
        }
        answered
    }

    async fn wait_until_replicated(&self, master: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let info = self.nodes[master].query(&["INFO", "replication"]).await?;
            let offset = info_field(&info, "master_repl_offset");
            // Each replica line reads `slaveN:ip=…,port=…,state=online,offset=…,lag=…`.
            let replicas: Vec<Option<u64>> = info
                .lines()
                .filter(|line| line.starts_with("slave"))
                .map(|line| {
                    line.split(',')
                        .find_map(|field| field.strip_prefix("offset="))
                        .and_then(|value| value.trim().parse().ok())
                })
                .collect();
            if !replicas.is_empty() && replicas.iter().all(|replica| *replica == offset) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "replicas never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Empties every node (`FLUSHALL`), as an operator's mistake or a restart would.
    pub async fn flush_all(&self) -> anyhow::Result<()> {
        for node in &self.nodes {
            node.query(&["FLUSHALL"]).await?;
        }
        Ok(())
    }
}
