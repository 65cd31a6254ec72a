//! A GraphQL-over-WebSocket client (graphql-transport-ws), as the apps use for subscriptions.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{Session, TestApp};

/// How long a test waits for an update that must come.
const PATIENCE: Duration = Duration::from_secs(15);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One subscription on its own connection.
pub struct Subscription {
    socket: Socket,
}

/// What the server said instead of an update.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// The connection was closed, with this code and reason.
    Closed(u16, String),
    /// The subscription was completed by the server.
    Completed,
}

impl TestApp {
    /// Opens `/graphql/ws`, signs in as `session` (anonymous when `None`) and starts `query`.
    /// A refused sign-in is `Err` with the close code and reason.
    pub async fn subscribe(
        &self,
        session: Option<&Session>,
        query: &str,
        variables: Value,
    ) -> Result<Subscription, Ended> {
        let url = format!("ws://{}/graphql/ws", self.address);
        let mut request = url.into_client_request().expect("ws request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connect");
        let mut subscription = Subscription { socket };
        // In English, like the suite's HTTP client.
        let payload = match session {
            Some(session) => {
                json!({ "authorization": format!("Bearer {}", session.access_token), "locale": "en" })
            }
            None => json!({ "locale": "en" }),
        };
        subscription
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        let ack = subscription.message().await?;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        subscription.start("1", query, variables).await;
        Ok(subscription)
    }
}

impl TestApp {
    /// Opens `/graphql/ws` as a client at `address` would (the test proxy header), without
    /// signing in yet; the HTTP status when the upgrade is refused.
    pub async fn open_socket_from(&self, address: &str) -> Result<Subscription, u16> {
        let url = format!("ws://{}/graphql/ws", self.address);
        let mut request = url.into_client_request().expect("ws request");
        let headers = request.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().expect("header"),
        );
        headers.insert("x-test-client", address.parse().expect("header"));
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(Subscription { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(error) => panic!("websocket connect: {error}"),
        }
    }
}

impl Subscription {
    /// Sends `connection_init` with `payload`; the server's answer (`connection_ack`).
    pub async fn init(&mut self, payload: Value) -> Result<Value, Ended> {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        self.message().await
    }

    /// Ends the subscription `id` from the client's side.
    pub async fn stop(&mut self, id: &str) {
        self.send(json!({ "type": "complete", "id": id })).await;
    }

    /// Starts another subscription on the same connection, under `id`.
    pub async fn start(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("websocket send");
    }

    /// The next protocol message (pings answered), or how the connection ended.
    async fn message(&mut self) -> Result<Value, Ended> {
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("the server answered in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).expect("json message");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Ok(message);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map_or(Ended::Closed(1005, String::new()), |frame| {
                        Ended::Closed(frame.code.into(), frame.reason.to_string())
                    }));
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(Ended::Closed(1006, error.to_string())),
                None => return Err(Ended::Closed(1006, "eof".to_owned())),
            }
        }
    }

    /// The next update's payload (`{"data": …}`, or `{"errors": …}` for a failed subscription,
    /// which the protocol sends as an `error` message). Panics if none comes in time.
    pub async fn next(&mut self) -> Result<Value, Ended> {
        self.next_update().await.map(|(_, payload)| payload)
    }

    /// Like `next`, with the id of the subscription it belongs to.
    pub async fn next_update(&mut self) -> Result<(String, Value), Ended> {
        let message = self.message().await?;
        let id = message["id"].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("next") => Ok((id, message["payload"].clone())),
            Some("error") => Ok((id, json!({ "errors": message["payload"] }))),
            Some("complete") => Err(Ended::Completed),
            _ => panic!("unexpected message {message}"),
        }
    }

    /// Nothing arrives within `window`.
    pub async fn expect_silence(&mut self, window: Duration) {
        if let Ok(frame) = tokio::time::timeout(window, self.socket.next()).await {
            panic!("expected no update, got {frame:?}");
        }
    }
}
