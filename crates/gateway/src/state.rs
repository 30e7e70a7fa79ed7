//! What every request handler shares.

use std::sync::Arc;

use breakwater_waitroom::Waitroom;
use metrics_exporter_prometheus::PrometheusHandle;
use subtle::ConstantTimeEq;

use crate::BackendClient;
use crate::clients::{ClientGuard, ClientLimits};

/// The operator's secret for the admin API.
#[derive(Clone)]
pub struct AdminKey(Arc<str>);

impl AdminKey {
    /// Wraps the configured key.
    pub fn new(key: impl Into<Arc<str>>) -> Self {
        Self(key.into())
    }

    /// Whether `candidate` is the key, compared in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey(<secret>)")
    }
}

/// The gateway's parts.
pub struct GatewayParts {
    /// The waiting room.
    pub room: Waitroom,
    /// The ticketing backend, when this deployment has one.
    pub backend: Option<BackendClient>,
    /// The admin API's key.
    pub admin_key: AdminKey,
    /// Renders `/metrics`, when a Prometheus recorder is installed.
    pub metrics: Option<PrometheusHandle>,
    /// How often one client may call the buyer API.
    pub client_limits: ClientLimits,
}

/// The gateway's shared state. Handlers get a clone per request, so it is one `Arc`:
/// cloning it must cost no more than a reference count.
#[derive(Clone)]
pub struct GatewayState(Arc<Shared>);

struct Shared {
    parts: GatewayParts,
    clients: ClientGuard,
}

impl GatewayState {
    /// The state of a gateway made of `parts`.
    pub fn new(parts: GatewayParts) -> Self {
        let clients = ClientGuard::new(&parts.client_limits);
        Self(Arc::new(Shared { parts, clients }))
    }

    /// The per-client limiters.
    pub(crate) fn clients(&self) -> &ClientGuard {
        &self.0.clients
    }
}

impl std::ops::Deref for GatewayState {
    type Target = GatewayParts;

    fn deref(&self) -> &GatewayParts {
        &self.0.parts
    }
}
