//! GraphQL subscriptions over WebSocket (`/graphql/ws`, protocols graphql-transport-ws and the
//! older graphql-ws). The app signs in with its access token in the `connection_init` payload
//! (`{"authorization": "Bearer …"}`, or `{"accessToken": "…"}`); a bad token is refused there.
//! Only subscription operations run here (see `limits::SubscriptionsOnly`), and messages are
//! bounded like POST bodies.

use std::net::SocketAddr;

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use crate::app::{AppState, MAX_BODY_BYTES};
use crate::graphql::context::RequestContext;
use crate::graphql::error::GqlError;
use crate::http::graphql::client_address;

/// The bearer token from a `connection_init` payload.
fn token_from_init(payload: &Value) -> Option<String> {
    let text = |key: &str| payload.get(key).and_then(Value::as_str);
    if let Some(token) = text("accessToken") {
        return Some(token.trim().to_owned()).filter(|token| !token.is_empty());
    }
    let header = text("authorization").or_else(|| text("Authorization"))?;
    let (scheme, token) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

pub async fn graphql_ws(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let address = client_address(&state, &headers, peer);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_BODY_BYTES)
        .max_frame_size(MAX_BODY_BYTES)
        .on_upgrade(move |socket| async move {
            let services = state.services.clone();
            let connection =
                GraphQLWebSocket::new(socket, state.subscription_schema.clone(), protocol)
                    .on_connection_init(move |payload| async move {
                        let bearer = token_from_init(&payload);
                        services
                            .accounts
                            .authenticate(bearer.as_deref())
                            .await
                            .map_err(|error| async_graphql::Error::from(GqlError::from(error)))?;
                        let mut data = Data::default();
                        data.insert(RequestContext::new(services, bearer, address));
                        Ok(data)
                    })
                    .serve();
            // Dropping the connection at shutdown closes the socket.
            state.closing.run_until_cancelled(connection).await;
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
