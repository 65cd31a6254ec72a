//! What the tests of this target share.

use chrono::{Duration, SubsecRound as _, Utc};
use feihong_tests::fixtures::{EVENT_LAT, EVENT_LNG};
use feihong_tests::{Session, TestApp};
use serde_json::{Value, json};

pub(crate) const CREATE_EVENT: &str =
    "mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }";
pub(crate) const PUBLISH_EVENT: &str = "mutation($id: ID!) { publishEvent(eventId: $id) { id } }";
pub(crate) const EVENTS: &str = "query($filter: EventFilter, $first: Int, $after: String) {
  events(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id title }
  }
}";

/// An event to create: texts, minutes from now, and visibility.
pub(crate) struct NewEvent<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub address: &'a str,
    pub starts_in: i64,
    pub lasts: i64,
    pub visibility: &'a str,
    pub publish: bool,
}

impl Default for NewEvent<'_> {
    fn default() -> Self {
        Self {
            title: "祖庙夜间巡逻",
            description: "",
            address: "佛山市禅城区祖庙路21号",
            starts_in: 24 * 60,
            lasts: 120,
            visibility: "PUBLIC",
            publish: true,
        }
    }
}

/// The leader creates (and by default publishes) the event; its id.
pub(crate) async fn create_event(
    app: &TestApp,
    leader: &Session,
    team_id: &str,
    event: NewEvent<'_>,
) -> String {
    let starts = (Utc::now() + Duration::minutes(event.starts_in)).trunc_subsecs(0);
    let input = json!({
        "teamId": team_id, "kind": "PUBLICITY", "title": event.title, "description": event.description,
        "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::minutes(event.lasts)).to_rfc3339(),
        "capacity": 10, "visibility": event.visibility,
        "location": { "address": event.address, "lat": EVENT_LAT, "lng": EVENT_LNG, "radiusM": 200 },
    });
    let created = app
        .graphql_as(leader, CREATE_EVENT, json!({ "input": input }))
        .await;
    let id = created.data()["createEvent"]["id"]
        .as_str()
        .expect("event id")
        .to_owned();
    if event.publish {
        app.graphql_as(leader, PUBLISH_EVENT, json!({ "id": id }))
            .await
            .data();
    }
    id
}

/// The ids of a connection's nodes, in order.
pub(crate) fn node_ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection}"))
        .iter()
        .map(|node| node["id"].as_str().expect("node id").to_owned())
        .collect()
}

/// The events `session` (or an anonymous caller) finds with `filter`: their ids, in order.
pub(crate) async fn find(app: &TestApp, session: Option<&Session>, filter: Value) -> Vec<String> {
    let variables = json!({ "filter": filter, "first": 100 });
    let answer = match session {
        Some(session) => app.graphql_as(session, EVENTS, variables).await,
        None => app.graphql(EVENTS, variables).await,
    };
    node_ids(&answer.data()["events"])
}
