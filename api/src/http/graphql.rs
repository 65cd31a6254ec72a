//! The GraphQL endpoint. Only `POST` with a JSON body executes, one operation per request (no
//! batching); `GET` serves GraphiQL in development and executes nothing, ever (so neither does a
//! persisted query: `graphql::persisted` resolves hashes inside the schema, for POST and WebSocket).

use std::net::SocketAddr;
use std::time::Instant;

use async_graphql::http::GraphiQLSource;
use async_graphql::{ErrorExtensionValues, Response as GqlResponse};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use feihong_domain::text::Text;
use serde_json::json;

use crate::error::code;
use crate::graphql::context::RequestContext;
use crate::http::auth::BearerToken;
use crate::http::forwarded::forwarded_client;
use crate::http::retry;
use crate::locale::current_locale;
use crate::metrics;
use crate::state::AppState;

/// A refusal before execution, shaped like a GraphQL error response.
fn refuse(status: StatusCode, message: Text) -> Response {
    let message = message.render(current_locale());
    metrics::record_error(code::BAD_USER_INPUT);
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

/// The client's address: the socket peer, or behind proxies of ours (`client_ip_header`) the
/// value the outermost of them appended, `trusted_proxy_hops` from the end of all the header's
/// lines (so a client cannot forge it). Without such a value, the socket peer.
pub fn client_address(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    let config = &state.config;
    config
        .client_ip_header
        .as_deref()
        .and_then(|name| {
            let lines: Vec<_> = headers
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()))
                .collect();
            forwarded_client(&lines, config.trusted_proxy_hops)
        })
        .unwrap_or_else(|| peer.ip().to_canonical())
        .to_string()
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

/// The two response media types of GraphQL over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: every well-formed request is answered 200, errors in the body.
    Json,
    /// `application/graphql-response+json`: a document that does not parse or validate, or
    /// whose variables do not fit, is answered 4xx without `data`.
    GraphqlResponse,
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The media type to answer in: `application/graphql-response+json` when the `Accept` header
/// lists it (with a non-zero quality), `application/json` otherwise (also without `Accept`, as
/// the spec asks of servers during the transition).
pub fn response_media_type(headers: &HeaderMap) -> MediaType {
    let accepts = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            let refused = parts.any(|param| {
                let param = param.trim().replace(' ', "");
                param
                    .strip_prefix("q=")
                    .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            media.eq_ignore_ascii_case(GRAPHQL_RESPONSE) && !refused
        });
    if accepts {
        MediaType::GraphqlResponse
    } else {
        MediaType::Json
    }
}

/// The status of an answer to a well-formed request: 200 once the operation ran (errors or
/// not); for `graphql-response+json` clients a refusal before running is a 4xx (429 when the
/// caller's budget is spent, 503 when the database is away, 400 otherwise).
pub fn response_status(media: MediaType, executed: bool, first_code: Option<&str>) -> StatusCode {
    if executed || media == MediaType::Json {
        return StatusCode::OK;
    }
    match first_code {
        Some(code::RATE_LIMITED) => StatusCode::TOO_MANY_REQUESTS,
        Some(code::UNAVAILABLE) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn first_code(response: &GqlResponse) -> Option<String> {
    let extensions = response.errors.first()?.extensions.as_ref()?;
    match extensions.get("code")? {
        async_graphql::Value::String(code) => Some(code.clone()),
        _ => None,
    }
}

/// Serialises the answer in the negotiated media type.
fn answer(media: MediaType, executed: bool, response: GqlResponse) -> Response {
    let status = response_status(media, executed, first_code(&response).as_deref());
    let body = if executed {
        // Straight to bytes: no intermediate JSON tree for every answer.
        serde_json::to_vec(&response).unwrap_or_else(|_| b"{}".to_vec())
    } else {
        let mut body = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
        if let Some(object) = body.as_object_mut() {
            // The operation never ran: there is no data to speak of, not even null.
            object.remove("data");
        }
        body.to_string().into_bytes()
    };
    let content_type = match media {
        MediaType::Json => "application/json",
        MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
    };
    let mut http = (status, body).into_response();
    let headers = http.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    http
}

pub async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    BearerToken(bearer): BearerToken,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Text::new("send-json-body"),
        );
    }
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first == Some(&b'[') {
        return refuse(StatusCode::BAD_REQUEST, Text::new("batches-not-supported"));
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                // serde's words, in English: where the JSON breaks.
                Text::new("malformed-request").arg("detail", error),
            );
        }
    };
    let media = response_media_type(&headers);
    let address = client_address(&state, &headers, peer);
    let context = || RequestContext::new(state.services.clone(), bearer.clone(), address.clone());
    let named = request.operation_name.clone();
    let started = Instant::now();
    // Runs inside `request_id::scope`: internal errors name this request.
    let (mut response, outcome) = retry::execute(&state.schema, request, context).await;
    ensure_codes(&mut response);
    let operation = named.or_else(|| outcome.operation().map(str::to_owned));
    metrics::record_request(operation.as_deref(), started.elapsed(), &response);
    answer(media, outcome.executed(), response)
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
