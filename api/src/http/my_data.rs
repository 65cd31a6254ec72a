//! `GET /me/export.json`: the caller's own data (`docs/privacy.md`), the same document as
//! `exportMyData`, as a download. With a bearer token only (401 anonymous); limited like
//! `exportMyData` (429 with `Retry-After` over the limit).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::auth::SignedIn;
use crate::http::error::ApiError;
use crate::state::AppState;

pub async fn export_json(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
) -> Result<Response, ApiError> {
    let document = state.services.privacy.export(&actor).await?;
    tracing::info!(actor = %actor.volunteer, "own data exported");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"feihong-my-data.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        document,
    )
        .into_response())
}
