//! The last line of defence: should a handler panic, the client still gets a GraphQL-shaped
//! `INTERNAL` answer naming the request id (status 500, JSON), and the panic is logged with that
//! id. The id is the `x-request-id` header that `SetRequestIdLayer` (outside this layer) set.

use std::panic::AssertUnwindSafe;

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use feihong_domain::text::Text;
use feihong_domain::workers::panic_message;
use futures::FutureExt as _;
use serde_json::json;

use crate::error::code;
use crate::locale::current_locale;

/// The answer to a request whose handler panicked.
pub fn internal_error(request_id: &str) -> Response {
    let body = json!({ "errors": [{
        "message": Text::new("internal-error")
            .arg("request", request_id)
            .render(current_locale()),
        "extensions": { "code": code::INTERNAL, "requestId": request_id },
    }] });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// Middleware (`axum::middleware::from_fn`) that turns a panic into [`internal_error`].
pub async fn catch_panics(request: Request, next: Next) -> Response {
    let request_id = crate::http::request_id::from_headers(request.headers());
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(payload) => {
            tracing::error!(
                request_id = %request_id,
                panic = %panic_message(&*payload),
                "request handler panicked"
            );
            internal_error(&request_id)
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{HeaderName, header};
    use axum::routing::get;
    use tower::ServiceExt as _;
    use tower_http::request_id::{MakeRequestUuid, SetRequestIdLayer};

    use super::*;

    async fn explode() -> &'static str {
        let day = chrono::NaiveDate::MAX;
        let _ = day + chrono::Duration::days(1);
        "unreachable"
    }

    fn router() -> Router {
        Router::new()
            .route("/explode", get(explode))
            .route("/fine", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(catch_panics))
            .layer(SetRequestIdLayer::new(
                HeaderName::from_static("x-request-id"),
                MakeRequestUuid,
            ))
    }

    async fn get_path(path: &str, id: Option<&str>) -> (StatusCode, Option<String>, Vec<u8>) {
        let mut request = axum::http::Request::get(path);
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        let response = router()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, content_type, body.to_vec())
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_graphql_shaped_internal_error_with_the_request_id() {
        let (status, content_type, body) = get_path("/explode", Some("req-42")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(content_type.as_deref(), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            json!({ "errors": [{
                "message": "服务器内部错误（请求 req-42）",
                "extensions": { "code": "INTERNAL", "requestId": "req-42" },
            }] })
        );
    }

    #[tokio::test]
    async fn the_generated_request_id_is_named_when_the_client_sent_none() {
        let (status, _, body) = get_path("/explode", None).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let id = body["errors"][0]["extensions"]["requestId"]
            .as_str()
            .unwrap();
        assert_eq!(id.len(), 36, "a generated UUID: {id}");
        assert_eq!(
            body["errors"][0]["message"],
            format!("服务器内部错误（请求 {id}）")
        );
        let (status, _, body) = get_path("/fine", None).await;
        assert_eq!((status, body.as_slice()), (StatusCode::OK, &b"fine"[..]));
    }
}
