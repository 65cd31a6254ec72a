//! GraphQL subscriptions over WebSocket (`/graphql/ws`, protocols graphql-transport-ws and the
//! older graphql-ws). The app signs in with its access token in the `connection_init` payload
//! (`{"authorization": "Bearer …"}`, or `{"accessToken": "…"}`); a bad token is refused there.
//! Only subscription operations run here (see `limits::SubscriptionsOnly`: at most 20 at once
//! per connection, none started on an expired token), messages are bounded like POST bodies, a
//! client address holds a bounded number of connections on a node, and a connection that does
//! not sign in within 10 s is closed. Its messages are in the language `locale` in the init
//! payload names (`{"locale": "en"}`), else the one the upgrade request's `Accept-Language`
//! prefers.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use feihong_domain::Error as DomainError;

use crate::graphql::context::RequestContext;
use crate::graphql::error::GqlError;
use crate::http::MAX_BODY_BYTES;
use crate::http::auth::token_from_init;
use crate::http::error::ApiError;
use crate::http::graphql::client_address;
use crate::locale;
use crate::state::AppState;

/// A connection that has not sent `connection_init` by then is closed.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// When an address holding all the connections it may is told to try again (429).
const FULL_ADDRESS_RETRY_AFTER: Duration = Duration::from_secs(60);

pub async fn graphql_ws(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let address = client_address(&state, &headers, peer);
    let language = locale::from_accept_language(&headers);
    let Some(slot) = state.ws_connections.take(&address) else {
        let full = DomainError::RateLimited {
            retry_after: FULL_ADDRESS_RETRY_AFTER,
        };
        return ApiError::from(full).into_response();
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
                        if let Some(locale) = locale::from_init_payload(&payload) {
                            locale::set_current_locale(locale);
                        }
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
            // The connection speaks the upgrade request's language until its init names one.
            let connection = locale::LOCALE.scope(Cell::new(language), connection);
            tokio::select! {
                () = connection => {}
                () = unsigned_timeout => {}
                () = state.closing.cancelled() => {}
            }
        })
}
