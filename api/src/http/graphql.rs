//! The GraphQL endpoint. Only `POST` with a JSON body executes, one operation per request (no
//! batching); `GET` serves GraphiQL in development and executes nothing, ever.

use std::net::SocketAddr;

use async_graphql::http::GraphiQLSource;
use async_graphql::{ErrorExtensionValues, Response as GqlResponse, ServerError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::graphql::context::RequestContext;
use crate::graphql::error::{REQUEST_ID, code};
use crate::graphql::limits;
use crate::http::retry;

/// A refusal before execution, shaped like a GraphQL error response.
fn refuse(status: StatusCode, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code::BAD_USER_INPUT } }] });
    (status, Json(body)).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

/// The client's address: the socket peer, or the configured proxy header's last hop (the one
/// our own proxy appended, so a client cannot forge it).
pub fn client_address(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    state
        .config
        .client_ip_header
        .as_deref()
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .map(|hop| hop.trim().to_owned())
        .filter(|hop| !hop.is_empty())
        .unwrap_or_else(|| peer.ip().to_string())
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

/// Errors raised by async-graphql itself (parse, validation, limits) carry no code; they are all
/// the client's to fix.
fn ensure_codes(response: &mut GqlResponse) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|extensions| extensions.get("code").is_some());
        if !has_code {
            error
                .extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set("code", code::BAD_USER_INPUT);
        }
    }
}

pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the operation as a JSON body with Content-Type: application/json",
        );
    }
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first == Some(&b'[') {
        return refuse(
            StatusCode::BAD_REQUEST,
            "batched operations are not supported",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("malformed GraphQL request: {error}"),
            );
        }
    };
    let depth = limits::nesting_depth(&request.query);
    if depth > limits::MAX_NESTING {
        let mut response = GqlResponse::from_errors(vec![ServerError::new(
            format!(
                "the document nests {depth} levels deep; at most {} are allowed",
                limits::MAX_NESTING
            ),
            None,
        )]);
        ensure_codes(&mut response);
        return Json(response).into_response();
    }
    let (bearer, address) = (
        bearer_token(&headers),
        client_address(&state, &headers, peer),
    );
    let context = || RequestContext::new(state.services.clone(), bearer.clone(), address.clone());
    let execution = retry::execute(&state.schema, request, context);
    let mut response = REQUEST_ID.scope(request_id(&headers), execution).await;
    ensure_codes(&mut response);
    let mut http = Json(response).into_response();
    http.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    http
}

pub async fn graphiql(State(state): State<AppState>) -> Response {
    if state.config.graphiql {
        Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("Feihong")
                .finish(),
        )
        .into_response()
    } else {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "POST a JSON GraphQL request to /graphql",
        )
            .into_response()
    }
}
