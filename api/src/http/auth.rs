//! Who is calling: the one reading of a bearer token, from an `Authorization` header
//! ([`BearerToken`], [`SignedIn`]) or from a WebSocket `connection_init` payload
//! ([`token_from_init`]). The scheme is case-insensitive (`Bearer`, `bearer`, `BEARER`).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use feihong_domain::actor::Actor;
use feihong_domain::policy;
use serde_json::Value;

use crate::http::error::ApiError;
use crate::state::AppState;

/// The token of an `Authorization` value `Bearer <token>`; `None` for any other scheme or an
/// empty token.
pub fn parse_bearer(value: &str) -> Option<String> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// The bearer token from a `connection_init` payload: `{"accessToken": "…"}`, or
/// `{"authorization": "Bearer …"}` read as the header would be.
pub fn token_from_init(payload: &Value) -> Option<String> {
    let text = |key: &str| payload.get(key).and_then(Value::as_str);
    if let Some(token) = text("accessToken") {
        return Some(token.trim().to_owned()).filter(|token| !token.is_empty());
    }
    parse_bearer(text("authorization").or_else(|| text("Authorization"))?)
}

/// The request's bearer token, if it sent one; checking it is left to whoever needs the caller
/// (GraphQL resolves the viewer lazily, so public fields answer even with a stale token).
pub struct BearerToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_bearer);
        Ok(Self(token))
    }
}

/// A signed-in caller, checked against the accounts: a route that takes it answers 401
/// (`UNAUTHENTICATED`) to anyone else, and 503 when the database is away.
pub struct SignedIn(pub Actor);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(BearerToken(token)) = BearerToken::from_request_parts(parts, state).await;
        let viewer = state
            .services
            .accounts
            .authenticate(token.as_deref())
            .await?;
        Ok(Self(policy::check_signed_in(&viewer)?.clone()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_scheme_is_read_without_regard_to_case() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "Bearer  abc "] {
            assert_eq!(parse_bearer(value).as_deref(), Some("abc"), "{value}");
        }
        for value in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "abc", ""] {
            assert_eq!(parse_bearer(value), None, "{value}");
        }
    }

    #[test]
    fn the_token_is_read_from_either_payload_shape() {
        let token = |payload| token_from_init(&payload);
        assert_eq!(
            token(json!({ "authorization": "Bearer abc" })).as_deref(),
            Some("abc")
        );
        assert_eq!(
            token(json!({ "Authorization": "bearer abc" })).as_deref(),
            Some("abc")
        );
        assert_eq!(
            token(json!({ "accessToken": "abc" })).as_deref(),
            Some("abc")
        );
        assert_eq!(token(json!({ "authorization": "Basic abc" })), None);
        assert_eq!(token(json!({ "accessToken": "  " })), None);
        assert_eq!(token(Value::Null), None);
    }

    #[tokio::test]
    async fn the_header_is_read_by_the_extractor() {
        let request = axum::http::Request::get("/")
            .header(header::AUTHORIZATION, "bEaReR token-1")
            .body(())
            .unwrap();
        let (mut parts, ()) = request.into_parts();
        let Ok(BearerToken(token)) = BearerToken::from_request_parts(&mut parts, &()).await;
        assert_eq!(token.as_deref(), Some("token-1"));
    }
}
