//! A stand-in for the city's push gateway: an axum server on a local port that checks each
//! push's `X-Feihong-Signature` and keeps what it accepted. It can be told to fail (HTTP 500)
//! its next few requests, as a gateway that is away.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use feihong_api::config::PushConfig;
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;

pub const SECRET: &str = "test-push-webhook-secret-0123456789abcdef";

#[derive(Default)]
struct Inbox {
    accepted: Mutex<Vec<Value>>,
    refused_signatures: AtomicU32,
    fail_next: AtomicU32,
    failed: AtomicU32,
}

pub struct Receiver {
    inbox: Arc<Inbox>,
    pub url: String,
}

fn expected_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signed = headers
        .get("x-feihong-signature")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == expected_signature(&body));
    if !signed {
        inbox.refused_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    if inbox
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        inbox.failed.fetch_add(1, Ordering::SeqCst);
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let push: Value = serde_json::from_slice(&body).unwrap();
    inbox.accepted.lock().unwrap().push(push);
    StatusCode::NO_CONTENT
}

impl Receiver {
    pub async fn start() -> Self {
        let inbox = Arc::new(Inbox::default());
        let app = Router::new()
            .route("/push", post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/push", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { inbox, url }
    }

    pub fn config(&self) -> PushConfig {
        PushConfig::Webhook {
            url: self.url.clone(),
            secret: SECRET.into(),
        }
    }

    /// The next `count` requests are answered 500.
    pub fn fail_next(&self, count: u32) {
        self.inbox.fail_next.store(count, Ordering::SeqCst);
    }

    pub fn failed(&self) -> u32 {
        self.inbox.failed.load(Ordering::SeqCst)
    }

    pub fn refused_signatures(&self) -> u32 {
        self.inbox.refused_signatures.load(Ordering::SeqCst)
    }

    pub fn accepted(&self) -> Vec<Value> {
        self.inbox.accepted.lock().unwrap().clone()
    }

    /// Waits (up to a minute) until at least `count` pushes were accepted; returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        for _ in 0..600 {
            let accepted = self.accepted();
            if accepted.len() >= count {
                return accepted;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected {count} pushes, got {:?}", self.accepted());
    }
}
