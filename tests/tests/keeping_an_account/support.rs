//! What the tests of this area share.

use feihong_tests::{Response, Session, TestApp};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;

pub const ME: &str = "{ me { id } }";
pub const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
pub const CHANGE_PASSWORD: &str = "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) }";
pub const LOGIN: &str = "mutation($phone: String!, $password: String!) { login(phone: $phone, password: $password) { accessToken refreshToken volunteer { id } } }";

pub async fn refresh(app: &TestApp, token: &str) -> Response {
    app.graphql(REFRESH, json!({ "token": token })).await
}

pub async fn login(app: &TestApp, phone: &str, password: &str) -> Response {
    app.graphql(LOGIN, json!({ "phone": phone, "password": password }))
        .await
}

pub async fn change_password(app: &TestApp, who: &Session, current: &str, new: &str) -> Response {
    app.graphql_as(
        who,
        CHANGE_PASSWORD,
        json!({ "current": current, "new": new }),
    )
    .await
}

/// The audit entries with this action: (actor id, entity id).
pub async fn audit_entries(app: &TestApp, action: &str) -> Vec<(Option<i64>, i64)> {
    let db = app.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT actor_id, entity_id FROM audit_entries WHERE action = '{action}' ORDER BY id"
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get::<Option<i64>>("", "actor_id").unwrap(),
                row.try_get::<i64>("", "entity_id").unwrap(),
            )
        })
        .collect()
}
