//! Per-request context: who is asking (resolved lazily, once), from where, and the loaders.

use std::sync::Arc;

use async_graphql::Context;
use feihong_domain::Services;
use feihong_domain::actor::{Actor, Viewer};
use feihong_domain::policy;
use tokio::sync::OnceCell;

use super::error::{GqlError, GqlResult};
use super::loaders::Loaders;

pub struct RequestContext {
    services: Arc<Services>,
    bearer: Option<String>,
    pub client_address: String,
    viewer: OnceCell<Result<Viewer, GqlError>>,
    pub loaders: Loaders,
}

impl RequestContext {
    pub fn new(services: Arc<Services>, bearer: Option<String>, client_address: String) -> Self {
        Self {
            loaders: Loaders::new(services.clone()),
            services,
            bearer,
            client_address,
            viewer: OnceCell::new(),
        }
    }

    /// The caller. A request without a token is anonymous; a bad or expired token fails every
    /// field that asks who is calling with `UNAUTHENTICATED`, while public fields still answer.
    pub async fn viewer(&self) -> GqlResult<&Viewer> {
        self.viewer
            .get_or_init(|| async {
                self.services
                    .accounts
                    .authenticate(self.bearer.as_deref())
                    .await
                    .map_err(GqlError::from)
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// When the caller's access token expires (None when anonymous or invalid).
    pub fn token_expiry(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let token = self.bearer.as_deref()?;
        self.services.accounts.access_token_expiry(token).ok()
    }

    /// The signed-in caller, or `UNAUTHENTICATED`.
    pub async fn actor(&self) -> GqlResult<&Actor> {
        Ok(policy::check_signed_in(self.viewer().await?)?)
    }
}

pub trait ContextExt {
    fn request(&self) -> &RequestContext;
    fn services(&self) -> &Arc<Services>;
}

impl ContextExt for Context<'_> {
    fn request(&self) -> &RequestContext {
        // The HTTP handler attaches a RequestContext to every request it executes.
        self.data_unchecked::<RequestContext>()
    }

    fn services(&self) -> &Arc<Services> {
        &self.request().services
    }
}
