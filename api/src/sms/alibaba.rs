//! Alibaba Cloud SMS (Dysmsapi, API version 2017-05-25, action `SendSms`), signed as Alibaba
//! documents RPC-style requests (signature version 1.0):
//!
//! 1. every parameter but `Signature`, sorted by name, each name and value percent-encoded
//!    (RFC 3986: only `A–Z a–z 0–9 - _ . ~` stay; a space is `%20`), joined as `k=v&k=v`;
//! 2. `StringToSign = METHOD & percentEncode("/") & percentEncode(canonicalized query)`;
//! 3. `Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))`, sent as one more
//!    parameter.
//!
//! The answer is JSON; `"Code": "OK"` is a message accepted, anything else a failure the outbox
//! retries.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use feihong_domain::sms::{SmsMessage, SmsSender};
use feihong_domain::{Error, Result};
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::ExposeSecret as _;
use sha1::Sha1;

use crate::config::sms::AlibabaSms;

/// Everything but the RFC 3986 unreserved characters is encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A request to the provider gives up after this long (the outbox retries it).
const TIMEOUT: Duration = Duration::from_secs(10);

pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, ENCODE).to_string()
}

/// The canonicalized query string of `parameters` (step 1).
pub fn canonical_query(parameters: &[(String, String)]) -> String {
    let mut sorted: Vec<(String, String)> = parameters
        .iter()
        .map(|(name, value)| (percent_encode(name), percent_encode(value)))
        .collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The signature of a request with these parameters (steps 2 and 3).
pub fn signature(method: &str, parameters: &[(String, String)], access_key_secret: &str) -> String {
    let string_to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(parameters))
    );
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{access_key_secret}&").as_bytes())
        .expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

pub struct AlibabaSender {
    settings: AlibabaSms,
    http: reqwest::Client,
}

#[derive(serde::Deserialize)]
struct Answer {
    #[serde(rename = "Code")]
    code: Option<String>,
}

impl AlibabaSender {
    pub fn new(settings: AlibabaSms) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(TIMEOUT).build()?;
        Ok(Self { settings, http })
    }

    /// The parameters of a `SendSms` request for `message`, without the signature.
    fn parameters(&self, message: &SmsMessage) -> Vec<(String, String)> {
        let template = serde_json::json!({ "code": message.code }).to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        [
            ("AccessKeyId", self.settings.access_key_id.as_str()),
            ("Action", "SendSms"),
            ("Format", "JSON"),
            ("PhoneNumbers", message.phone.as_str()),
            ("RegionId", "cn-hangzhou"),
            ("SignName", self.settings.sign_name.as_str()),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", &uuid::Uuid::new_v4().to_string()),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", self.settings.template_code.as_str()),
            ("TemplateParam", &template),
            ("Timestamp", &timestamp),
            ("Version", "2017-05-25"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    async fn send_now(&self, message: &SmsMessage) -> Result<()> {
        let mut parameters = self.parameters(message);
        let signed = signature(
            "POST",
            &parameters,
            self.settings.access_key_secret.expose_secret(),
        );
        parameters.push(("Signature".to_owned(), signed));
        let response = self
            .http
            .post(&self.settings.endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(canonical_query(&parameters))
            .send()
            .await
            .map_err(|error| Error::internal(format!("SMS provider unreachable: {error}")))?;
        let status = response.status();
        let answer: Option<Answer> = response.json().await.ok();
        match answer.and_then(|answer| answer.code) {
            Some(code) if status.is_success() && code == "OK" => Ok(()),
            code => Err(Error::internal(format!(
                "SMS provider refused: HTTP {status}, code {}",
                code.as_deref().unwrap_or("none")
            ))),
        }
    }
}

impl SmsSender for AlibabaSender {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.send_now(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_follows_rfc_3986() {
        assert_eq!(percent_encode("a b*c~d/e"), "a%20b%2Ac~d%2Fe");
        assert_eq!(percent_encode("飞鸿"), "%E9%A3%9E%E9%B8%BF");
    }

    #[test]
    fn the_canonical_query_is_sorted_by_encoded_name() {
        let parameters = vec![
            ("b".to_owned(), "2".to_owned()),
            ("A".to_owned(), "x y".to_owned()),
        ];
        assert_eq!(canonical_query(&parameters), "A=x%20y&b=2");
    }

    /// The worked example of Alibaba's RPC signature documentation (DescribeRegions, secret
    /// `testsecret`), as published.
    #[test]
    fn the_documented_example_signs_alike() {
        let parameters: Vec<(String, String)> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        assert_eq!(
            signature("GET", &parameters, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }
}
