//! Errors of the plain HTTP routes (everything but `/graphql`): the status from the one table in
//! [`crate::error`], a JSON body `{"code", "message", "requestId"}`, and `Retry-After` when the
//! client should try again later. Like `GqlError`, no internal text reaches the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use feihong_domain::Error as DomainError;
use feihong_domain::text::Text;
use serde::Serialize;

use crate::error::{Classified, current_request_id};

/// A refusal or failure of a plain HTTP route. Handlers return `Result<_, ApiError>` and `?` a
/// domain error into it. (Boxed: a pointer on the happy path.)
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    classified: Classified,
    request_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    code: &'static str,
    message: &'a str,
    request_id: &'a str,
}

impl ApiError {
    /// Input the client must fix; `field` names the query parameter.
    pub fn bad_input(field: &str, message: impl Into<Text>) -> Self {
        DomainError::invalid(field, message).into()
    }

    pub fn status(&self) -> StatusCode {
        self.0.classified.status
    }

    pub fn code(&self) -> &'static str {
        self.0.classified.code
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self(Box::new(Inner {
            classified: Classified::from(error),
            request_id: current_request_id(),
        }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Inner {
            classified,
            request_id,
        } = *self.0;
        let body = Body {
            code: classified.code,
            message: &classified.message,
            request_id: &request_id,
        };
        let mut response = (classified.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = classified.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::REQUEST_ID;

    async fn answer(error: DomainError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = REQUEST_ID
            .scope("req-7".to_owned(), async { ApiError::from(error) })
            .await
            .into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, retry_after, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn the_body_names_the_code_and_the_request() {
        let (status, retry_after, body) = answer(DomainError::forbidden("not-your-area")).await;
        assert_eq!((status, retry_after), (StatusCode::FORBIDDEN, None));
        assert_eq!(
            body,
            serde_json::json!({ "code": "FORBIDDEN", "message": "不属于你的区域", "requestId": "req-7" })
        );
    }

    #[tokio::test]
    async fn outages_and_rate_limits_say_when_to_try_again() {
        let (status, retry_after, body) = answer(DomainError::Unavailable("the database")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("2"));
        assert_eq!(body["code"], "UNAVAILABLE");
        let limited = DomainError::RateLimited {
            retry_after: Duration::from_secs(40),
        };
        let (status, retry_after, _) = answer(limited).await;
        assert_eq!(
            (status, retry_after.as_deref()),
            (StatusCode::TOO_MANY_REQUESTS, Some("40"))
        );
    }

    #[tokio::test]
    async fn an_internal_cause_stays_in_the_log() {
        let (status, _, body) = answer(DomainError::internal("database: syntax error at $1")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            serde_json::json!({ "code": "INTERNAL", "message": "服务器内部错误（请求 req-7）", "requestId": "req-7" })
        );
    }
}
