//! What every HTTP handler is given: the configuration, the services and the schemas. Its own
//! module, so the handlers (`http::*`) depend on it and `app` (which wires them) depends on
//! both, without a cycle.

use std::sync::Arc;

use feihong_domain::Services;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::graphql::FeihongSchema;
use crate::http::connections::ConnectionSlots;

/// Cloned for every request (axum's `State`), so one `Arc` to share: cloning the parts one by
/// one (two schemas, the services, a cancellation token, whose clone takes a lock) showed in
/// the profile of a busy node.
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

pub struct AppStateParts {
    pub config: Arc<Config>,
    pub services: Arc<Services>,
    pub schema: FeihongSchema,
    /// The same schema for `/graphql/ws`, where only subscriptions run.
    pub subscription_schema: FeihongSchema,
    /// WebSocket connections open per client address.
    pub ws_connections: Arc<ConnectionSlots>,
    /// Cancelled when the server shuts down, closing WebSocket connections (graceful shutdown
    /// would otherwise wait on them for ever).
    pub closing: CancellationToken,
}
