//! `exportMyData` and `GET /me/export.json`: everything held about the caller, nothing about
//! anyone else, every table referring to a volunteer accounted for.

use std::collections::{BTreeMap, BTreeSet};

use feihong_tests::fixtures::{EVENT_LAT, EVENT_LNG};
use feihong_tests::{EventSpec, Session, TeamFixture, TestApp, on_every_backend};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

const EXPORT: &str = "{ exportMyData }";
const CHECK_IN: &str = "mutation($signUp: ID!, $position: PositionInput) { checkIn(signUpId: $signUp, position: $position) { checkInAt } }";
const MESSAGE: &str = "mutation($team: ID!, $text: String!) { messageTeam(teamId: $team, text: $text) { recipients } }";
const CERTIFICATE: &str = "mutation { issueServiceCertificate { code } }";

/// Tables that refer to a volunteer but are not exported, and why. Adding a table that refers
/// to a volunteer means adding it to the export's `SECTIONS` (domain/src/privacy/export.rs) or
/// here, with the reason.
const NOT_PERSONAL: &[(&str, &str)] = &[
    // Derived from `volunteers.display_name` (exported in the profile) for the admins' name
    // search; holds nothing else.
    ("volunteer_name_grams", "a search index of the display name"),
    // A queue of leaderboard updates derived from approved service records (exported), deleted
    // once delivered.
    (
        "leaderboard_outbox",
        "a transient work queue derived from service records",
    ),
    // Aggregate statistics: a bitmap of ids for distinct counts, no row per person.
    ("stats_place_periods", "aggregate counts"),
    // A team's events and schedules; `created_by` names the leader who wrote them, which the
    // audit entries (exported, as actor) record too.
    ("events", "the team's events"),
    ("patrol_schedules", "the team's schedules"),
];

/// Whether a column refers to a volunteer (by id or by name).
fn refers_to_a_volunteer(column: &str) -> bool {
    column == "volunteer_id"
        || column == "volunteers"
        || column == "actor_id"
        || column == "reviewer_id"
        || column.ends_with("_by")
        || column.starts_with("holder")
}

async fn tables_and_columns(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let db = app.database().await;
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        _ => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = current_schema()"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("catalogue");
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        let table: String = row.try_get("", "t").expect("table");
        let column: String = row.try_get("", "c").expect("column");
        out.entry(table).or_default().push(column);
    }
    out
}

fn sections(document: &Value) -> BTreeMap<String, Vec<Value>> {
    document["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|section| {
            (
                section["table"].as_str().expect("table").to_owned(),
                section["rows"].as_array().expect("rows").clone(),
            )
        })
        .collect()
}

async fn export(app: &TestApp, session: &Session) -> Value {
    let answer = app.graphql_as(session, EXPORT, json!({})).await;
    serde_json::from_str(answer.data()["exportMyData"].as_str().expect("a string")).expect("JSON")
}

/// A member with one of everything: a membership, a sign-up (with an idempotency key), an
/// attendance with its position, approved minutes, a team message, a certificate.
async fn member_with_everything(app: &TestApp, team: &TeamFixture, key: &str) -> Session {
    let member = app.member(team).await;
    let event = app
        .event(
            &team.leader,
            &team.id,
            EventSpec {
                starts_in: 10,
                lasts: 60,
                ..Default::default()
            },
        )
        .await;
    let signed = app.sign_up(&member, &event, Some(key)).await;
    let sign_up = signed.data()["signUp"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.graphql_as(&member, CHECK_IN, json!({ "signUp": sign_up, "position": { "lat": EVENT_LAT, "lng": EVENT_LNG, "accuracyM": 5.0 } }))
        .await
        .data();
    let day = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        - chrono::Duration::days(2);
    app.approved_minutes(team, &member, 90, &day.to_string())
        .await;
    app.graphql_as(&member, CERTIFICATE, json!({})).await.data();
    member
}

on_every_backend! {
    async fn every_table_referring_to_a_volunteer_is_exported_or_explained(app: TestApp) {
        let member = app.volunteer().await;
        let exported: BTreeSet<String> = sections(&export(&app, &member).await).into_keys().collect();
        let explained: BTreeSet<&str> = NOT_PERSONAL.iter().map(|(table, _)| *table).collect();
        let mut missing = Vec::new();
        for (table, columns) in tables_and_columns(&app).await {
            let personal = table == "volunteers" || columns.iter().any(|c| refers_to_a_volunteer(c));
            if personal && !exported.contains(&table) && !explained.contains(table.as_str()) {
                missing.push(format!("{table} ({})", columns.join(", ")));
            }
        }
        assert!(missing.is_empty(), "tables holding personal data missing from the export: {missing:?}");
        // And the allow-list names real tables (a renamed table is not silently explained).
        let tables = tables_and_columns(&app).await;
        for (table, _) in NOT_PERSONAL {
            assert!(tables.contains_key(*table), "{table} is not a table");
        }
    }

    async fn an_export_holds_all_of_the_callers_data_and_nothing_of_anyone_else(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = member_with_everything(&app, &team, "mine-1").await;
        let other = member_with_everything(&app, &team, "theirs-1").await;
        app.graphql_as(&team.leader, MESSAGE, json!({ "team": team.id, "text": "明早七点集合" })).await.data();

        let document = export(&app, &member).await;
        assert_eq!(document["format"], "feihong-export/1");
        let me = document["volunteerId"].as_i64().expect("volunteerId");
        let sections = sections(&document);
        for table in ["volunteers", "memberships", "sign_ups", "attendances", "service_records",
            "notifications", "certificates", "certificate_records", "refresh_tokens",
            "idempotency_records", "audit_entries", "tallies"] {
            assert!(!sections[table].is_empty(), "{table} is empty in {document:#}");
        }
        let profile = &sections["volunteers"][0];
        assert_eq!(profile["phone"], member.phone);
        assert!(profile.get("password_hash").is_none());
        let attendance = &sections["attendances"][0];
        // Positions are stored as single-precision floats: equal to within a few centimetres.
        let lat = attendance["check_in_lat"].as_f64().expect("a latitude");
        let lng = attendance["check_in_lng"].as_f64().expect("a longitude");
        assert!((lat - EVENT_LAT).abs() < 1e-5 && (lng - EVENT_LNG).abs() < 1e-5, "{attendance}");
        assert_eq!(sections["service_records"][0]["minutes"].as_i64(), Some(90));
        assert!(sections["notifications"].iter().any(|row| row["message"].as_str().is_some_and(|m| m.ends_with("明早七点集合"))), "{document:#}");
        assert!(sections["refresh_tokens"].iter().all(|row| row.get("token_hash").is_none()));
        assert!(sections["idempotency_records"].iter().all(|row| row.get("response").is_none()));
        // Audit entries about the member: the review of their hours (by the leader).
        assert!(sections["audit_entries"].iter().any(|row| row["entity_type"] == "service_record"), "{document:#}");

        // Every row names the member wherever a row names a volunteer; the other member's phone
        // appears nowhere.
        for (table, rows) in &sections {
            for row in rows {
                if let Some(owner) = row.get("volunteer_id") {
                    assert_eq!(owner.as_i64(), Some(me), "{table}: {row}");
                }
            }
        }
        assert!(!document.to_string().contains(&other.phone));
    }

    async fn the_export_downloads_as_an_attachment_with_a_bearer_token_only(app: TestApp) {
        let member = app.volunteer().await;
        let anonymous = app.http().get(app.url("/me/export.json")).send().await.expect("answer");
        assert_eq!(anonymous.status().as_u16(), 401);
        let download = app.http().get(app.url("/me/export.json")).bearer_auth(&member.access_token).send().await.expect("answer");
        assert_eq!(download.status().as_u16(), 200);
        let disposition = download.headers()["content-disposition"].to_str().expect("text").to_owned();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        let document: Value = download.json().await.expect("JSON");
        assert_eq!(sections(&document)["volunteers"][0]["phone"], member.phone);
    }

    async fn exports_are_limited_per_volunteer_and_anonymous_callers_get_none(app: TestApp) {
        app.graphql(EXPORT, json!({})).await.expect_error("UNAUTHENTICATED", None);
        let member = app.volunteer().await;
        let someone_else = app.volunteer().await;
        for _ in 0..4 {
            export(&app, &member).await;
        }
        // The download counts too: this is the fifth.
        let download = app.http().get(app.url("/me/export.json")).bearer_auth(&member.access_token).send().await.expect("answer");
        assert_eq!(download.status().as_u16(), 200);
        app.graphql_as(&member, EXPORT, json!({})).await.expect_error("RATE_LIMITED", None);
        let refused = app.http().get(app.url("/me/export.json")).bearer_auth(&member.access_token).send().await.expect("answer");
        assert_eq!(refused.status().as_u16(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        // Another volunteer is not held back.
        export(&app, &someone_else).await;
    }
}
