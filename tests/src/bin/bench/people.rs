//! Benchmark volunteers and events made fast: volunteer rows inserted with SQL as the generator
//! writes them, and access tokens signed the way the server signs them (with the test harness's
//! secret), so a thousand clients need neither a password hash nor a login each. Events are
//! created and published through the API by a leader, as an app would.

use std::time::Duration;

use chrono::{DateTime, Utc};
use feihong_api::graphql::ids::{NodeType, decode, encode};
use feihong_api::seed::generate::DUMMY_HASH;
use feihong_domain::ids::VolunteerId;
use feihong_domain::tokens::AccessTokens;
use feihong_tests::TOKEN_SECRET;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
use serde_json::json;

use crate::measure;

/// Signs access tokens as the server under test does.
pub struct Minter(AccessTokens);

impl Minter {
    pub fn new(ttl: Duration) -> Self {
        Self(AccessTokens::new(TOKEN_SECRET, ttl).expect("the test secret is long enough"))
    }

    /// A fresh access token of `volunteer` (valid for the server's access-token lifetime).
    pub fn token(&self, volunteer: i64) -> String {
        self.0
            .issue(VolunteerId(volunteer), "bench")
            .expect("a signed token")
            .token
    }
}

/// The rows of a query, each as its columns' text (`::text` them in the query).
pub async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|error| panic!("{error}: {sql}"));
    rows.iter()
        .map(|row| {
            (0..)
                .map_while(|index| row.try_get_by_index::<String>(index).ok())
                .collect()
        })
        .collect()
}

/// Inserts `count` registered volunteers (phones `prefix` + 9 digits, named `name` + n, living
/// in the first town) and returns their ids.
pub async fn insert_volunteers(
    db: &DatabaseConnection,
    count: usize,
    prefix: &str,
    name: &str,
) -> Vec<i64> {
    let sql = format!(
        "INSERT INTO volunteers (phone, password_hash, display_name, area_id, created_at, \
           updated_at, show_on_leaderboards) \
         SELECT '{prefix}' || lpad(g::text, 9, '0'), '{DUMMY_HASH}', '{name}' || g, \
           (SELECT id FROM areas WHERE level = 'TOWN' ORDER BY id LIMIT 1), now(), now(), true \
         FROM generate_series(1, {count}) g ON CONFLICT DO NOTHING"
    );
    rows(db, &sql).await;
    // Those made by an earlier run on a reused database (`--reuse-database`) serve again.
    let phones = format!(
        "SELECT id::text FROM volunteers WHERE phone IN \
           (SELECT '{prefix}' || lpad(g::text, 9, '0') FROM generate_series(1, {count}) g) \
         ORDER BY id"
    );
    rows(db, &phones)
        .await
        .iter()
        .map(|row| row[0].parse().expect("an id"))
        .collect()
}

/// A leader of team 1 (the generator makes one per team).
pub async fn team_one_leader(db: &DatabaseConnection) -> i64 {
    let found = rows(
        db,
        "SELECT volunteer_id::text FROM memberships WHERE team_id = 1 AND role = 'LEADER' \
         AND status = 'ACTIVE' ORDER BY volunteer_id LIMIT 1",
    )
    .await;
    found[0][0].parse().expect("an id")
}

/// An event the benchmark creates.
pub struct NewEvent<'a> {
    pub title: &'a str,
    pub starts_at: DateTime<Utc>,
    pub hours: i64,
    pub capacity: i64,
    pub lat: f64,
    pub lng: f64,
}

/// Creates and publishes a public event of team 1 as its leader; its global ID.
pub async fn publish_event(
    client: &reqwest::Client,
    url: &str,
    leader_token: &str,
    event: &NewEvent<'_>,
) -> String {
    let ends_at = event.starts_at + chrono::Duration::hours(event.hours);
    let created = measure::call(
        client,
        url,
        Some(leader_token),
        "mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }",
        json!({ "input": {
            "teamId": encode(NodeType::Team, 1).0, "kind": "PATROL", "title": event.title,
            "startsAt": event.starts_at.to_rfc3339(), "endsAt": ends_at.to_rfc3339(),
            "capacity": event.capacity,
            "location": { "address": "顺德区大良街道", "lat": event.lat, "lng": event.lng,
                          "radiusM": 500 } } }),
    )
    .await;
    let id = created["createEvent"]["id"]
        .as_str()
        .expect("an event id")
        .to_owned();
    measure::call(
        client,
        url,
        Some(leader_token),
        "mutation($id: ID!) { publishEvent(eventId: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    id
}

/// The number behind a global ID.
pub fn number(global: &str) -> i64 {
    decode(global).expect("a global ID").1
}

/// The global ID of volunteer `id`.
pub fn global_volunteer(id: i64) -> String {
    encode(NodeType::Volunteer, id).0
}
