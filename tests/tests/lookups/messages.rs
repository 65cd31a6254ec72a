//! `messageTeam`: leaders and deputies tell every ACTIVE member something, live and in
//! `myNotifications`; bounded, rate-limited per team, audited; nobody else may.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeZone as _, Utc};
use feihong_tests::{Session, TestApp, on_every_backend};
use sea_orm::ConnectionTrait as _;
use sea_orm::sea_query::{Alias, Query};
use serde_json::{Value, json};

use crate::support::{NewEvent, create_event};

const MESSAGE_TEAM: &str = "mutation($team: ID!, $text: String!) {
  messageTeam(teamId: $team, text: $text) { recipients sentAt team { id } }
}";
const MY_NOTIFICATIONS: &str =
    "{ myNotifications(first: 100) { totalCount nodes { kind message event { id } } } }";
const MY_UPDATES: &str =
    "subscription { mySignUpUpdates { kind message signUp { id } event { id } } }";
const EVENT_UPDATES: &str = "subscription($id: ID!) { eventUpdates(eventId: $id) { id } }";
const SET_ROLE: &str = "mutation($team: ID!, $volunteer: ID!, $role: MemberRole!) {
  setMemberRole(teamId: $team, volunteerId: $volunteer, role: $role) { role }
}";
const AUDIT: &str = "query($team: ID!) {
  auditLog(filter: { teamId: $team, action: \"team.message\" }, first: 100) { totalCount nodes { action actor { id } after } }
}";
const JOIN_TEAM: &str = "mutation($id: ID!) { joinTeam(teamId: $id) { status } }";

async fn messages(app: &TestApp, session: &Session) -> Vec<Value> {
    let answer = app.graphql_as(session, MY_NOTIFICATIONS, json!({})).await;
    answer.data()["myNotifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "MESSAGE")
        .cloned()
        .collect()
}

/// The number inside a global ID.
fn number_of(id: &str) -> i64 {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).unwrap()).unwrap();
    raw.split_once(':').unwrap().1.parse().unwrap()
}

/// `count` volunteers written straight into the database as ACTIVE members of the team
/// (registering them through the API would take the registration limit and minutes).
async fn add_members(app: &TestApp, team: i64, count: usize) {
    let db = app.database().await;
    let area = number_of(&app.area_id("440604").await);
    let now = Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap();
    let columns = [
        "phone",
        "password_hash",
        "display_name",
        "area_id",
        "show_on_leaderboards",
        "created_at",
        "updated_at",
    ];
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new("volunteers"))
            .columns(columns.map(Alias::new));
        for i in chunk {
            insert.values_panic([
                format!("1382{i:07}").into(),
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
                format!("队员{i:04}").into(),
                area.into(),
                true.into(),
                now.into(),
                now.into(),
            ]);
        }
        db.execute(&insert).await.unwrap();
    }
    db.execute_unprepared(&format!(
        "INSERT INTO memberships (team_id, volunteer_id, role, status, created_at, updated_at) \
         SELECT {team}, id, 'MEMBER', 'ACTIVE', created_at, updated_at FROM volunteers WHERE phone LIKE '1382%'"
    ))
    .await
    .unwrap();
}

on_every_backend! {
    async fn a_message_reaches_every_member_of_a_team_of_thousands(app: TestApp) {
        let team = app.team("佛山功夫巡逻大队", "440604", "OPEN").await;
        let listener = app.member(&team).await;
        add_members(&app, number_of(&team.id), 2_000).await;
        let event = create_event(&app, &team.leader, &team.id, NewEvent::default()).await;
        let mut live = app.subscribe(Some(&listener), MY_UPDATES, json!({})).await.expect("signed in");
        live.start("ready", EVENT_UPDATES, json!({ "id": event })).await;
        assert_eq!(live.next_update().await.expect("snapshot").0, "ready");

        let sent = app.graphql_as(&team.leader, MESSAGE_TEAM, json!({ "team": team.id, "text": "台风预警，今晚巡逻取消" })).await;
        assert_eq!(sent.data()["messageTeam"]["recipients"], 2_002);
        // More recipients than a subscriber's backlog of changes, yet the listener hears it.
        let update = loop {
            let (id, payload) = live.next_update().await.expect("an update");
            if id == "1" {
                break payload["data"]["mySignUpUpdates"].clone();
            }
        };
        assert_eq!(update["kind"], "MESSAGE");
        let db = app.database().await;
        let written = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) AS n FROM notifications WHERE kind = 'MESSAGE'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(written, 2_002);
    }

    async fn a_leader_messages_every_active_member_live_and_in_their_notifications(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "APPROVAL").await;
        let (a, b) = (app.member(&team).await, app.member(&team).await);
        let asking = app.volunteer().await;
        app.graphql_as(&asking, JOIN_TEAM, json!({ "id": team.id })).await.data();
        let outsider = app.volunteer().await;
        // A listener on `a`'s updates, ready once an event subscription on the same socket answers.
        let event = create_event(&app, &team.leader, &team.id, NewEvent::default()).await;
        let mut live = app.subscribe(Some(&a), MY_UPDATES, json!({})).await.expect("signed in");
        live.start("ready", EVENT_UPDATES, json!({ "id": event })).await;
        assert_eq!(live.next_update().await.expect("snapshot").0, "ready");

        let sent = app.graphql_as(&team.leader, MESSAGE_TEAM, json!({ "team": team.id, "text": "今晚集合改到祖庙东门\n19:30" })).await;
        let sent = &sent.data()["messageTeam"];
        assert_eq!(sent["recipients"], 3, "the leader and the two members: {sent}");
        assert_eq!(sent["team"]["id"], json!(team.id));

        let update = loop {
            let (id, payload) = live.next_update().await.expect("an update");
            if id == "1" {
                break payload["data"]["mySignUpUpdates"].clone();
            }
        };
        assert_eq!(update["kind"], "MESSAGE");
        assert!(update["message"].as_str().unwrap().contains("今晚集合改到祖庙东门"), "{update}");
        assert!(update["signUp"].is_null() && update["event"].is_null());

        for member in [&a, &b, &team.leader] {
            let told = messages(&app, member).await;
            assert_eq!(told.len(), 1, "{told:?}");
            assert!(told[0]["message"].as_str().unwrap().contains("祖庙巡逻队"));
        }
        // Not a join request still pending, nor anyone outside the team.
        assert!(messages(&app, &asking).await.is_empty());
        assert!(messages(&app, &outsider).await.is_empty());

        // Audited, with the text and how many were told.
        let audit = app.graphql_as(&team.leader, AUDIT, json!({ "team": team.id })).await;
        let entries = &audit.data()["auditLog"];
        assert_eq!(entries["totalCount"], 1, "{entries}");
        assert_eq!(entries["nodes"][0]["actor"]["id"], json!(team.leader.volunteer_id));
        assert_eq!(entries["nodes"][0]["after"]["recipients"], 3);
    }

    async fn a_deputy_may_message_but_members_other_leaders_and_admins_may_not(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let other = app.team("南海巡逻队", "440605", "OPEN").await;
        let (member, deputy) = (app.member(&team).await, app.member(&team).await);
        app.graphql_as(&team.leader, SET_ROLE, json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "DEPUTY" })).await.data();
        let text = json!({ "team": team.id, "text": "明早七点集合" });

        let sent = app.graphql_as(&deputy, MESSAGE_TEAM, text.clone()).await;
        assert_eq!(sent.data()["messageTeam"]["recipients"], 3);
        app.graphql_as(&member, MESSAGE_TEAM, text.clone()).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&other.leader, MESSAGE_TEAM, text.clone()).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&team.admin, MESSAGE_TEAM, text.clone()).await.expect_error("FORBIDDEN", None);
        app.graphql(MESSAGE_TEAM, text).await.expect_error("UNAUTHENTICATED", None);
        // Only the deputy's message reached the member.
        assert_eq!(messages(&app, &member).await.len(), 1);
    }

    async fn a_message_is_bounded_plain_text_and_a_team_sends_only_a_few_an_hour(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let other = app.team("禅城巡逻队", "440604", "OPEN").await;
        let send = |team: &str, text: String| json!({ "team": team, "text": text });
        for bad in ["".to_owned(), "   ".to_owned(), "集".repeat(501), "集合\u{202E}txt".to_owned()] {
            app.graphql_as(&team.leader, MESSAGE_TEAM, send(&team.id, bad))
                .await
                .expect_error("BAD_USER_INPUT", Some("text"));
        }
        app.graphql_as(&team.leader, MESSAGE_TEAM, send(&team.id, "集".repeat(500))).await.data();
        for n in 2..=5 {
            app.graphql_as(&team.leader, MESSAGE_TEAM, send(&team.id, format!("第{n}条"))).await.data();
        }
        let refused = app.graphql_as(&team.leader, MESSAGE_TEAM, send(&team.id, "第6条".to_owned())).await;
        refused.expect_error("RATE_LIMITED", None);
        assert_eq!(messages(&app, &member).await.len(), 5);
        // The limit is the team's: another team's leader still sends.
        app.graphql_as(&other.leader, MESSAGE_TEAM, send(&other.id, "集合".to_owned())).await.data();
    }
}
