//! Connections to Redis standalone or Cluster, with timeouts and TCP_NODELAY.

use std::time::Duration;

use breakwater_line_store::StoreError;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisFuture, Value};

/// Whether the servers form a Redis Cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisTopology {
    /// One server (or a proxy in front of several).
    Standalone,
    /// A Redis Cluster; the URLs are seed nodes.
    Cluster,
}

/// Where and how to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// `redis://host:port` URLs: the server, or cluster seed nodes.
    pub urls: Vec<String>,
    /// Standalone or Cluster.
    pub topology: RedisTopology,
    /// Prefix of every key, so deployments (or tests) can share servers.
    pub namespace: String,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long to wait for any one answer; past it the store counts as unavailable.
    pub response_timeout: Duration,
}

impl RedisOptions {
    /// Options for one URL with default namespace and timeouts.
    pub fn new(url: impl Into<String>, topology: RedisTopology) -> Self {
        Self {
            urls: vec![url.into()],
            topology,
            namespace: "bw".into(),
            connect_timeout: Duration::from_secs(2),
            response_timeout: Duration::from_secs(1),
        }
    }
}

/// A multiplexed, self-reconnecting connection to either topology.
#[derive(Clone)]
pub(crate) enum RedisConnection {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConnection {
    pub async fn connect(options: &RedisOptions) -> Result<Self, StoreError> {
        // Every request is small and latency-bound: never let Nagle hold one back.
        let tcp = TcpSettings::default().set_nodelay(true);
        let infos = options
            .urls
            .iter()
            .map(|url| {
                url.as_str()
                    .into_connection_info()
                    .map(|info| info.set_tcp_settings(tcp.clone()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        match options.topology {
            RedisTopology::Standalone => {
                let info = infos
                    .into_iter()
                    .next()
                    .ok_or_else(|| StoreError::Unavailable("no Redis URL given".into()))?;
                let client = redis::Client::open(info).map_err(unavailable)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(options.connect_timeout))
                    .set_response_timeout(Some(options.response_timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                // Lazy: the process starts (and reports not-ready) while Redis is down,
                // and connects as soon as it is up.
                let manager =
                    ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
                Ok(Self::Standalone(manager))
            }
            RedisTopology::Cluster => {
                let client = ClusterClientBuilder::new(infos)
                    .tcp_settings(tcp)
                    .connection_timeout(options.connect_timeout)
                    .response_timeout(options.response_timeout)
                    .retries(2)
                    // redis-rs waits at least 1.28 s before each retry by default: far
                    // longer than a failover's last moments need, and a poll's whole
                    // budget. Retry after 20–200 ms instead.
                    .min_retry_wait(20)
                    .max_retry_wait(500)
                    .retry_wait_formula(100, 2)
                    .build()
                    .map_err(unavailable)?;
                let connection = client.get_async_connection().await.map_err(unavailable)?;
                Ok(Self::Cluster(connection))
            }
        }
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

pub(crate) fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}
