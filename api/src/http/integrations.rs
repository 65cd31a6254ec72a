//! `POST /integrations/incidents`: the city's dispatch system raises an incident
//! (`docs/quick-response.md`). The body is JSON, signed in `X-Feihong-Signature: sha256=<hex>`:
//! the HMAC-SHA256 of the exact body keyed with `FEIHONG_DISPATCH_SECRET`, compared in constant
//! time before anything in it is read. `sentAt` must be within 5 minutes of the server's clock
//! (a captured request cannot be replayed later), and the caller's `reference` makes the call
//! idempotent: the same reference answers the same incident, with no second round of alerts.
//! Without a configured secret every call is refused (401), like a wrong signature.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use feihong_domain::Error as DomainError;
use feihong_domain::geo::Position;
use feihong_domain::incidents::RaiseIncident;
use feihong_domain::kinds::{IncidentKind, TeamKind};
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::graphql::ids::GlobalId as _;
use crate::http::error::ApiError;
use crate::state::AppState;

/// How far `sentAt` may be from the server's clock.
const REPLAY_WINDOW: chrono::Duration = chrono::Duration::minutes(5);
pub const SIGNATURE_HEADER: &str = "x-feihong-signature";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DispatchIncident {
    reference: String,
    area_code: String,
    kind: String,
    #[serde(default)]
    description: String,
    location: DispatchLocation,
    needed: i32,
    #[serde(default)]
    team_kinds: Vec<String>,
    sent_at: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DispatchLocation {
    address: String,
    lat: f64,
    lng: f64,
}

/// Whether `header` is `sha256=<hex>` of the body's HMAC under `secret`.
pub fn signature_matches(secret: &SecretString, header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn stored<T: sea_orm::ActiveEnum<Value = String>>(name: &str, field: &str) -> Result<T, ApiError> {
    T::try_from_value(&name.to_owned())
        .map_err(|_| ApiError::bad_input(field, "must-be-known-kind"))
}

pub async fn raise_incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let signature = headers.get(SIGNATURE_HEADER).and_then(|h| h.to_str().ok());
    let signed = state
        .config
        .dispatch_secret
        .as_ref()
        .is_some_and(|secret| signature_matches(secret, signature, &body));
    if !signed {
        return Err(DomainError::Unauthenticated.into());
    }
    let request: DispatchIncident = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_input("body", "must-be-dispatch-json"))?;
    if (Utc::now() - request.sent_at).abs() > REPLAY_WINDOW {
        return Err(ApiError::bad_input("sentAt", "must-be-within-5-minutes"));
    }
    let area = state
        .services
        .areas
        .by_code(&request.area_code)
        .ok_or(DomainError::NotFound("area"))?;
    let location = &request.location;
    let input = RaiseIncident {
        kind: stored::<IncidentKind>(&request.kind, "kind")?,
        description: request.description,
        address: location.address.clone(),
        position: Position::parse(location.lat, location.lng, "location")?,
        needed: request.needed,
        team_kinds: request
            .team_kinds
            .iter()
            .map(|kind| stored::<TeamKind>(kind, "teamKinds"))
            .collect::<Result<_, _>>()?,
        area: Some(area.id),
    };
    let incident = state
        .services
        .incidents
        .raise_for_dispatch(&request.reference, area.id, input)
        .await?;
    tracing::info!(incident = incident.id.0, "incident raised by dispatch");
    Ok(Json(json!({
        "incidentId": incident.id.to_global(),
        "status": sea_orm::ActiveEnum::to_value(&incident.status),
        "ring": incident.ring,
        "accepted": incident.accepted,
        "needed": incident.needed,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn only_the_exact_body_signed_with_the_secret_passes() {
        let secret = SecretString::from("d".repeat(32));
        let body = br#"{"reference":"110-1"}"#;
        let good = sign(&"d".repeat(32), body);
        assert!(signature_matches(&secret, Some(&good), body));
        assert!(!signature_matches(
            &secret,
            Some(&good),
            br#"{"reference":"110-2"}"#
        ));
        assert!(!signature_matches(
            &secret,
            Some(&sign(&"e".repeat(32), body)),
            body
        ));
        assert!(!signature_matches(
            &secret,
            Some(good.trim_start_matches("sha256=")),
            body
        ));
        assert!(!signature_matches(&secret, Some("sha256=zz"), body));
        assert!(!signature_matches(&secret, None, body));
    }
}
