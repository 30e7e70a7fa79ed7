//! `breakwater serve`: everything in one process on the embedded defaults, with a demo
//! event open.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use breakwater_gateway::{
    AdminKey, BackendClient, BackendLimits, ClientLimits, CreateEventRequest, GatewayParts,
    GatewayState, SectionSpec, VenueSpec,
};
use breakwater_line::{Clock, EventId, SystemClock};
use breakwater_line_store::EmbeddedLineStore;
use breakwater_secret::Secret;
use breakwater_tokens::TokenKeys;
use breakwater_waitroom::{Waitroom, WaitroomConfig};
use serde::{Deserialize, Serialize};

use crate::cli::runtime;
use crate::config::{self, ConfigError};

/// Flags of `breakwater serve` (each also read from `BREAKWATER_<NAME>`).
#[derive(Debug, Default, clap::Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// Where the embedded stores keep their files.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    /// Do not create the demo event.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    no_demo: Option<bool>,
}

/// The configuration of `breakwater serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The admin key; generated and printed when unset.
    pub admin_key: Secret,
    /// The token secret; generated once and kept in the data directory when unset.
    pub token_secret: Secret,
    /// Skip the demo event.
    pub no_demo: bool,
    /// The HTTP server's bounds on connections, requests and slow clients.
    pub http: breakwater_serving::Limits,
    /// How often one client may join and call the buyer API.
    pub clients: ClientLimits,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("breakwater-data"),
            admin_key: Secret::default(),
            token_secret: Secret::default(),
            no_demo: false,
            http: breakwater_serving::Limits::default(),
            clients: ClientLimits::default(),
        }
    }
}

impl ServeConfig {
    /// Checks every setting; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("data_dir", "must name a directory"));
        }
        self.http
            .validate()
            .map_err(|limit| ConfigError::invalid(limit.key, limit.reason))?;
        self.clients
            .validate()
            .map_err(|limit| ConfigError::invalid(limit.key, limit.reason))?;
        for (key, secret) in [
            ("admin_key", &self.admin_key),
            ("token_secret", &self.token_secret),
        ] {
            // Unset is fine here: `serve` then makes its own.
            if !secret.expose().is_empty() {
                config::check_secret(key, secret)?;
            }
        }
        Ok(())
    }
}

/// Runs everything until interrupted.
pub async fn run(file: Option<&Path>, args: ServeArgs) -> anyhow::Result<()> {
    let config: ServeConfig = config::load(file, &args)?;
    config.validate()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    let shutdown = runtime::shutdown_on_signal();
    let metrics = runtime::install_metrics();
    let token_secret = match config.token_secret.expose() {
        "" => runtime::persisted_secret(
            &config.data_dir.join("token-secret"),
            TokenKeys::generate_secret,
        )?,
        secret => secret.to_owned(),
    };
    let (admin_key, generated) = match config.admin_key.expose() {
        "" => (TokenKeys::generate_secret(), true),
        key => (key.to_owned(), false),
    };
    let store = EmbeddedLineStore::open(
        config.data_dir.join("line-state.json"),
        SystemClock.now_ms(),
    )?;
    let room = Waitroom::new(
        Arc::new(store),
        TokenKeys::new(token_secret.as_bytes()),
        Arc::new(SystemClock),
        WaitroomConfig::embedded(),
    )
    .await;
    room.spawn_background(shutdown.clone());
    let data_dir = std::fs::canonicalize(&config.data_dir)?;
    let backend = Backend::start(&data_dir, &token_secret, &admin_key).await?;
    let state = GatewayState::new(GatewayParts {
        room,
        backend: Some(backend.client.clone()),
        admin_key: AdminKey::new(admin_key.as_str()),
        metrics,
        client_limits: config.clients.clone(),
    });
    breakwater_gateway::spawn_background(state.clone(), shutdown.clone());
    if !config.no_demo {
        open_demo_event(&state).await?;
    }
    let router = breakwater_web::with_pages(breakwater_gateway::router(state));
    let served = runtime::serve_http(config.listen, router, config.http, shutdown, |address| {
        println!("Breakwater is running on http://{address}");
        println!("  events: http://{address}/  (demo: http://{address}/events/demo)");
        println!("  operator dashboard: http://{address}/admin");
        if generated {
            println!(
                "  admin key (generated; set BREAKWATER_ADMIN_KEY to choose one): {admin_key}"
            );
        }
    })
    .await;
    backend.shutdown().await;
    served
}

/// The ticketing backend's three services, in this process, on loopback ports, each
/// with its SQLite file in the data directory.
struct Backend {
    client: BackendClient,
    inventory: breakwater_inventory::Running,
    payment: breakwater_payment::Running,
    reservation: breakwater_reservation::Running,
}

impl Backend {
    async fn start(data_dir: &Path, token_secret: &str, admin_key: &str) -> anyhow::Result<Self> {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let sqlite = |name: &str| format!("sqlite://{}?mode=rwc", data_dir.join(name).display());
        let inventory = breakwater_inventory::start(breakwater_inventory::Config {
            listen: loopback,
            database_url: sqlite("inventory.db"),
            ..breakwater_inventory::Config::default()
        })
        .await
        .context("starting the inventory service")?;
        let payment = breakwater_payment::start(breakwater_payment::Config {
            listen: loopback,
            database_url: sqlite("payment.db"),
            ..breakwater_payment::Config::default()
        })
        .await
        .context("starting the payment service")?;
        let reservation = breakwater_reservation::start(breakwater_reservation::Config {
            listen: loopback,
            database_url: sqlite("reservation.db"),
            inventory_url: format!("http://{}", inventory.addr),
            payment_url: format!("http://{}", payment.addr),
            token_secret: token_secret.into(),
            admin_key: admin_key.into(),
            ..breakwater_reservation::Config::default()
        })
        .await
        .context("starting the reservation service")?;
        let client = BackendClient::new(
            &format!("http://{}", reservation.addr),
            admin_key,
            BackendLimits::default(),
        )?;
        Ok(Self {
            client,
            inventory,
            payment,
            reservation,
        })
    }

    /// Stops the services, callers first.
    async fn shutdown(self) {
        for (name, stopped) in [
            ("reservation", self.reservation.shutdown().await),
            ("payment", self.payment.shutdown().await),
            ("inventory", self.inventory.shutdown().await),
        ] {
            if let Err(error) = stopped {
                tracing::warn!(%error, service = name, "did not stop cleanly");
            }
        }
    }
}

/// Creates the demo event unless it exists: a venue of 4,000 seats in four price tiers,
/// opening at once, admitting a few buyers a second so a newcomer sees the line move.
async fn open_demo_event(state: &GatewayState) -> anyhow::Result<()> {
    let id = EventId::parse("demo")?;
    if state.room.event(&id).is_ok() {
        return Ok(());
    }
    let section = |name: &str, price_cents, rows, seats_per_row| SectionSpec {
        name: name.into(),
        price_cents,
        rows: Some(rows),
        seats_per_row: Some(seats_per_row),
        capacity: None,
    };
    let request = CreateEventRequest {
        id: id.to_string(),
        name: "Breakwater Demo Night".into(),
        admission_rate_per_second: Some(2.0),
        max_active_users: Some(50),
        currency: Some("USD".into()),
        venue: Some(VenueSpec {
            sections: vec![
                section("Floor", 15_000, 10, 40),
                section("Lower bowl", 9_000, 20, 50),
                section("Upper bowl", 5_000, 30, 60),
                SectionSpec {
                    name: "Standing".into(),
                    price_cents: 4_000,
                    rows: None,
                    seats_per_row: None,
                    capacity: Some(800),
                },
            ],
        }),
        ..CreateEventRequest::default()
    };
    breakwater_gateway::create_event(state, &request)
        .await
        .map_err(|error| anyhow::anyhow!("creating the demo event: {error}"))?;
    Ok(())
}
