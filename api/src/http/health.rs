//! `/healthz`: the process is alive. `/readyz`: it can serve (database answers, and Redis when
//! configured); 503 otherwise, with the details in the body.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use feihong_domain::leaderboards::Source;
use serde_json::{Value, json};

use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = feihong_domain::db::ping(&state.services.db).await;
    let redis = match &state.services.redis {
        None => "not configured",
        Some(redis) if redis.ping().await.is_ok() => "ok",
        Some(_) => "unavailable",
    };
    let ready = database && redis != "unavailable";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // Leaderboards answered from the database while the rank store is away or rebuilding:
    // slower but correct, so it is reported without making the node unready on its own.
    let leaderboards = match state.services.leaderboards.source() {
        Source::Store => "store",
        Source::Database => "database",
    };
    let body = json!({
        "ready": ready,
        "database": if database { "ok" } else { "unavailable" },
        "redis": redis,
        "leaderboards": leaderboards,
    });
    (status, Json(body))
}
