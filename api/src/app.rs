//! Wiring: configuration → database (migrated) → services → schema → router → server.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use feihong_domain::redis_store::RedisStore;
use feihong_domain::{ServiceSettings, Services};
use feihong_migration::{Migrator, MigratorTrait as _};
use futures::FutureExt as _;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret as _;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::graphql::limits::SubscriptionsOnly;
use crate::graphql::persisted::PersistedDocuments;
use crate::graphql::schema_builder;
use crate::http;
use crate::http::connections::ConnectionSlots;
use crate::state::{AppState, AppStateParts};

pub async fn connect_database(config: &Config) -> anyhow::Result<DatabaseConnection> {
    feihong_domain::db::connect(
        config.database_url.expose_secret(),
        config.db_max_connections,
    )
    .await
    .map_err(|error| match error {
        feihong_domain::Error::Internal(cause) => anyhow::anyhow!("DATABASE_URL: {cause}"),
        other => anyhow::anyhow!("DATABASE_URL: {other}"),
    })
}

pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("applying migrations")
}

/// Connects, migrates and wires every service.
pub async fn build_services(config: &Config) -> anyhow::Result<Arc<Services>> {
    let db = connect_database(config).await?;
    migrate(&db).await?;
    let redis = config
        .redis_url
        .as_deref()
        .map(|url| RedisStore::new(url, &config.redis_prefix).map(Arc::new))
        .transpose()
        .map_err(|error| anyhow::anyhow!("REDIS_URL: {error}"))?;
    let settings = ServiceSettings {
        token_secret: config.token_secret.expose_secret().as_bytes().to_vec(),
        data_key: config.data_key_bytes()?,
        access_token_ttl: config.access_token_ttl,
        refresh_token_ttl: config.refresh_token_ttl,
        login_limits: config.login_limits,
        registrations_per_address: config.registrations_per_address,
        hashing_concurrency: config.hashing_concurrency,
        timezone: config.timezone,
        cost_budgets: config.cost_budgets,
        reminders_before: config.reminders_before.clone(),
        sms_limits: config.sms.limits,
        sms_sender: crate::sms::sender(&config.sms).context("FEIHONG_SMS_PROVIDER")?,
        privacy: config.privacy.clone(),
        response: config.response.clone(),
    };
    let services = Services::new(db, redis, settings)
        .await
        .map_err(|error| anyhow::anyhow!("starting services: {error}"))?;
    Ok(Arc::new(services))
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static(http::request_id::HEADER);
    Router::new()
        .route(
            "/graphql",
            get(http::graphql::graphiql).post(http::graphql::graphql_post),
        )
        .route("/graphql/ws", get(http::subscriptions::graphql_ws))
        .route("/certificates/{code}", get(http::certificates::certificate_page))
        .route(
            "/integrations/incidents",
            axum::routing::post(http::integrations::raise_incident),
        )
        .route(
            "/admin/exports/participation.csv",
            get(http::exports::participation_csv),
        )
        .route(
            "/teams/{id}/exports/roster.csv",
            get(http::team_exports::roster_csv),
        )
        .route(
            "/events/{id}/exports/attendance.csv",
            get(http::team_exports::attendance_csv),
        )
        .route("/me/export.json", get(http::my_data::export_json))
        .route("/admin", get(http::admin::index))
        .route("/admin/dashboard.js", get(http::admin::script))
        .route("/admin/dashboard.css", get(http::admin::stylesheet))
        .route("/healthz", get(http::health::healthz))
        .route("/readyz", get(http::health::readyz))
        .layer(DefaultBodyLimit::max(http::MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(http::MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::from_fn(http::panics::catch_panics))
        .layer(axum::middleware::from_fn(http::request_id::scope))
        .layer(axum::middleware::from_fn(crate::locale::scope))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = http::request_id::from_headers(request.headers());
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        // Outermost, so SetRequestIdLayer (which keeps an incoming id) never sees a bad one.
        .layer(axum::middleware::map_request(http::request_id::drop_unusable))
        .with_state(state)
}

/// Everything a server needs, ready to serve.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let services = build_services(&config).await?;
    let persisted = PersistedDocuments::new(&config.persisted, services.redis.clone());
    let schema = schema_builder(config.introspection, Some(persisted.clone())).finish();
    let subscription_schema = schema_builder(config.introspection, Some(persisted))
        .extension(SubscriptionsOnly)
        .finish();
    let ws_connections = Arc::new(ConnectionSlots::new(config.ws_connections_per_address));
    Ok(AppState::new(AppStateParts {
        config: Arc::new(config),
        services,
        schema,
        subscription_schema,
        ws_connections,
        closing: CancellationToken::new(),
    }))
}

/// Where a server listens: the API, and `/metrics` when `FEIHONG_METRICS_BIND` is set (never
/// on the API's address; without the setting, no second listener at all).
pub struct Listeners {
    pub api: tokio::net::TcpListener,
    pub metrics: Option<tokio::net::TcpListener>,
}

/// Builds the state and serves on `listeners` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_state(build_state(config).await?, listeners, shutdown).await
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve_state(
    state: AppState,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = listeners.metrics.map(|listener| {
        // Before the first request, so it is counted.
        crate::metrics::install();
        let (services, closing) = (state.services.clone(), state.closing.clone());
        tokio::spawn(http::metrics::serve(listener, services, closing))
    });
    let services = state.services.clone();
    let leaderboards = tokio::spawn(supervise("leaderboards", move || {
        services.leaderboards.clone().run(Duration::from_secs(1))
    }));
    let services = state.services.clone();
    let statistics = tokio::spawn(supervise("statistics", move || {
        refresh_statistics(services.clone())
    }));
    let (services, every) = (state.services.clone(), state.config.maintenance_interval);
    let maintenance = tokio::spawn(supervise("maintenance", move || {
        maintenance(services.clone(), every)
    }));
    let pusher = Arc::new(feihong_domain::push::Pusher::new(
        state.services.db.clone(),
        crate::push::sender(&state.config.push)?,
    ));
    let push = tokio::spawn(supervise("push", move || pusher.clone().run(PUSH_INTERVAL)));
    let outbox = state.services.sms_outbox.clone();
    let sms = tokio::spawn(supervise("sms", move || {
        outbox.clone().run(Duration::from_secs(1))
    }));
    let services = state.services.clone();
    let bus = tokio::spawn(supervise("bus", move || services.bus.clone().run()));
    let services = state.services.clone();
    let rings = tokio::spawn(supervise("incident rings", move || {
        widen_incidents(services.clone())
    }));
    let closing = state.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.cancel();
    };
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listeners.api, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP");
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served?;
    maintenance.abort();
    push.abort();
    sms.abort();
    bus.abort();
    rings.abort();
    leaderboards.abort();
    statistics.abort();
    Ok(())
}

/// Runs a background worker for as long as the server runs: should it panic, that is logged and
/// it starts again after a pause, never silently gone. (A worker returns only when it has
/// nothing to do, such as the bus relay without Redis.) Aborting the supervisor stops the worker
/// with it: they run on one task.
async fn supervise<F, Fut>(name: &'static str, start: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        match AssertUnwindSafe(start()).catch_unwind().await {
            Ok(()) => return,
            Err(payload) => tracing::error!(
                worker = name,
                panic = %feihong_domain::workers::panic_message(&*payload),
                "background worker panicked; restarting it"
            ),
        }
        tokio::time::sleep(WORKER_RESTART_PAUSE).await;
    }
}

/// How often the push worker looks at its outbox when it is empty.
const PUSH_INTERVAL: Duration = Duration::from_millis(500);

/// How long a worker that stopped waits before it starts again.
const WORKER_RESTART_PAUSE: Duration = Duration::from_secs(1);

/// Keeps the statistics rollups within about a second of the writes.
async fn refresh_statistics(services: Arc<Services>) {
    loop {
        match services.stats.refresh().await {
            Ok(done) if done > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "refreshing statistics failed"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Opens the next ring of incidents whose ring wait passed, about every second.
async fn widen_incidents(services: Arc<Services>) {
    loop {
        if let Err(error) = services.incidents.widen_due().await {
            tracing::warn!(%error, "widening incidents failed");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Periodic upkeep: closes check-ins left open on events long over, marks no-shows, completes
/// ended events, forgets expired idempotency keys, prunes tallies of periods nobody reads and
/// drops positions past their retention (`docs/privacy.md`, responders' after 24 h). Every node runs it; each step is a
/// conditional update, so they never clash.
async fn maintenance(services: Arc<Services>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match services.attendance.close_stale().await {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "closed check-ins left open"),
            Err(error) => tracing::warn!(%error, "closing stale check-ins failed"),
        }
        if let Err(error) = services.attendance.mark_no_shows().await {
            tracing::warn!(%error, "marking no-shows failed");
        }
        match services.events.complete_ended().await {
            Ok(0) => {}
            Ok(completed) => tracing::debug!(completed, "events completed"),
            Err(error) => tracing::warn!(%error, "completing ended events failed"),
        }
        match services.reminders.create_due().await {
            Ok(0) => {}
            Ok(created) => tracing::debug!(created, "reminders created"),
            Err(error) => tracing::warn!(%error, "creating reminders failed"),
        }
        if let Err(error) = feihong_domain::idempotency::purge_expired(&services.db).await {
            tracing::warn!(%error, "purging idempotency keys failed");
        }
        match services.tallies.prune_past_periods().await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "tallies of past periods pruned"),
            Err(error) => tracing::warn!(%error, "pruning tallies of past periods failed"),
        }
        match services.privacy.drop_old_positions().await {
            Ok(0) => {}
            Ok(dropped) => tracing::info!(dropped, "positions past their retention dropped"),
            Err(error) => tracing::warn!(%error, "dropping old positions failed"),
        }
        if let Err(error) = services.incidents.drop_old_positions().await {
            tracing::warn!(%error, "dropping responders' old positions failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_worker_that_panics_is_started_again() {
        let starts = Arc::new(AtomicU32::new(0));
        let counted = starts.clone();
        let worker = move || {
            let starts = counted.clone();
            async move {
                if starts.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("a poisoned row");
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), supervise("test", worker))
            .await
            .expect("the restarted worker finished");
        assert_eq!(starts.load(Ordering::SeqCst), 2);
    }
}
