//! Inventory service: seat maps and stock, atomic holds that never oversell.
//!
//! A gRPC server (`breakwater.inventory.v1.Inventory`) over SQLite or PostgreSQL. The
//! reservation service is its only client.

mod config;
pub mod db;
mod error;
mod service;
mod sql;
pub mod store;

use std::net::SocketAddr;

use anyhow::Context;
use breakwater_proto::inventory::inventory_server::InventoryServer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

pub use config::{Config, ConfigError};
pub use error::StoreError;
pub use service::{InventoryService, now_ms};
pub use store::InventoryStore;

/// A started inventory service.
#[derive(Debug)]
pub struct Running {
    /// The address the gRPC server listens on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    store: InventoryStore,
}

/// Connects to the database, migrates it, binds `config.listen` and serves in the
/// background; returns once the server is listening.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    config.validate()?;
    let store = InventoryStore::open(&config.database_url, config.max_connections)
        .await
        .context("opening the inventory database")?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop, stopped) = oneshot::channel::<()>();
    let service = InventoryServer::new(InventoryService::new(store.clone()));
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    tracing::info!(%addr, "inventory listening");
    Ok(Running {
        addr,
        stop: Some(stop),
        server,
        store,
    })
}

impl Running {
    /// The gRPC URL clients use (`http://ADDR`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight calls and closes the database.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops (after `shutdown` or a fatal error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.server.await;
        self.store.close().await;
        result
            .context("inventory server task")?
            .context("inventory server")?;
        Ok(())
    }
}
