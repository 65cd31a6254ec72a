//! What the tests of this target share: operations, fixtures and readers.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, SubsecRound as _, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use feihong_tests::{Session, TestApp};
use serde_json::{Value, json};

pub(crate) const CREATE_TEAM: &str = "mutation($input: CreateTeamInput!) {
  createTeam(input: $input) { id name kind joinPolicy area { code } parent { id } memberCount leaders { id } }
}";
pub(crate) const TEAM: &str = "query($id: ID!) {
  team(id: $id) { id name kind joinPolicy area { code } parent { id } subTeams { nodes { id } } memberCount leaders { id } }
}";
pub(crate) const TEAMS: &str = "query($filter: TeamFilter, $first: Int, $after: String) {
  teams(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id name } }
}";
pub(crate) const JOIN_TEAM: &str =
    "mutation($id: ID!) { joinTeam(teamId: $id) { id status role volunteer { id } } }";
pub(crate) const REVIEW_MEMBERSHIP: &str = "mutation($id: ID!, $approve: Boolean!) {
  reviewMembership(membershipId: $id, approve: $approve) { id status role }
}";
pub(crate) const SET_MEMBER_ROLE: &str = "mutation($team: ID!, $volunteer: ID!, $role: MemberRole!) {
  setMemberRole(teamId: $team, volunteerId: $volunteer, role: $role) { role status volunteer { id } }
}";
pub(crate) const LEAVE_TEAM: &str = "mutation($id: ID!) { leaveTeam(teamId: $id) { status role } }";
pub(crate) const MEMBERS: &str =
    "query($id: ID!, $first: Int, $after: String, $pending: Boolean!) {
  team(id: $id) { members(first: $first, after: $after, pending: $pending) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id role status phone volunteer { id phone } }
  } }
}";
pub(crate) const CREATE_EVENT: &str = "mutation($input: CreateEventInput!) {
  createEvent(input: $input) { id status title kind visibility capacity team { id } area { code } location { lat lng } }
}";
pub(crate) const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) {
  updateEvent(eventId: $id, input: $input) { id title status }
}";
pub(crate) const PUBLISH_EVENT: &str =
    "mutation($id: ID!) { publishEvent(eventId: $id) { id status } }";
pub(crate) const CANCEL_EVENT: &str = "mutation($id: ID!, $reason: String!) {
  cancelEvent(eventId: $id, reason: $reason) { id status cancelReason confirmedCount waitlistCount }
}";
pub(crate) const EVENT: &str = "query($id: ID!) {
  event(id: $id) { id title status visibility cancelReason confirmedCount waitlistCount viewerSignUp { id status } }
}";
pub(crate) const EVENTS: &str = "query($filter: EventFilter, $first: Int, $after: String) {
  events(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id title kind status visibility startsAt endsAt schedule { id } }
  }
}";
pub(crate) const ROSTER: &str = "query($id: ID!) { event(id: $id) { roster { totalCount } } }";
pub(crate) const MY_SIGN_UPS: &str =
    "{ mySignUps { totalCount nodes { id status event { id } } } }";
pub(crate) const MY_NOTIFICATIONS: &str =
    "{ myNotifications { totalCount nodes { kind message event { id } } } }";
pub(crate) const SCHEDULE_PATROLS: &str = "mutation($input: SchedulePatrolsInput!) {
  schedulePatrols(input: $input) { id status weekdays startTime durationMinutes from until }
}";
pub(crate) const CANCEL_SCHEDULE: &str = "mutation($id: ID!, $reason: String!) {
  cancelPatrolSchedule(scheduleId: $id, reason: $reason) { id status }
}";
pub(crate) const AUDIT_LOG: &str = "query($filter: AuditFilter!) {
  auditLog(filter: $filter, first: 100) { totalCount nodes { action entityType actor { id } before after } }
}";

/// Zumiao, Chancheng; a point about 1.1 km north of it, one about 560 m north; and Shunde.
pub(crate) const ZUMIAO: (f64, f64) = (23.0290, 113.1140);
pub(crate) const NORTH_1100M: (f64, f64) = (23.0390, 113.1140);
pub(crate) const NORTH_560M: (f64, f64) = (23.0340, 113.1140);
pub(crate) const SHUNDE: (f64, f64) = (22.805, 113.293);

/// The global ID of the area with this code, at any depth. (`TestApp::area_id` stops searching at
/// the first town list it reads, so it finds only the last district's towns.)
pub(crate) async fn area_id(app: &TestApp, code: &str) -> String {
    let data = app
        .graphql(
            "{ areas { id code children { id code children { id code } } } }",
            json!({}),
        )
        .await;
    let mut levels = vec![data.data()["areas"].clone()];
    while let Some(level) = levels.pop() {
        for area in level.as_array().into_iter().flatten() {
            if area["code"] == code {
                return area["id"].as_str().expect("area id").to_owned();
            }
            levels.push(area["children"].clone());
        }
    }
    panic!("no area with code {code}")
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

/// `138****5678`, as area admins (and leaders, on join requests) see a member's phone.
pub(crate) fn masked(phone: &str) -> String {
    format!("{}****{}", &phone[..3], &phone[7..])
}

/// Turns a valid input into an invalid one.
pub(crate) type Spoiler = Box<dyn Fn(&mut Value)>;

/// A valid createEvent input for the team, starting tomorrow, at Zumiao.
pub(crate) fn event_input(team_id: &str) -> Value {
    let starts = Utc::now() + Duration::days(1);
    json!({
        "teamId": team_id, "kind": "PATROL", "title": "祖庙夜间巡逻",
        "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::hours(2)).to_rfc3339(),
        "capacity": 10, "visibility": "PUBLIC",
        "location": { "address": "佛山市禅城区祖庙路21号", "lat": ZUMIAO.0, "lng": ZUMIAO.1, "radiusM": 200 },
    })
}

/// The leader creates and publishes a PUBLIC event of `kind` at `at`, starting in `hours`.
pub(crate) async fn published_event_at(
    app: &TestApp,
    leader: &Session,
    team_id: &str,
    title: &str,
    kind: &str,
    hours: i64,
    at: (f64, f64),
) -> String {
    let mut input = event_input(team_id);
    // Whole seconds, as phones send them (see the paging test for finer times).
    let starts = (Utc::now() + Duration::hours(hours)).trunc_subsecs(0);
    input["title"] = json!(title);
    input["kind"] = json!(kind);
    input["startsAt"] = json!(starts.to_rfc3339());
    input["endsAt"] = json!((starts + Duration::hours(2)).to_rfc3339());
    input["location"]["lat"] = json!(at.0);
    input["location"]["lng"] = json!(at.1);
    let created = app
        .graphql_as(leader, CREATE_EVENT, json!({ "input": input }))
        .await;
    let id = created.data()["createEvent"]["id"]
        .as_str()
        .expect("event id")
        .to_owned();
    app.graphql_as(leader, PUBLISH_EVENT, json!({ "id": id }))
        .await
        .data();
    id
}

/// The events the session (or an anonymous caller) sees through `filter`.
pub(crate) async fn events_seen(app: &TestApp, session: Option<&Session>, filter: Value) -> Value {
    let variables = json!({ "filter": filter, "first": 100 });
    let response = match session {
        Some(session) => app.graphql_as(session, EVENTS, variables).await,
        None => app.graphql(EVENTS, variables).await,
    };
    response.data()["events"].clone()
}

pub(crate) async fn event_ids_seen(
    app: &TestApp,
    session: Option<&Session>,
    filter: Value,
) -> Vec<String> {
    node_ids(&events_seen(app, session, filter).await)
}

/// How many events of the team its leader sees (drafts included).
pub(crate) async fn team_event_count(app: &TestApp, leader: &Session, team_id: &str) -> u64 {
    events_seen(app, Some(leader), json!({ "teamId": team_id })).await["totalCount"]
        .as_u64()
        .expect("totalCount")
}

pub(crate) async fn team_view(app: &TestApp, team_id: &str) -> Value {
    app.graphql(TEAM, json!({ "id": team_id })).await.data()["team"].clone()
}

pub(crate) async fn leader_ids(app: &TestApp, team_id: &str) -> Vec<String> {
    node_ids(&json!({ "nodes": team_view(app, team_id).await["leaders"] }))
}

pub(crate) async fn notifications(app: &TestApp, session: &Session) -> Vec<Value> {
    let response = app.graphql_as(session, MY_NOTIFICATIONS, json!({})).await;
    response.data()["myNotifications"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone()
}

/// The start (UTC) of every Monday and Wednesday 19:30 Shanghai occurrence in the range after `now`.
pub(crate) fn monday_wednesday_1930(
    from: NaiveDate,
    until: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let start = NaiveTime::from_hms_opt(19, 30, 0).expect("time");
    from.iter_days()
        .take_while(|day| *day <= until)
        .filter(|day| matches!(day.weekday(), chrono::Weekday::Mon | chrono::Weekday::Wed))
        .map(|day| {
            Shanghai
                .from_local_datetime(&day.and_time(start))
                .single()
                .expect("no DST in Shanghai")
                .with_timezone(&Utc)
        })
        .filter(|starts| *starts > now)
        .collect()
}

pub(crate) fn patrol_input(team_id: &str, from: NaiveDate, until: NaiveDate) -> Value {
    json!({
        "teamId": team_id, "title": "祖庙功夫夜巡", "weekdays": ["MONDAY", "WEDNESDAY"],
        "startTime": "19:30", "durationMinutes": 120,
        "from": from.format("%Y-%m-%d").to_string(), "until": until.format("%Y-%m-%d").to_string(),
        "capacity": 12,
        "location": { "address": "佛山市禅城区祖庙路21号", "lat": ZUMIAO.0, "lng": ZUMIAO.1, "radiusM": 300 },
    })
}

pub(crate) fn today_in_shanghai() -> NaiveDate {
    Utc::now().with_timezone(&Shanghai).date_naive()
}

pub(crate) fn parse_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}
