//! `GET /metrics`, in the Prometheus text format, on its own address (`FEIHONG_METRICS_BIND`),
//! never on the public router: what it tells (operation names, error rates, backlogs) is for the
//! operators. The gauges that describe the moment (the database pool, Redis, the workers'
//! backlogs) are measured when scraped; counters and histograms are kept as requests come.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use feihong_domain::Services;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::{OUTBOX_AGE, POOL_CONNECTIONS, POOL_MAX, REDIS_UP, STATISTICS_MARKS, install};

/// How long a scrape waits for the database or Redis before it answers without their gauges.
const MEASURE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often recorded latencies are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    services: Arc<Services>,
}

pub fn router(services: Arc<Services>) -> Router {
    let state = Scrape {
        handle: install(),
        services,
    };
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// One scrape at a time: the gauges are the process's, so a scrape measures and renders before
/// another (of another server in the same process, as in the tests) measures anew.
static SCRAPING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn metrics(State(scrape): State<Scrape>) -> impl IntoResponse {
    let text = {
        let _one_at_a_time = SCRAPING.lock().await;
        measure(&scrape.services).await;
        scrape.handle.render()
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// Sets the gauges that describe this moment.
async fn measure(services: &Services) {
    if let Some(pool) = feihong_domain::db::pool_usage(&services.db) {
        metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(pool.in_use());
        metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(pool.idle);
        metrics::gauge!(POOL_MAX).set(pool.max);
    }
    if let Some(redis) = &services.redis {
        let up = tokio::time::timeout(MEASURE_TIMEOUT, redis.ping())
            .await
            .is_ok_and(|answer| answer.is_ok());
        metrics::gauge!(REDIS_UP).set(if up { 1.0 } else { 0.0 });
    }
    let backlog = tokio::time::timeout(
        MEASURE_TIMEOUT,
        feihong_domain::backlog::measure(&services.db),
    )
    .await;
    match backlog {
        Ok(Ok(backlog)) => {
            for (outbox, seconds) in [
                ("push", backlog.push_seconds),
                ("sms", backlog.sms_seconds),
                ("leaderboard", backlog.leaderboard_seconds),
            ] {
                metrics::gauge!(OUTBOX_AGE, "outbox" => outbox).set(seconds);
            }
            metrics::gauge!(STATISTICS_MARKS).set(backlog.statistics_marks as f64);
        }
        Ok(Err(error)) => tracing::warn!(%error, "measuring the backlog for /metrics failed"),
        Err(_) => tracing::warn!("measuring the backlog for /metrics timed out"),
    }
}

/// Binds the metrics address when one is configured; `None` (no listener at all) otherwise.
pub async fn bind(
    address: Option<std::net::SocketAddr>,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(address) = address else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("FEIHONG_METRICS_BIND: cannot listen on {address}"))?;
    Ok(Some(listener))
}

/// Serves `/metrics` on `listener` until `closing` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    services: Arc<Services>,
    closing: CancellationToken,
) {
    let app = router(services);
    let handle = install();
    let upkeep = tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP_INTERVAL).await;
            handle.run_upkeep();
        }
    });
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(closing.cancelled_owned())
        .await
    {
        tracing::error!(%error, "serving /metrics failed");
    }
    upkeep.abort();
}
