//! `changePassword`.

use feihong_tests::{TEST_PASSWORD, TestApp, on_every_backend};
use serde_json::json;

use super::support::*;

const NEW_PASSWORD: &str = "lanterns-on-the-river-9";

on_every_backend! {
    async fn changing_the_password_keeps_this_login_and_ends_the_others(app: TestApp) {
        let here = app.register("13700000001", "换密码的人").await;
        let elsewhere = app.login("13700000001").await;
        let answer = change_password(&app, &here, TEST_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(answer.data()["changePassword"], true);
        // This login goes on: its access token works and its refresh token still refreshes.
        let me = app.graphql_as(&here, ME, json!({})).await;
        assert_eq!(me.data()["me"]["id"], here.volunteer_id.as_str());
        refresh(&app, &here.refresh_token).await.data();
        // The other login is over.
        refresh(&app, &elsewhere.refresh_token).await.expect_error("UNAUTHENTICATED", None);
        // The old password no longer signs in; the new one does.
        login(&app, "13700000001", TEST_PASSWORD).await.expect_error("UNAUTHENTICATED", None);
        login(&app, "13700000001", NEW_PASSWORD).await.data();
    }

    async fn a_password_change_is_audited_as_a_security_event(app: TestApp) {
        let who = app.register("13700000002", "审计").await;
        change_password(&app, &who, TEST_PASSWORD, NEW_PASSWORD).await.data();
        let entries = audit_entries(&app, "password_changed").await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, Some(entries[0].1), "the volunteer changed their own password");
    }

    async fn a_wrong_current_password_is_refused_and_changes_nothing(app: TestApp) {
        let who = app.register("13700000003", "忘了").await;
        let other = app.login("13700000003").await;
        change_password(&app, &who, "not-my-password-1", NEW_PASSWORD)
            .await
            .expect_error("BAD_USER_INPUT", Some("currentPassword"));
        login(&app, "13700000003", TEST_PASSWORD).await.data();
        refresh(&app, &other.refresh_token).await.data();
        assert!(audit_entries(&app, "password_changed").await.is_empty());
    }

    async fn wrong_current_passwords_are_counted_by_the_sign_in_throttle(app: TestApp) {
        let who = app.register("13700000004", "猜密码").await;
        // 10 attempts per phone and address per 15 minutes, as for `login`.
        for attempt in 0..10 {
            let answer = change_password(&app, &who, &format!("guess-number-{attempt}"), NEW_PASSWORD).await;
            assert_ne!(answer.error_code(), "RATE_LIMITED", "attempt {attempt}");
        }
        change_password(&app, &who, TEST_PASSWORD, NEW_PASSWORD)
            .await
            .expect_error("RATE_LIMITED", None);
        // Signing in from the same address is limited by the same counters.
        login(&app, "13700000004", TEST_PASSWORD).await.expect_error("RATE_LIMITED", None);
    }

    async fn the_new_password_follows_the_registration_rules(app: TestApp) {
        let who = app.register("13700000005", "规则").await;
        for weak in ["short", "13700000005", "password123"] {
            change_password(&app, &who, TEST_PASSWORD, weak)
                .await
                .expect_error("BAD_USER_INPUT", Some("newPassword"));
        }
        login(&app, "13700000005", TEST_PASSWORD).await.data();
    }

    async fn only_a_signed_in_volunteer_may_change_a_password(app: TestApp) {
        let answer = app
            .graphql(CHANGE_PASSWORD, json!({ "current": TEST_PASSWORD, "new": NEW_PASSWORD }))
            .await;
        answer.expect_error("UNAUTHENTICATED", None);
    }
}
