//! What the server counts, through the `metrics` facade, for `/metrics` (`http::metrics`).
//!
//! The recorder is global to the process: installed once ([`install`]) when a metrics address
//! is configured, shared by every server the process runs. Until then every recording here is
//! a no-op. Client-chosen names become labels only within bounds ([`operation_label`]), so no
//! client can make the set of series grow without end.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_graphql::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const REQUESTS: &str = "feihong_graphql_requests_total";
pub const DURATION: &str = "feihong_graphql_request_duration_seconds";
pub const ERRORS: &str = "feihong_graphql_errors_total";
pub const SUBSCRIPTIONS_OPEN: &str = "feihong_subscriptions_open";
pub const POOL_CONNECTIONS: &str = "feihong_db_pool_connections";
pub const POOL_MAX: &str = "feihong_db_pool_max_connections";
pub const REDIS_UP: &str = "feihong_redis_up";
pub const OUTBOX_AGE: &str = "feihong_outbox_oldest_age_seconds";
pub const STATISTICS_MARKS: &str = "feihong_statistics_pending_marks";

/// Operation names longer than this are counted as [`OTHER`].
pub const MAX_OPERATION_NAME: usize = 64;
/// Distinct operation names given their own series; later newcomers are counted as [`OTHER`].
pub const MAX_OPERATIONS: usize = 200;
pub const OTHER: &str = "other";
pub const ANONYMOUS: &str = "anonymous";

/// Sign-up batch sizes (`signups::batch` serves at most 100).
const BATCH_BUCKETS: [f64; 8] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 75.0, 100.0];

/// Latency buckets, in seconds: a quick read is a few milliseconds; 30 s is the request timeout.
const DURATION_BUCKETS: [f64; 13] = [
    0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. Should another recorder already be installed
/// (not ours to replace), what is recorded here goes there and this handle renders nothing.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), &DURATION_BUCKETS)
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Full(feihong_domain::signups::SIGN_UP_BATCH.to_owned()),
                        &BATCH_BUCKETS,
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(REQUESTS, "GraphQL requests over HTTP, per operation name");
    metrics::describe_histogram!(
        DURATION,
        metrics::Unit::Seconds,
        "Time to answer a GraphQL request over HTTP, per operation name"
    );
    metrics::describe_counter!(ERRORS, "GraphQL errors answered, per extensions.code");
    metrics::describe_gauge!(
        SUBSCRIPTIONS_OPEN,
        "GraphQL subscriptions open on WebSockets"
    );
    metrics::describe_gauge!(POOL_CONNECTIONS, "Database pool connections, by state");
    metrics::describe_gauge!(POOL_MAX, "Largest size of the database pool");
    metrics::describe_gauge!(REDIS_UP, "1 when Redis answers a PING, else 0");
    metrics::describe_gauge!(
        OUTBOX_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest row an outbox still holds (0 when empty)"
    );
    metrics::describe_gauge!(
        STATISTICS_MARKS,
        "Statistics rollups waiting to be recomputed"
    );
    metrics::describe_counter!(
        feihong_domain::throttle::LOGIN_REFUSALS,
        "Sign-in attempts refused by the login throttle"
    );
    metrics::describe_histogram!(
        feihong_domain::signups::SIGN_UP_BATCH,
        "Sign-ups served by one transaction (group commit for a hot event)"
    );
    // Shown from the start, at zero, rather than missing until the first event.
    metrics::counter!(feihong_domain::throttle::LOGIN_REFUSALS).increment(0);
    metrics::gauge!(SUBSCRIPTIONS_OPEN).increment(0.0);
}

/// Whether the recorder is installed (no metrics address: nothing is worth computing).
fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// A GraphQL name: `[_A-Za-z][_0-9A-Za-z]*`.
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_ascii_alphabetic())
        && chars.all(|rest| rest == '_' || rest.is_ascii_alphanumeric())
}

/// The `operation` label for a request's operation name, from a bounded set: `anonymous`
/// without a name; `other` for what is not a GraphQL name, is longer than
/// [`MAX_OPERATION_NAME`], or comes after [`MAX_OPERATIONS`] names have been seen.
pub fn operation_label(name: Option<&str>, seen: &Mutex<HashSet<String>>) -> String {
    let Some(name) = name.filter(|name| !name.is_empty()) else {
        return ANONYMOUS.to_owned();
    };
    if name.len() > MAX_OPERATION_NAME || !is_name(name) {
        return OTHER.to_owned();
    }
    let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    if seen.contains(name) || seen.len() < MAX_OPERATIONS && seen.insert(name.to_owned()) {
        name.to_owned()
    } else {
        OTHER.to_owned()
    }
}

static OPERATIONS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// Counts one answered GraphQL request: its operation, how long it took, and its errors.
pub fn record_request(operation: Option<&str>, elapsed: Duration, response: &Response) {
    if !enabled() {
        return;
    }
    let label = operation_label(operation, OPERATIONS.get_or_init(Mutex::default));
    metrics::counter!(REQUESTS, "operation" => label.clone()).increment(1);
    metrics::histogram!(DURATION, "operation" => label).record(elapsed.as_secs_f64());
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Some(code.as_str()),
                _ => None,
            });
        record_error(code.unwrap_or(crate::error::code::INTERNAL));
    }
}

/// Counts one error answered with `code` (one of ours: a fixed set).
pub fn record_error(code: &str) {
    if enabled() {
        metrics::counter!(ERRORS, "code" => code.to_owned()).increment(1);
    }
}

pub fn subscription_opened() {
    metrics::gauge!(SUBSCRIPTIONS_OPEN).increment(1.0);
}

pub fn subscription_closed() {
    metrics::gauge!(SUBSCRIPTIONS_OPEN).decrement(1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_stay_within_bounds() {
        let seen = Mutex::default();
        assert_eq!(operation_label(None, &seen), ANONYMOUS);
        assert_eq!(operation_label(Some(""), &seen), ANONYMOUS);
        assert_eq!(operation_label(Some("MyTeams"), &seen), "MyTeams");
        assert_eq!(operation_label(Some(&"A".repeat(65)), &seen), OTHER);
        assert_eq!(
            operation_label(Some(&"A".repeat(64)), &seen),
            "A".repeat(64)
        );
        assert_eq!(operation_label(Some("not a name"), &seen), OTHER);
        assert_eq!(operation_label(Some("1st"), &seen), OTHER);
        for n in 0..MAX_OPERATIONS * 2 {
            operation_label(Some(&format!("Op{n}")), &seen);
        }
        assert_eq!(seen.lock().unwrap().len(), MAX_OPERATIONS);
        assert_eq!(operation_label(Some("Newcomer"), &seen), OTHER);
        // Names seen before the set filled keep their own series.
        assert_eq!(operation_label(Some("MyTeams"), &seen), "MyTeams");
    }
}
