//! `deleteMyAccount`: what is gone, what remains, re-registration, waitlist promotion, refusals.

use std::time::Duration;

use feihong_tests::fixtures::{EVENT_LAT, EVENT_LNG};
use feihong_tests::{EventSpec, Session, TEST_PASSWORD, TestApp, on_every_backend};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

const DELETE: &str = "mutation($password: String!) { deleteMyAccount(password: $password) }";
const ME: &str = "{ me { id displayName } }";
const CHECK_IN: &str = "mutation($signUp: ID!, $position: PositionInput) { checkIn(signUpId: $signUp, position: $position) { checkInAt } }";
const CERTIFICATE: &str = "mutation { issueServiceCertificate { code } }";
const VERIFY: &str = "query($code: String!) { verifyCertificate(code: $code) { valid holderMaskedName totalMinutes } }";
const SIGN_UP_STATUS: &str = "query($id: ID!) { node(id: $id) { ... on SignUp { status } } }";
const TEAM_MINUTES: &str = "query($id: ID!) { team(id: $id) { serviceMinutes } }";
const CITY_BOARD: &str = "{ leaderboard(scope: {city: true}, period: ALL_TIME, first: 100) { entries { volunteer { id } minutes } } }";
const REFRESH: &str =
    "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken } }";

fn days_ago(days: i64) -> String {
    (chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        - chrono::Duration::days(days))
    .to_string()
}

async fn delete(app: &TestApp, session: &Session, password: &str) -> feihong_tests::Response {
    app.graphql_as(session, DELETE, json!({ "password": password }))
        .await
}

/// Whether the city board lists the volunteer, once the board has caught up with the database
/// (the leaderboard worker applies changes after commit): asked until it says `expected`.
async fn city_board_lists(app: &TestApp, volunteer: &str, expected: bool) -> bool {
    let anyone = app.volunteer().await;
    for _ in 0..100 {
        let board = app.graphql_as(&anyone, CITY_BOARD, json!({})).await;
        let listed = board.data()["leaderboard"]["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|entry| entry["volunteer"]["id"] == volunteer);
        if listed == expected {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    !expected
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let db = app.database().await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a count")
}

on_every_backend! {
    async fn erasure_wipes_the_person_keeps_their_minutes_and_promotes_the_waitlist(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let waiter = app.member(&team).await;
        app.approved_minutes(&team, &member, 120, &days_ago(3)).await;
        let code = app.graphql_as(&member, CERTIFICATE, json!({})).await.data()["issueServiceCertificate"]["code"]
            .as_str().expect("code").to_owned();
        assert!(city_board_lists(&app, &member.volunteer_id, true).await);
        // Checked in early (with a position) to an event about to start…
        let soon = app.event(&team.leader, &team.id, EventSpec { starts_in: 10, ..Default::default() }).await;
        let attended = app.sign_up(&member, &soon, None).await.data()["signUp"]["id"].as_str().unwrap().to_owned();
        app.graphql_as(&member, CHECK_IN, json!({ "signUp": attended, "position": { "lat": EVENT_LAT, "lng": EVENT_LNG } })).await.data();
        // …and holding the only seat of a later one, with someone waiting.
        let later = app.event(&team.leader, &team.id, EventSpec { capacity: 1, ..Default::default() }).await;
        assert_eq!(app.sign_up(&member, &later, None).await.data()["signUp"]["status"], "CONFIRMED");
        let waiting = app.sign_up(&waiter, &later, None).await;
        assert_eq!(waiting.data()["signUp"]["status"], "WAITLISTED");
        let waiting = waiting.data()["signUp"]["id"].as_str().unwrap().to_owned();

        app.graphql_as(&member, "mutation { setRealName(name: \"黄飞鸿\", idNumber: \"440604199003071236\") { realNameVerified } }", json!({})).await.data();

        assert_eq!(delete(&app, &member, TEST_PASSWORD).await.data()["deleteMyAccount"], true);

        // Gone: the access token (at once), the refresh token, the sign-in, the name, the phone,
        // the positions, the name search grams, the leaderboard lines.
        app.graphql_as(&member, ME, json!({})).await.expect_error("UNAUTHENTICATED", None);
        app.graphql(REFRESH, json!({ "token": member.refresh_token })).await.expect_error("UNAUTHENTICATED", None);
        app.graphql("mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { accessToken } }",
            json!({ "p": member.phone, "w": TEST_PASSWORD })).await.expect_error("UNAUTHENTICATED", None);
        let id = member_row_id(&app, &member).await;
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM volunteers WHERE id = {id} AND display_name = '已注销' AND deleted_at IS NOT NULL AND phone <> '{}'", member.phone)).await, 1);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM volunteer_name_grams WHERE volunteer_id = {id}")).await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM refresh_tokens WHERE volunteer_id = {id} AND revoked_at IS NULL")).await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM attendances WHERE volunteer_id = {id}")).await, 1);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM attendances WHERE volunteer_id = {id} AND (check_in_lat IS NOT NULL OR check_in_lng IS NOT NULL)")).await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM memberships WHERE volunteer_id = {id} AND status = 'ACTIVE'")).await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM notifications WHERE volunteer_id = {id}")).await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM volunteer_real_names WHERE volunteer_id = {id}")).await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM tallies WHERE volunteer_id = {id}")).await, 0);
        assert!(!city_board_lists(&app, &member.volunteer_id, false).await);

        // The seat went to the waitlist.
        let promoted = app.graphql_as(&waiter, SIGN_UP_STATUS, json!({ "id": waiting })).await;
        assert_eq!(promoted.data()["node"]["status"], "CONFIRMED");

        // Remains: the team's minutes, and the certificate, naming nobody.
        let minutes = app.graphql_as(&team.leader, TEAM_MINUTES, json!({ "id": team.id })).await;
        assert_eq!(minutes.data()["team"]["serviceMinutes"], 120);
        let verified = app.graphql(VERIFY, json!({ "code": code })).await;
        assert_eq!(verified.data()["verifyCertificate"]["valid"], true);
        assert_eq!(verified.data()["verifyCertificate"]["holderMaskedName"], "已注销");
        assert_eq!(verified.data()["verifyCertificate"]["totalMinutes"], 120);

        // The phone registers again, as a new person with nothing of the old one.
        let again = app.register(&member.phone, "新来的").await;
        assert_ne!(again.volunteer_id, member.volunteer_id);
        let me = app.graphql_as(&again, "{ me { displayName serviceMinutes } }", json!({})).await;
        assert_eq!(me.data()["me"]["displayName"], "新来的");
        assert_eq!(me.data()["me"]["serviceMinutes"], 0);
    }

    async fn a_wrong_password_erases_nothing_and_is_throttled(app: TestApp) {
        let member = app.volunteer().await;
        delete(&app, &member, "not-the-password-1").await.expect_error("BAD_USER_INPUT", Some("password"));
        assert_eq!(app.graphql_as(&member, ME, json!({})).await.data()["me"]["id"], member.volunteer_id.as_str());
        let mut limited = false;
        for attempt in 0..15 {
            let answer = delete(&app, &member, &format!("wrong-password-{attempt}")).await;
            if answer.error_code() == "RATE_LIMITED" {
                limited = true;
                break;
            }
            answer.expect_error("BAD_USER_INPUT", Some("password"));
        }
        assert!(limited, "wrong passwords were never throttled");
        app.graphql_as(&member, ME, json!({})).await.data();
    }

    async fn a_teams_only_leader_is_refused_until_they_hand_over(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        delete(&app, &team.leader, TEST_PASSWORD).await.expect_error("CONFLICT", None);
        // Nothing was erased.
        app.graphql_as(&team.leader, ME, json!({})).await.data();
        let minutes = app.graphql_as(&team.leader, TEAM_MINUTES, json!({ "id": team.id })).await;
        minutes.data();
    }

    async fn erasure_needs_a_signed_in_volunteer(app: TestApp) {
        app.graphql(DELETE, json!({ "password": TEST_PASSWORD })).await.expect_error("UNAUTHENTICATED", None);
    }
}

/// The database id of a session's volunteer.
async fn member_row_id(_app: &TestApp, member: &Session) -> i64 {
    decode(&member.volunteer_id)
}

/// The number inside a global ID (URL-safe base64 of `Type:number`).
fn decode(global_id: &str) -> i64 {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global_id)
        .expect("base64url");
    String::from_utf8(raw)
        .expect("utf8")
        .split_once(':')
        .expect("Type:number")
        .1
        .parse()
        .expect("a number")
}
