//! Reservation service: holds, orders and the checkout saga.
//!
//! The buyer-facing HTTP/JSON API of the ticketing contract (reached through the gateway,
//! access tokens checked here too), the internal admin API, and the reconciler. It calls
//! the inventory and payment services over gRPC and keeps its own state in SQLite or
//! PostgreSQL.

mod api;
mod auth;
pub mod clients;
mod config;
pub mod db;
mod error;
mod events_cache;
pub mod reconciler;
pub mod saga;
pub mod seat_map_cache;
pub mod sessions;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use breakwater_tokens::TokenKeys;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use api::views::rfc3339;
pub use clients::Backends;
pub use config::{Config, ConfigError};
pub use error::ApiError;
pub use saga::Saga;
pub use store::ReservationStore;

/// A started reservation service.
#[derive(Debug)]
pub struct Running {
    /// The address the HTTP server listens on.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    reconciler: JoinHandle<()>,
    store: ReservationStore,
}

/// Connects to the database, migrates it, binds `config.listen`, and serves the HTTP API
/// and runs the reconciler in the background; returns once listening.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    config.validate()?;
    let store = ReservationStore::open(&config.database_url, config.max_connections)
        .await
        .context("opening the reservation database")?;
    let backends = Backends::new(
        &config.inventory_url,
        &config.payment_url,
        Duration::from_millis(config.rpc_timeout_ms),
        Duration::from_millis(config.payment_timeout_ms),
    )?;
    let saga = Saga::new(store.clone(), backends.clone());
    let state = api::AppState {
        store: store.clone(),
        backends: backends.clone(),
        saga,
        keys: TokenKeys::new(config.token_secret.expose().as_bytes()),
        admin_key: Arc::from(config.admin_key.expose()),
        events: events_cache::EventsCache::default(),
        seat_maps: seat_map_cache::SeatMapCache::default(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let mut server_stopped = stopped.clone();
    let limits = config.http.clone();
    let server = tokio::spawn(async move {
        breakwater_serving::serve(listener, api::router(state), limits, async move {
            let _ = server_stopped.wait_for(|stop| *stop).await;
        })
        .await
    });
    let settings = reconciler::ReconcilerSettings {
        interval: Duration::from_millis(config.reconcile_interval_ms),
        order_grace: Duration::from_millis(config.payment_timeout_ms + 500),
        pending_hold_timeout: Duration::from_millis(config.pending_hold_timeout_ms),
    };
    let reconciler = tokio::spawn(reconciler::run(store.clone(), backends, settings, stopped));
    tracing::info!(%addr, "reservation listening");
    Ok(Running {
        addr,
        stop,
        server,
        reconciler,
        store,
    })
}

impl Running {
    /// The HTTP base URL (`http://ADDR`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, stops the reconciler and closes the
    /// database.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.wait().await
    }

    /// Waits until the server stops (after `shutdown` or a fatal error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.server.await;
        let _ = self.stop.send(true);
        let _ = self.reconciler.await;
        self.store.close().await;
        served
            .context("reservation server task")?
            .context("reservation server")?;
        Ok(())
    }
}
