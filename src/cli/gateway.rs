//! `breakwater gateway`: the waiting room alone, its lines in Redis or Redis Cluster;
//! several may run side by side on one Redis.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use breakwater_gateway::{
    AdminKey, BackendClient, BackendLimits, ClientLimits, GatewayParts, GatewayState,
};
use breakwater_line::SystemClock;
use breakwater_line_redis::{RedisLineStore, RedisOptions, RedisTopology};
use breakwater_secret::Secret;
use breakwater_tokens::TokenKeys;
use breakwater_waitroom::{Waitroom, WaitroomConfig};
use serde::{Deserialize, Serialize};

use crate::cli::runtime;
use crate::config::{self, ConfigError};

/// Flags of `breakwater gateway` (each also read from `BREAKWATER_<NAME>`).
#[derive(Debug, Default, clap::Args, Serialize)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// Redis URL(s), comma-separated (cluster seed nodes with --redis-cluster).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_url: Option<String>,
    /// The Redis URLs are nodes of a Redis Cluster.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    redis_cluster: bool,
    /// Prefix of every Redis key.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_namespace: Option<String>,
    /// Base URL of the reservation service (the ticketing backend).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    backend_url: Option<String>,
}

/// The configuration of `breakwater gateway`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub redis_url: String,
    pub redis_cluster: bool,
    pub redis_namespace: String,
    pub backend_url: Option<String>,
    /// Signs tokens; the same on every gateway and reservation service of a deployment.
    pub token_secret: Secret,
    /// Key of the admin API.
    pub admin_key: Secret,
    /// How often each line's replica syncs with Redis.
    pub sync_interval_ms: u64,
    /// How long one Redis answer may take before the store counts as unavailable.
    pub redis_timeout_ms: u64,
    /// How long a call to the backend may take before the buyer gets a 503.
    pub backend_timeout_ms: u64,
    /// Most buyer calls forwarded to the backend at once; beyond it, 503 at once.
    pub backend_max_in_flight: usize,
    /// The HTTP server's bounds on connections, requests and slow clients.
    pub http: breakwater_serving::Limits,
    /// How often one client may join and call the buyer API.
    pub clients: ClientLimits,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            redis_url: String::new(),
            redis_cluster: false,
            redis_namespace: "bw".into(),
            backend_url: None,
            token_secret: Secret::default(),
            admin_key: Secret::default(),
            sync_interval_ms: 200,
            redis_timeout_ms: 1000,
            backend_timeout_ms: BackendLimits::default().timeout.as_millis() as u64,
            backend_max_in_flight: BackendLimits::default().max_in_flight,
            http: breakwater_serving::Limits::default(),
            clients: ClientLimits::default(),
        }
    }
}

impl GatewayConfig {
    /// Checks every setting; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.http
            .validate()
            .map_err(|limit| ConfigError::invalid(limit.key, limit.reason))?;
        self.clients
            .validate()
            .map_err(|limit| ConfigError::invalid(limit.key, limit.reason))?;
        if self.redis_url.is_empty() {
            return Err(ConfigError::invalid(
                "redis_url",
                "is required (--redis-url or BREAKWATER_REDIS_URL)",
            ));
        }
        if let Some(bad) = self.redis_urls().find(|url| !url.starts_with("redis://")) {
            return Err(ConfigError::invalid(
                "redis_url",
                format!("must be redis://HOST:PORT URLs, got {bad:?}"),
            ));
        }
        config::check_secret("token_secret", &self.token_secret)?;
        config::check_secret("admin_key", &self.admin_key)?;
        if self
            .backend_url
            .as_deref()
            .is_some_and(|url| !url.starts_with("http://") && !url.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "backend_url",
                "must be an http(s):// URL",
            ));
        }
        if !(10..=5_000).contains(&self.sync_interval_ms) {
            return Err(ConfigError::invalid(
                "sync_interval_ms",
                "must be 10 to 5000",
            ));
        }
        if !(50..=30_000).contains(&self.redis_timeout_ms) {
            return Err(ConfigError::invalid(
                "redis_timeout_ms",
                "must be 50 to 30000",
            ));
        }
        if !(100..=120_000).contains(&self.backend_timeout_ms) {
            return Err(ConfigError::invalid(
                "backend_timeout_ms",
                "must be 100 to 120000",
            ));
        }
        if !(1..=100_000).contains(&self.backend_max_in_flight) {
            return Err(ConfigError::invalid(
                "backend_max_in_flight",
                "must be 1 to 100000",
            ));
        }
        Ok(())
    }

    fn backend_limits(&self) -> BackendLimits {
        BackendLimits {
            timeout: Duration::from_millis(self.backend_timeout_ms),
            max_in_flight: self.backend_max_in_flight,
        }
    }

    fn redis_urls(&self) -> impl Iterator<Item = &str> {
        self.redis_url
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
    }
}

/// Runs a gateway until interrupted.
pub async fn run(file: Option<&Path>, args: GatewayArgs) -> anyhow::Result<()> {
    config::refuse_password_in_flag("--redis-url", args.redis_url.as_deref())?;
    let config: GatewayConfig = config::load(file, &args)?;
    config.validate()?;
    let shutdown = runtime::shutdown_on_signal();
    let metrics = runtime::install_metrics();
    let mut options = RedisOptions::new(
        config.redis_urls().next().unwrap_or_default(),
        if config.redis_cluster {
            RedisTopology::Cluster
        } else {
            RedisTopology::Standalone
        },
    );
    options.urls = config.redis_urls().map(str::to_owned).collect();
    options.namespace = config.redis_namespace.clone();
    options.response_timeout = Duration::from_millis(config.redis_timeout_ms);
    let store = Arc::new(RedisLineStore::new(options));
    let room_config = WaitroomConfig {
        sync_interval: Duration::from_millis(config.sync_interval_ms),
        ..WaitroomConfig::default()
    };
    let keys = TokenKeys::new(config.token_secret.expose().as_bytes());
    let room = Waitroom::new(store, keys, Arc::new(SystemClock), room_config).await;
    room.spawn_background(shutdown.clone());
    let backend = config
        .backend_url
        .as_deref()
        .map(|url| BackendClient::new(url, config.admin_key.expose(), config.backend_limits()))
        .transpose()?;
    let state = GatewayState::new(GatewayParts {
        room: room.clone(),
        backend,
        admin_key: AdminKey::new(config.admin_key.expose()),
        metrics,
        client_limits: config.clients.clone(),
    });
    breakwater_gateway::spawn_background(state.clone(), shutdown.clone());
    let router = breakwater_web::with_pages(breakwater_gateway::router(state));
    runtime::serve_http(
        config.listen,
        router,
        config.http.clone(),
        shutdown,
        |address| {
            tracing::info!(%address, gateway = room.gateway_id(), "gateway listening");
            println!("breakwater gateway listening on http://{address}");
        },
    )
    .await
}
