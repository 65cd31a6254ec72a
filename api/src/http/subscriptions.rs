//! GraphQL subscriptions over WebSocket (`/graphql/ws`, protocols graphql-transport-ws and the
//! older graphql-ws). The app signs in with its access token in the `connection_init` payload
//! (`{"authorization": "Bearer …"}`, or `{"accessToken": "…"}`); a bad token is refused there.
//! Only subscription operations run here (see `limits::SubscriptionsOnly`: at most 20 at once
//! per connection, none started on an expired token), messages are bounded like POST bodies, a
//! client address holds a bounded number of connections on a node, and a connection that does
//! not sign in within 10 s is closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
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

/// WebSocket connections open per client address on this node, bounded.
pub struct ConnectionSlots {
    open: Mutex<HashMap<String, usize>>,
    per_address: usize,
}

/// One connection's place, given back when it closes.
pub struct ConnectionSlot {
    slots: Arc<ConnectionSlots>,
    address: String,
}

impl ConnectionSlots {
    pub fn new(per_address: usize) -> Self {
        Self {
            open: Mutex::default(),
            per_address,
        }
    }

    /// A place for one more connection from `address`; None when it holds all it may.
    pub fn take(self: &Arc<Self>, address: &str) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address.to_owned()).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot {
            slots: self.clone(),
            address: address.to_owned(),
        })
    }

    pub fn open_from(&self, address: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(address).copied().unwrap_or(0)
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// A connection that has not sent `connection_init` by then is closed.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn graphql_ws(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let address = client_address(&state, &headers, peer);
    let Some(slot) = state.ws_connections.take(&address) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            "too many WebSocket connections from this address",
        )
            .into_response();
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_BODY_BYTES)
        .max_frame_size(MAX_BODY_BYTES)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            let services = state.services.clone();
            let initialised = Arc::new(AtomicBool::new(false));
            let signed_in = initialised.clone();
            let connection =
                GraphQLWebSocket::new(socket, state.subscription_schema.clone(), protocol)
                    .on_connection_init(move |payload| async move {
                        let bearer = token_from_init(&payload);
                        services
                            .accounts
                            .authenticate(bearer.as_deref())
                            .await
                            .map_err(|error| async_graphql::Error::from(GqlError::from(error)))?;
                        signed_in.store(true, Ordering::Release);
                        let mut data = Data::default();
                        data.insert(RequestContext::new(services, bearer, address));
                        Ok(data)
                    })
                    .serve();
            let unsigned_timeout = async {
                tokio::time::sleep(INIT_TIMEOUT).await;
                if initialised.load(Ordering::Acquire) {
                    std::future::pending::<()>().await;
                }
            };
            // Dropping the connection (at shutdown, or when it never signs in) closes the socket.
            tokio::select! {
                () = connection => {}
                () = unsigned_timeout => {}
                () = state.closing.cancelled() => {}
            }
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
