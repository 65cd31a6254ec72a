//! A local stand-in for Alibaba Cloud SMS (Dysmsapi `SendSms`): it recomputes every request's
//! signature independently (RFC 3986 encoding, sorted parameters, HMAC-SHA1 with the secret and
//! `&`), checks the parameters, and keeps the codes it was asked to send. It can answer 500 for
//! a while, as a provider outage.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine as _;
use feihong_api::config::Config;
use feihong_api::config::sms::{AlibabaSms, SmsProvider};
use feihong_tests::{Backend, TestApp};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Value, json};

pub const KEY_ID: &str = "LTAI-test-key-id";
pub const KEY_SECRET: &str = "test-key-secret-never-logged";
pub const SIGN_NAME: &str = "飞鸿志愿";
pub const TEMPLATE: &str = "SMS_123456789";

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// The signature Alibaba would compute for these parameters (all but `Signature`).
pub fn expected_signature(
    method: &str,
    parameters: &BTreeMap<String, String>,
    secret: &str,
) -> String {
    let mut encoded: Vec<(String, String)> = parameters
        .iter()
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    encoded.sort();
    let query = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("{method}&{}&{}", encode("/"), encode(&query));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[derive(Clone, Default)]
struct Inbox {
    /// (phone, code) of every message accepted, in order.
    delivered: Arc<Mutex<Vec<(String, String)>>>,
    /// Why requests were refused (a bad signature or parameter): must stay empty.
    refused: Arc<Mutex<Vec<String>>>,
    failures_left: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

pub struct Gateway {
    pub url: String,
    inbox: Inbox,
}

fn decode_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| {
            let decode = |s: &str| percent_decode_str(s).decode_utf8().unwrap().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

fn check(parameters: &mut BTreeMap<String, String>) -> Result<(String, String), String> {
    let signature = parameters.remove("Signature").ok_or("no Signature")?;
    if signature != expected_signature("POST", parameters, KEY_SECRET) {
        return Err(format!("signature does not match: {parameters:?}"));
    }
    let expect = [
        ("AccessKeyId", KEY_ID),
        ("Action", "SendSms"),
        ("Format", "JSON"),
        ("SignName", SIGN_NAME),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("TemplateCode", TEMPLATE),
        ("Version", "2017-05-25"),
    ];
    for (name, value) in expect {
        if parameters.get(name).map(String::as_str) != Some(value) {
            return Err(format!("{name} is {:?}", parameters.get(name)));
        }
    }
    for name in [
        "SignatureNonce",
        "Timestamp",
        "PhoneNumbers",
        "TemplateParam",
    ] {
        if parameters.get(name).is_none_or(String::is_empty) {
            return Err(format!("{name} missing"));
        }
    }
    let template: Value =
        serde_json::from_str(&parameters["TemplateParam"]).map_err(|e| e.to_string())?;
    let code = template["code"]
        .as_str()
        .ok_or("no code in TemplateParam")?
        .to_owned();
    Ok((parameters["PhoneNumbers"].clone(), code))
}

async fn send_sms(State(inbox): State<Inbox>, body: String) -> (StatusCode, Json<Value>) {
    inbox.requests.fetch_add(1, Ordering::SeqCst);
    let mut parameters = decode_form(&body);
    let (phone, code) = match check(&mut parameters) {
        Ok(message) => message,
        Err(why) => {
            inbox.refused.lock().unwrap().push(why);
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "Code": "SignatureDoesNotMatch" })),
            );
        }
    };
    let outage = inbox
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    if outage {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "Code": "ServiceUnavailable" })),
        );
    }
    inbox.delivered.lock().unwrap().push((phone, code));
    (
        StatusCode::OK,
        Json(json!({ "Code": "OK", "Message": "OK", "BizId": "1", "RequestId": "r" })),
    )
}

impl Gateway {
    pub async fn start() -> Self {
        let inbox = Inbox::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/", post(send_sms))
            .with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, inbox }
    }

    /// The next `count` well-signed requests are answered 500.
    pub fn fail_next(&self, count: usize) {
        self.inbox.failures_left.store(count, Ordering::SeqCst);
    }

    pub fn requests(&self) -> usize {
        self.inbox.requests.load(Ordering::SeqCst)
    }

    pub fn refused(&self) -> Vec<String> {
        self.inbox.refused.lock().unwrap().clone()
    }

    /// Every code delivered to `phone`, in order.
    pub fn codes_for(&self, phone: &str) -> Vec<String> {
        let delivered = self.inbox.delivered.lock().unwrap();
        delivered
            .iter()
            .filter(|(to, _)| to == phone)
            .map(|(_, code)| code.clone())
            .collect()
    }

    /// Waits (up to a minute) for the `nth` code (counted from 1) delivered to `phone`.
    pub async fn code_for(&self, phone: &str, nth: usize) -> String {
        for _ in 0..600 {
            if let Some(code) = self.codes_for(phone).get(nth - 1) {
                return code.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no code number {nth} reached {phone}; refused: {:?}",
            self.refused()
        );
    }
}

pub fn use_gateway(config: &mut Config, url: String) {
    config.sms.provider = SmsProvider::Alibaba(AlibabaSms {
        endpoint: url,
        access_key_id: KEY_ID.to_owned(),
        access_key_secret: KEY_SECRET.into(),
        sign_name: SIGN_NAME.to_owned(),
        template_code: TEMPLATE.to_owned(),
    });
}

/// A server whose SMS go to a fresh gateway; `configure` may change the rest.
pub async fn spawn_with_gateway(
    backend: Backend,
    test: &str,
    configure: impl FnOnce(&mut Config),
) -> Option<(TestApp, Gateway)> {
    let gateway = Gateway::start().await;
    let url = gateway.url.clone();
    let app = TestApp::spawn_configured(backend, test, move |config| {
        use_gateway(config, url);
        configure(config);
    })
    .await?;
    Some((app, gateway))
}

/// Like `on_every_backend!`, for tests that take a server and its SMS gateway.
macro_rules! with_sms_gateway {
    ($(async fn $name:ident($app:ident, $gateway:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: feihong_tests::TestApp, $gateway: super::super::gateway::Gateway) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    if let Some((app, gateway)) = super::super::gateway::spawn_with_gateway(
                        feihong_tests::Backend::Sqlite, module_path!(), |_| {}).await {
                        run(app, gateway).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    if let Some((app, gateway)) = super::super::gateway::spawn_with_gateway(
                        feihong_tests::Backend::Postgres, module_path!(), |_| {}).await {
                        run(app, gateway).await;
                    }
                }
            }
        )*
    };
}
pub(crate) use with_sms_gateway;
