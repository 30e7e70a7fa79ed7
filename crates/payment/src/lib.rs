//! Payment service: payment intents with idempotency keys and a sandbox provider.
//!
//! A gRPC server (`breakwater.payment.v1.Payment`) over SQLite or PostgreSQL. Providers sit
//! behind [`PaymentProvider`]; the built-in one is the [`Sandbox`].

mod clock;
mod config;
pub mod db;
mod payments;
pub mod provider;
pub mod sandbox;
mod service;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use breakwater_proto::payment::payment_server::PaymentServer;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;

pub use config::{Config, ConfigError};
pub use payments::{PaymentError, Payments};
pub use provider::{Charge, PaymentProvider, ProviderError, ProviderOutcome, Refund};
pub use sandbox::{Sandbox, SandboxSettings};
pub use service::PaymentService;
pub use store::{Intent, IntentState, PaymentStore, PaymentStoreError};

/// A started payment service.
#[derive(Debug)]
pub struct Running {
    /// The address the gRPC server listens on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    store: PaymentStore,
}

/// Connects to the database, migrates it, binds `config.listen` and serves in the
/// background; returns once the server is listening.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    config.validate()?;
    let store = PaymentStore::open(&config.database_url, config.max_connections)
        .await
        .context("opening the payment database")?;
    let sandbox = Sandbox::new(config.sandbox(), store.database().clone());
    let payments = Payments::new(
        store.clone(),
        Arc::new(sandbox),
        Duration::from_millis(config.provider_timeout_ms),
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(PaymentServer::new(PaymentService::new(payments)))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    tracing::info!(%addr, "payment listening");
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
            .context("payment server task")?
            .context("payment server")?;
        Ok(())
    }
}
