//! The push senders the API offers the domain's push worker: the `log` sender (development) and
//! the webhook to the city's push gateway. The webhook POSTs JSON
//! `{"id", "kind", "text", "devices": [{"platform", "token"}]}` signed with HMAC-SHA256 over the
//! exact body, in `X-Feihong-Signature: sha256=<hex>` (docs/security.md, "Push").

use std::sync::Arc;
use std::time::Duration;

use feihong_domain::Error;
use feihong_domain::push::{LogSender, Push, PushSender};
use futures::future::BoxFuture;
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

use crate::config::PushConfig;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Feihong-Signature";
/// A push the gateway has not answered within this long fails (and is retried later).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The sender the configuration names.
pub fn sender(config: &PushConfig) -> anyhow::Result<Arc<dyn PushSender>> {
    Ok(match config {
        PushConfig::Log => Arc::new(LogSender),
        PushConfig::Webhook { url, secret } => Arc::new(WebhookSender {
            client: reqwest::Client::builder()
                .timeout(SEND_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            url: url.clone(),
            secret: secret.clone(),
        }),
    })
}

/// `sha256=<hex>`: HMAC-SHA256 of `body` keyed with the webhook secret.
pub fn signature(secret: &SecretString, body: &[u8]) -> String {
    // HMAC accepts a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

struct WebhookSender {
    client: reqwest::Client,
    url: String,
    secret: SecretString,
}

impl PushSender for WebhookSender {
    fn send<'a>(&'a self, push: &'a Push) -> BoxFuture<'a, feihong_domain::Result<()>> {
        Box::pin(async move {
            let body = serde_json::to_vec(push).map_err(Error::internal)?;
            let signature = signature(&self.secret, &body);
            let response = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await
                // Without the URL: it is configuration, not for logs.
                .map_err(|error| {
                    Error::internal(format!("push gateway unreachable: {}", error.without_url()))
                })?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(Error::internal(format!(
                    "push gateway answered {}",
                    response.status().as_u16()
                )))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231, test case 2.
        let secret = SecretString::from("Jefe");
        assert_eq!(
            signature(&secret, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
