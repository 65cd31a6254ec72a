//! Access tokens (short-lived JWTs, HS256 pinned) and refresh tokens (opaque, 256 random bits,
//! stored only as a SHA-256 hash).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::ids::VolunteerId;

/// The only algorithm accepted: a token naming any other (`none`, RS256 with our secret as a
/// "public key", …) is refused before its signature is looked at.
const ALGORITHM: Algorithm = Algorithm::HS256;
const TOKEN_KIND: &str = "access";
/// Clock difference tolerated between nodes, in seconds.
const LEEWAY_SECONDS: i64 = 5;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// Optional when decoding so that its absence is refused by `lifetime_is_bounded`, not by
    /// a parse error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    typ: String,
    /// The login (refresh-token family) the token was issued for: `changePassword` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// A signed token is accepted only for as long as this node would have issued it: it was issued
/// (`iat`) no later than now, and lives (`exp − iat`) no longer than `ttl`, give or take the
/// leeway. So a leaked secret or a signing bug cannot mint a token that outlives the policy.
fn lifetime_is_bounded(iat: Option<i64>, exp: i64, now: i64, ttl_seconds: i64) -> bool {
    let Some(iat) = iat else {
        return false;
    };
    iat <= now.saturating_add(LEEWAY_SECONDS)
        && exp.saturating_sub(iat) <= ttl_seconds.saturating_add(LEEWAY_SECONDS)
}

/// An access token as handed to a client.
#[derive(Debug, Clone)]
pub struct IssuedAccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl AccessTokens {
    /// `secret` must hold at least 32 bytes; `ttl` is capped at 15 minutes.
    pub fn new(secret: &[u8], ttl: std::time::Duration) -> Result<Self> {
        if secret.len() < 32 {
            return Err(Error::internal("token secret shorter than 32 bytes"));
        }
        let ttl = Duration::from_std(ttl.min(std::time::Duration::from_secs(15 * 60)))
            .map_err(Error::internal)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECONDS.unsigned_abs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        })
    }

    /// Issues an access token for `volunteer`, naming the login (`session`) it belongs to.
    pub fn issue(&self, volunteer: VolunteerId, session: &str) -> Result<IssuedAccessToken> {
        let now = Utc::now();
        // Whole seconds, as in the token's `exp`, so the client sees exactly when it lapses.
        let expires_at = DateTime::from_timestamp((now + self.ttl).timestamp(), 0)
            .ok_or_else(|| Error::internal("token expiry out of range"))?;
        let claims = Claims {
            sub: volunteer.to_string(),
            iat: Some(now.timestamp()),
            exp: expires_at.timestamp(),
            nbf: None,
            typ: TOKEN_KIND.to_owned(),
            sid: Some(session.to_owned()),
        };
        let token = jsonwebtoken::encode(&Header::new(ALGORITHM), &claims, &self.encoding)
            .map_err(|error| Error::internal(format!("signing token: {error}")))?;
        Ok(IssuedAccessToken { token, expires_at })
    }

    /// The volunteer a valid, unexpired access token speaks for; anything else is `Unauthenticated`.
    pub fn verify(&self, token: &str) -> Result<VolunteerId> {
        self.verify_until(token).map(|(volunteer, _)| volunteer)
    }

    /// Like `verify`, with the moment the token expires.
    pub fn verify_until(&self, token: &str) -> Result<(VolunteerId, DateTime<Utc>)> {
        self.verify_claims(token)
            .map(|(volunteer, expires, _)| (volunteer, expires))
    }

    /// The login (refresh-token family) a valid access token belongs to, when it names one.
    pub fn session_of(&self, token: &str) -> Result<Option<String>> {
        self.verify_claims(token).map(|(_, _, session)| session)
    }

    fn verify_claims(&self, token: &str) -> Result<(VolunteerId, DateTime<Utc>, Option<String>)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::Unauthenticated)?;
        if data.claims.typ != TOKEN_KIND
            || !lifetime_is_bounded(
                data.claims.iat,
                data.claims.exp,
                Utc::now().timestamp(),
                self.ttl.num_seconds(),
            )
        {
            return Err(Error::Unauthenticated);
        }
        let volunteer = data
            .claims
            .sub
            .parse::<i64>()
            .map(VolunteerId)
            .map_err(|_| Error::Unauthenticated)?;
        let expires = DateTime::from_timestamp(data.claims.exp, 0).ok_or(Error::Unauthenticated)?;
        Ok((volunteer, expires, data.claims.sid))
    }
}

/// 256 random bits, URL-safe base64: refresh tokens and generated secrets.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a refresh token: its SHA-256, hex. The token has 256 bits of entropy, so a
/// fast hash is enough; a leaked table yields nothing usable.
pub fn hash_refresh_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        AccessTokens::new(&[7u8; 32], std::time::Duration::from_secs(600)).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_to_its_volunteer() {
        let tokens = tokens();
        let issued = tokens.issue(VolunteerId(42), "login-1").unwrap();
        assert_eq!(tokens.verify(&issued.token).unwrap(), VolunteerId(42));
        assert_eq!(
            tokens.session_of(&issued.token).unwrap().as_deref(),
            Some("login-1")
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_or_algorithm_is_refused() {
        let other = AccessTokens::new(&[8u8; 32], std::time::Duration::from_secs(600)).unwrap();
        let issued = other.issue(VolunteerId(1), "login-1").unwrap();
        assert!(matches!(
            tokens().verify(&issued.token),
            Err(Error::Unauthenticated)
        ));

        let claims = Claims {
            sub: "1".into(),
            iat: Some(0),
            exp: i64::MAX / 2,
            nbf: None,
            typ: "access".into(),
            sid: None,
        };
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap();
        assert!(matches!(
            tokens().verify(&hs512),
            Err(Error::Unauthenticated)
        ));
        assert!(matches!(
            tokens().verify("not.a.token"),
            Err(Error::Unauthenticated)
        ));
    }

    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(ALGORITHM),
            &claims,
            &EncodingKey::from_secret(&[7u8; 32]),
        )
        .unwrap()
    }

    #[test]
    fn a_lifetime_is_bounded_by_the_issue_time_and_the_ttl() {
        let (now, ttl) = (1_000_000, 600);
        assert!(lifetime_is_bounded(Some(now), now + ttl, now, ttl));
        assert!(lifetime_is_bounded(Some(now - 100), now + 500, now, ttl));
        assert!(
            lifetime_is_bounded(Some(now + 5), now + 605, now, ttl),
            "leeway"
        );
        assert!(!lifetime_is_bounded(None, now + 60, now, ttl), "no iat");
        assert!(
            !lifetime_is_bounded(Some(now), now + ttl + 6, now, ttl),
            "too long"
        );
        assert!(
            !lifetime_is_bounded(Some(now + 60), now + 120, now, ttl),
            "issued later"
        );
        assert!(!lifetime_is_bounded(Some(i64::MIN), i64::MAX, now, ttl));
    }

    #[test]
    fn a_signed_token_that_outlives_the_policy_is_refused() {
        let now = Utc::now().timestamp();
        let claims = |iat: Option<i64>, exp: i64| {
            let mut claims = serde_json::json!({ "sub": "42", "exp": exp, "typ": "access" });
            if let Some(iat) = iat {
                claims["iat"] = iat.into();
            }
            claims
        };
        let ten_years = 10 * 365 * 24 * 3600;
        for (token, why) in [
            (
                signed(claims(Some(now), now + ten_years)),
                "exp years ahead",
            ),
            (signed(claims(None, now + 60)), "no iat"),
            (
                signed(claims(Some(now + 3600), now + 3900)),
                "iat in the future",
            ),
            (
                signed(claims(Some(now - 60), now + 601)),
                "longer than the ttl",
            ),
        ] {
            assert!(
                matches!(tokens().verify(&token), Err(Error::Unauthenticated)),
                "{why}"
            );
        }
        assert_eq!(
            tokens()
                .verify(&signed(claims(Some(now), now + 600)))
                .unwrap(),
            VolunteerId(42)
        );
    }

    #[test]
    fn a_token_is_refused_before_its_not_before_time() {
        let now = Utc::now().timestamp();
        let token = |nbf: i64| {
            signed(
                serde_json::json!({ "sub": "7", "iat": now, "exp": now + 600, "nbf": nbf, "typ": "access" }),
            )
        };
        assert!(matches!(
            tokens().verify(&token(now + 120)),
            Err(Error::Unauthenticated)
        ));
        assert_eq!(tokens().verify(&token(now - 1)).unwrap(), VolunteerId(7));
    }

    #[test]
    fn refresh_tokens_are_long_random_and_hash_stably() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_refresh_token(&a), hash_refresh_token(&a));
        assert_eq!(hash_refresh_token(&a).len(), 64);
    }
}
