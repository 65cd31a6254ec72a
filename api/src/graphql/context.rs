//! Per-request context: who is asking (resolved lazily, once), from where, and the loaders. Over
//! WebSocket one context serves the whole connection, and counts its open subscriptions.

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use chrono::{DateTime, Utc};
use feihong_domain::Services;
use feihong_domain::actor::{Actor, Viewer};
use feihong_domain::budget::Spender;
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
    /// Subscriptions open on this connection (WebSocket only).
    subscriptions: Arc<AtomicUsize>,
    outcome: Arc<Outcome>,
}

/// What became of a request, for the HTTP handler to answer with.
#[derive(Default)]
pub struct Outcome {
    /// Set once the document passed every check and execution began.
    executed: AtomicBool,
    /// The name of the document's one named operation, for a request that named none.
    operation: OnceLock<String>,
}

impl Outcome {
    /// Whether the document was accepted and run (false: it failed to parse, validate, or was
    /// refused by a limit or budget before anything ran).
    pub fn executed(&self) -> bool {
        self.executed.load(Ordering::Acquire)
    }

    /// The operation's name as the parsed document gives it (`None`: anonymous, not parsed, or
    /// several operations).
    pub fn operation(&self) -> Option<&str> {
        self.operation.get().map(String::as_str)
    }

    pub fn note_operation(&self, name: &str) {
        let _ = self.operation.set(name.to_owned());
    }
}

/// A subscription's place on its connection, given back when the subscription ends.
pub struct SubscriptionSlot(Arc<AtomicUsize>);

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        crate::metrics::subscription_closed();
    }
}

impl RequestContext {
    pub fn new(services: Arc<Services>, bearer: Option<String>, client_address: String) -> Self {
        Self {
            loaders: Loaders::new(services.clone()),
            services,
            bearer,
            client_address,
            viewer: OnceCell::new(),
            subscriptions: Arc::default(),
            outcome: Arc::default(),
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

    /// The bearer token the request came with, if any.
    pub fn bearer_token(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    /// When the caller's access token stops being accepted: None when anonymous, now when the
    /// token is invalid or already expired.
    pub fn token_expiry(&self) -> Option<DateTime<Utc>> {
        let token = self.bearer.as_deref()?;
        Some(
            self.services
                .accounts
                .verify_access_token(token)
                .map_or_else(|_| Utc::now(), |(_, expires)| expires),
        )
    }

    /// `UNAUTHENTICATED` when the connection signed in with a token that is no longer accepted
    /// (a WebSocket outlives its token; nothing new starts on a stale one).
    pub fn check_token_still_valid(&self) -> GqlResult<()> {
        match self.token_expiry() {
            Some(expiry) if expiry <= Utc::now() => {
                Err(feihong_domain::Error::Unauthenticated.into())
            }
            _ => Ok(()),
        }
    }

    /// Whose budget this request spends: the token's volunteer, or the client address when
    /// anonymous or when the token does not verify. Decided from the token alone.
    pub fn spender(&self) -> Spender {
        self.bearer
            .as_deref()
            .and_then(|token| self.services.accounts.verify_access_token(token).ok())
            .map_or_else(
                || Spender::Address(self.client_address.clone()),
                |(volunteer, _)| Spender::Volunteer(volunteer),
            )
    }

    /// Takes one of the connection's `max` subscription places; None when all are taken.
    pub fn open_subscription(&self, max: usize) -> Option<SubscriptionSlot> {
        self.subscriptions
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .ok()
            .map(|_| {
                crate::metrics::subscription_opened();
                SubscriptionSlot(self.subscriptions.clone())
            })
    }

    pub fn mark_executed(&self) {
        self.outcome.executed.store(true, Ordering::Release);
    }

    /// A handle on what becomes of the request, kept by the handler while the request runs.
    pub fn outcome(&self) -> Arc<Outcome> {
        self.outcome.clone()
    }

    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// One related object through its DataLoader (batched with its siblings), wrapped in its
    /// GraphQL type: `request.load(|l| &l.teams, team_id, Team)`.
    pub async fn load<K, L, W>(
        &self,
        loader: fn(&Loaders) -> &DataLoader<L>,
        key: K,
        wrap: impl FnOnce(L::Value) -> W,
    ) -> GqlResult<Option<W>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K, Error = GqlError>,
    {
        Ok(self.find(loader, key).await?.map(wrap))
    }

    /// One value through its DataLoader, as the loader gives it.
    pub async fn find<K, L>(
        &self,
        loader: fn(&Loaders) -> &DataLoader<L>,
        key: K,
    ) -> GqlResult<Option<L::Value>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K, Error = GqlError>,
    {
        loader(&self.loaders).load_one(key).await
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

/// Runs a mutation a phone may retry (`idempotencyKey`): once per caller and key, the same key
/// with the same input answering the first result, with other input refused
/// (`feihong_domain::idempotency`). Signed-in callers only.
pub async fn idempotent<'a, T, F, Fut>(
    ctx: &'a Context<'_>,
    key: Option<&str>,
    operation: &str,
    input: &impl serde::Serialize,
    run: F,
) -> GqlResult<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    F: FnOnce(&'a Services, &'a Actor) -> Fut,
    Fut: Future<Output = feihong_domain::Result<T>>,
{
    let actor = ctx.request().actor().await?;
    let services: &'a Services = ctx.services();
    Ok(feihong_domain::idempotency::run(
        &services.db,
        actor.volunteer,
        key,
        operation,
        input,
        || run(services, actor),
    )
    .await?)
}
