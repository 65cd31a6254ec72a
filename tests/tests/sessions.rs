//! Tokens and sessions: refresh rotation, reuse detection, logout, expiry, forgery and the
//! failed-login limit, through HTTP, on SQLite and PostgreSQL (+ Redis).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use feihong_tests::{Session, TestApp, on_every_backend};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const ME: &str = "{ me { id } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken volunteer { id phone } } }";
const LOGOUT: &str = "mutation($token: String!) { logout(refreshToken: $token) }";
const LOGIN: &str = "mutation($phone: String!, $password: String!) { login(phone: $phone, password: $password) { accessToken } }";
const SECRET: &[u8] = b"feihong-test-secret-0123456789abcdef";

async fn refresh(app: &TestApp, token: &str) -> feihong_tests::Response {
    app.graphql(REFRESH, json!({ "token": token })).await
}

fn signed(claims: serde_json::Value, algorithm: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// The numeric id inside a volunteer's global ID (base64 of "Volunteer:N"): a token's subject.
fn subject(session: &Session) -> String {
    let raw = URL_SAFE_NO_PAD
        .decode(&session.volunteer_id)
        .expect("base64url global id");
    let text = String::from_utf8(raw).expect("utf8");
    text.split_once(':').expect("Type:id").1.to_owned()
}

on_every_backend! {
    async fn refreshing_rotates_the_refresh_token_and_issues_a_working_access_token(app: TestApp) {
        let session = app.register("13600000001", "rotator").await;
        let first = refresh(&app, &session.refresh_token).await;
        let payload = &first.data()["refreshSession"];
        assert_ne!(payload["refreshToken"], session.refresh_token.as_str());
        assert_eq!(payload["volunteer"]["phone"], "13600000001");
        let access = payload["accessToken"].as_str().unwrap();
        let me = app.graphql_from(Some(access), "10.0.0.1", ME, json!({})).await;
        assert_eq!(me.data()["me"]["id"], session.volunteer_id.as_str());
        let next = payload["refreshToken"].as_str().unwrap();
        refresh(&app, next).await.data();
    }

    async fn presenting_a_spent_refresh_token_revokes_the_whole_login(app: TestApp) {
        let session = app.register("13600000002", "victim").await;
        let rotated = refresh(&app, &session.refresh_token).await;
        let newest = rotated.data()["refreshSession"]["refreshToken"].as_str().unwrap().to_owned();
        // A thief replays the old token: refused, and the legitimate newest token dies with it.
        refresh(&app, &session.refresh_token).await.expect_error("UNAUTHENTICATED", None);
        refresh(&app, &newest).await.expect_error("UNAUTHENTICATED", None);
        // Other logins of the same volunteer are untouched.
        let other = app.login("13600000002").await;
        refresh(&app, &other.refresh_token).await.data();
    }

    async fn concurrent_refreshes_with_one_token_let_exactly_one_through(app: TestApp) {
        let session = app.register("13600000003", "racer").await;
        let attempts = (0..6).map(|_| refresh(&app, &session.refresh_token));
        let responses = futures::future::join_all(attempts).await;
        let winners = responses.iter().filter(|r| r.body.get("errors").is_none()).count();
        assert_eq!(winners, 1, "{responses:?}");
    }

    async fn logout_ends_the_login_and_an_unknown_token_is_reported(app: TestApp) {
        let session = app.register("13600000004", "leaver").await;
        let out = app.graphql(LOGOUT, json!({ "token": session.refresh_token })).await;
        assert_eq!(out.data()["logout"], true);
        refresh(&app, &session.refresh_token).await.expect_error("UNAUTHENTICATED", None);
        let unknown = app.graphql(LOGOUT, json!({ "token": "never-issued" })).await;
        assert_eq!(unknown.data()["logout"], false);
        refresh(&app, "never-issued").await.expect_error("UNAUTHENTICATED", None);
    }

    async fn expired_forged_and_malformed_access_tokens_are_unauthenticated(app: TestApp) {
        let session = app.register("13600000005", "holder").await;
        let sub = subject(&session);
        let now = chrono::Utc::now().timestamp();
        let expired = signed(json!({ "sub": sub, "iat": now - 3600, "exp": now - 60, "typ": "access" }), Algorithm::HS256, SECRET);
        let forged = signed(json!({ "sub": sub, "iat": now, "exp": now + 600, "typ": "access" }), Algorithm::HS256, b"another-secret-another-secret-xx");
        let other_algorithm = signed(json!({ "sub": sub, "iat": now, "exp": now + 600, "typ": "access" }), Algorithm::HS512, SECRET);
        let valid = signed(json!({ "sub": sub, "iat": now, "exp": now + 600, "typ": "access" }), Algorithm::HS256, SECRET);
        let unsigned = format!("{}.", valid.rsplit_once('.').unwrap().0.replacen("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJub25lIn0", 1));
        for token in [expired.as_str(), forged.as_str(), other_algorithm.as_str(), unsigned.as_str(), "garbage"] {
            app.graphql_from(Some(token), "10.0.0.1", ME, json!({})).await.expect_error("UNAUTHENTICATED", None);
        }
        // The same claims, properly signed, work: the refusals above were for the reasons tested.
        let me = app.graphql_from(Some(&valid), "10.0.0.1", ME, json!({})).await;
        assert_eq!(me.data()["me"]["id"], session.volunteer_id.as_str());
        // A bad token does not stop public fields from answering.
        let areas = app.graphql_from(Some("garbage"), "10.0.0.1", "{ areas { code } }", json!({})).await;
        assert_eq!(areas.data()["areas"][0]["code"], "440600");
    }

    async fn failed_logins_for_a_phone_from_many_addresses_meet_growing_delays_not_a_lockout(app: TestApp) {
        // Registered from 10.0.0.1: the owner's own network from now on.
        app.register("13600000006", "target").await;
        for attempt in 0..5 {
            let response = app.graphql_from(None, &format!("10.1.0.{attempt}"), LOGIN, json!({ "phone": "13600000006", "password": "guess-number-x" })).await;
            response.expect_error("UNAUTHENTICATED", None);
        }
        // A sixth address must wait (the delay doubles with each further attempt)...
        let limited = app.graphql_from(None, "10.2.0.1", LOGIN, json!({ "phone": "13600000006", "password": "patrol-at-dusk-2026" })).await;
        limited.expect_error("RATE_LIMITED", None);
        let retry_after = limited.body["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
        assert_eq!(retry_after, 1);
        // ...while the owner on their own network is not slowed at all.
        app.graphql_from(None, "10.0.0.1", LOGIN, json!({ "phone": "13600000006", "password": "patrol-at-dusk-2026" })).await.data();
        // Other phones are not affected.
        app.register("13600000007", "bystander").await;
        app.graphql_from(None, "10.2.0.1", LOGIN, json!({ "phone": "13600000007", "password": "patrol-at-dusk-2026" })).await.data();
    }

    async fn repeated_failed_logins_from_one_address_are_rate_limited(app: TestApp) {
        app.register("13600000008", "someone").await;
        for n in 0..100 {
            let phone = format!("1350000{n:04}");
            app.graphql_from(None, "10.9.9.9", LOGIN, json!({ "phone": phone, "password": "guess-number-x" })).await
                .expect_error("UNAUTHENTICATED", None);
        }
        app.graphql_from(None, "10.9.9.9", LOGIN, json!({ "phone": "13600000008", "password": "patrol-at-dusk-2026" })).await
            .expect_error("RATE_LIMITED", None);
        app.graphql_from(None, "10.9.9.10", LOGIN, json!({ "phone": "13600000008", "password": "patrol-at-dusk-2026" })).await.data();
    }

    async fn failed_logins_count_across_api_nodes(app: TestApp) {
        // Two nodes on one database: with Redis the count is shared; without Redis (SQLite, the
        // embedded setup, a single node) each node counts alone, which this test also pins down.
        let sibling = app.spawn_sibling().await;
        app.register("13600000009", "shared").await;
        for node in [&app, &sibling, &app, &sibling, &app] {
            node.graphql_from(None, "10.3.0.1", LOGIN, json!({ "phone": "13600000009", "password": "guess-number-x" })).await
                .expect_error("UNAUTHENTICATED", None);
        }
        // The sixth attempt for the phone, from an address it never used: the growing delays
        // start where all five attempts are counted.
        let next = sibling.graphql_from(None, "10.3.0.2", LOGIN, json!({ "phone": "13600000009", "password": "patrol-at-dusk-2026" })).await;
        if app.config.redis_url.is_some() {
            next.expect_error("RATE_LIMITED", None);
        } else {
            next.data();
        }
    }

    async fn a_signed_token_that_outlives_the_access_token_policy_is_refused(app: TestApp) {
        let session = app.register("13600000010", "forger").await;
        let sub = subject(&session);
        let now = chrono::Utc::now().timestamp();
        let ten_years = 10 * 365 * 24 * 3600;
        for claims in [
            json!({ "sub": sub, "iat": now, "exp": now + ten_years, "typ": "access" }),
            json!({ "sub": sub, "exp": now + 600, "typ": "access" }),
            json!({ "sub": sub, "iat": now + 3600, "exp": now + 3900, "typ": "access" }),
            json!({ "sub": sub, "iat": now - 60, "exp": now + 15 * 60, "typ": "access" }),
            json!({ "sub": sub, "iat": now, "exp": now + 600, "nbf": now + 300, "typ": "access" }),
        ] {
            let token = signed(claims.clone(), Algorithm::HS256, SECRET);
            let response = app.graphql_from(Some(&token), "10.0.0.1", ME, json!({})).await;
            assert_eq!(response.error_code(), "UNAUTHENTICATED", "{claims}: {}", response.body);
        }
        // The same secret with a lifetime within the policy, and an nbf already passed, works.
        let fine = signed(json!({ "sub": sub, "iat": now, "exp": now + 15 * 60, "nbf": now - 1, "typ": "access" }), Algorithm::HS256, SECRET);
        let me = app.graphql_from(Some(&fine), "10.0.0.1", ME, json!({})).await;
        assert_eq!(me.data()["me"]["id"], session.volunteer_id.as_str());
    }
}
