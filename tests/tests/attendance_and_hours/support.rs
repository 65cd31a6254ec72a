//! What the tests of this target share: operations, fixtures and readers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use feihong_tests::fixtures::{EVENT_LAT, EVENT_LNG};
use feihong_tests::{EventSpec, Response, Session, TeamFixture, TestApp};
use serde_json::{Value, json};

pub(crate) const CHECK_IN: &str = "mutation($signUp: ID!, $position: PositionInput, $at: DateTime, $key: String) {
  checkIn(signUpId: $signUp, position: $position, at: $at, idempotencyKey: $key) {
    checkInAt checkInPosition { lat lng } checkedInBy checkOutAt checkOutPosition { lat lng } checkedOutBy autoClosed
  }
}";
pub(crate) const CHECK_OUT: &str = "mutation($signUp: ID!, $position: PositionInput, $at: DateTime, $key: String) {
  checkOut(signUpId: $signUp, position: $position, at: $at, idempotencyKey: $key) {
    checkInAt checkInPosition { lat lng } checkedInBy checkOutAt checkOutPosition { lat lng } checkedOutBy autoClosed
  }
}";
pub(crate) const SIGN_UP_ATTENDANCE: &str = "query($id: ID!) { node(id: $id) { ... on SignUp {
  status attendance { checkInAt checkedInBy checkOutAt checkedOutBy autoClosed }
} } }";
pub(crate) const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(eventId: $id, input: $input) { id startsAt endsAt } }";
pub(crate) const SET_ROLE: &str = "mutation($team: ID!, $volunteer: ID!, $role: MemberRole!) { setMemberRole(teamId: $team, volunteerId: $volunteer, role: $role) { role status } }";
pub(crate) const RECORD_SERVICE: &str = "mutation($input: RecordServiceInput!, $key: String) {
  recordService(input: $input, idempotencyKey: $key) {
    id minutes status serviceDate note needsReview volunteer { id } team { id } event { id } reviewer { id } reason
  }
}";
pub(crate) const REVIEW: &str =
    "mutation($id: ID!, $decision: ReviewDecision!, $minutes: Int, $reason: String) {
  reviewServiceRecord(recordId: $id, decision: $decision, minutes: $minutes, reason: $reason) {
    id status minutes reason reviewer { id } reviewedAt
  }
}";
pub(crate) const RECORDS: &str = "query($filter: ServiceRecordFilter) {
  serviceRecords(filter: $filter, first: 100) {
    totalCount
    nodes { id minutes status serviceDate needsReview note volunteer { id } team { id } event { id } reviewer { id } reason }
  }
}";
pub(crate) const AUDIT: &str = "query($filter: AuditFilter!) {
  auditLog(filter: $filter, first: 100) { totalCount nodes { action entityType entityId before after actor { id } createdAt } }
}";

/// Metres per degree of latitude on the server's sphere (radius 6 371 008.8 m).
pub(crate) const METRES_PER_DEGREE: f64 = 111_195.08;

/// A member of a team signed up (CONFIRMED) for one of its events.
pub(crate) struct Scene {
    pub(crate) team: TeamFixture,
    pub(crate) member: Session,
    pub(crate) event: String,
    pub(crate) sign_up: String,
}

/// Now, to the whole second, so times sent and read back compare exactly on every database.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap()
}

pub(crate) fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339()
}

pub(crate) fn parse_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("a time, got {value}")),
    )
    .unwrap()
    .with_timezone(&Utc)
}

/// A position `metres` north of the event's point.
pub(crate) fn north_of_event(metres: f64) -> Value {
    json!({ "lat": EVENT_LAT + metres / METRES_PER_DEGREE, "lng": EVENT_LNG, "accuracyM": 8.0 })
}

/// The city's local day (Asia/Shanghai) `days` from today.
pub(crate) fn local_day(days: i64) -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        + Duration::days(days)
}

pub(crate) fn local_date_of(time: DateTime<Utc>) -> String {
    time.with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

/// The number inside a global ID (URL-safe base64 of `Type:number`).
pub(crate) fn number_of(global_id: &Value) -> i64 {
    let raw = URL_SAFE_NO_PAD
        .decode(global_id.as_str().expect("an id"))
        .expect("base64url global id");
    let text = String::from_utf8(raw).expect("utf8");
    text.split_once(':')
        .expect("Type:number")
        .1
        .parse()
        .expect("a number")
}

pub(crate) fn is_status(value: &Value, status: &str) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case(status))
}

/// A team in Chancheng with one member signed up for an event `starts_in` minutes from now.
pub(crate) async fn scene(app: &TestApp, starts_in: i64, lasts: i64) -> Scene {
    let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
    let member = app.member(&team).await;
    let event = app
        .event(
            &team.leader,
            &team.id,
            EventSpec {
                starts_in,
                lasts,
                ..Default::default()
            },
        )
        .await;
    let signed = app.sign_up(&member, &event, None).await;
    assert_eq!(signed.data()["signUp"]["status"], "CONFIRMED");
    let sign_up = signed.data()["signUp"]["id"].as_str().unwrap().to_owned();
    Scene {
        team,
        member,
        event,
        sign_up,
    }
}

/// The leader moves the event to `[starts, ends)` (events may be recorded up to 30 days back).
pub(crate) async fn move_event(
    app: &TestApp,
    leader: &Session,
    event: &str,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) {
    let moved = app
        .graphql_as(leader, UPDATE_EVENT, json!({ "id": event, "input": { "startsAt": rfc3339(starts), "endsAt": rfc3339(ends) } }))
        .await;
    assert_eq!(parse_time(&moved.data()["updateEvent"]["startsAt"]), starts);
}

/// A scene whose event ran from `started_ago` minutes ago for `lasts` minutes (signed up while it
/// was still ahead, then moved back in time by the leader). Returns the event's start and end.
pub(crate) async fn past_scene(
    app: &TestApp,
    started_ago: i64,
    lasts: i64,
) -> (Scene, DateTime<Utc>, DateTime<Utc>) {
    let scene = scene(app, 10, 30).await;
    let starts = now() - Duration::minutes(started_ago);
    let ends = starts + Duration::minutes(lasts);
    move_event(app, &scene.team.leader, &scene.event, starts, ends).await;
    (scene, starts, ends)
}

pub(crate) async fn check_in(
    app: &TestApp,
    session: &Session,
    sign_up: &str,
    position: Option<Value>,
    at: Option<DateTime<Utc>>,
    key: Option<&str>,
) -> Response {
    let variables =
        json!({ "signUp": sign_up, "position": position, "at": at.map(rfc3339), "key": key });
    app.graphql_as(session, CHECK_IN, variables).await
}

pub(crate) async fn check_out(
    app: &TestApp,
    session: &Session,
    sign_up: &str,
    position: Option<Value>,
    at: Option<DateTime<Utc>>,
) -> Response {
    let variables =
        json!({ "signUp": sign_up, "position": position, "at": at.map(rfc3339), "key": null });
    app.graphql_as(session, CHECK_OUT, variables).await
}

/// The sign-up's attendance, as its volunteer sees it (null before check-in).
pub(crate) async fn attendance_of(app: &TestApp, session: &Session, sign_up: &str) -> Value {
    let seen = app
        .graphql_as(session, SIGN_UP_ATTENDANCE, json!({ "id": sign_up }))
        .await;
    seen.data()["node"]["attendance"].clone()
}

pub(crate) async fn record_service(
    app: &TestApp,
    by: &Session,
    volunteer: &str,
    team: &str,
    minutes: i64,
    day: NaiveDate,
) -> Response {
    let input = json!({ "input": {
        "volunteerId": volunteer, "teamId": team, "minutes": minutes,
        "serviceDate": day.to_string(), "note": "社区反诈宣传 anti-fraud stall",
    } });
    app.graphql_as(by, RECORD_SERVICE, input).await
}

/// A PENDING record entered by the team's leader; returns its id.
pub(crate) async fn recorded(
    app: &TestApp,
    team: &TeamFixture,
    volunteer: &Session,
    minutes: i64,
    day: NaiveDate,
) -> String {
    let created = record_service(
        app,
        &team.leader,
        &volunteer.volunteer_id,
        &team.id,
        minutes,
        day,
    )
    .await;
    let record = &created.data()["recordService"];
    assert_eq!(record["status"], "PENDING");
    assert_eq!(record["minutes"], minutes);
    record["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn review(
    app: &TestApp,
    by: &Session,
    record: &str,
    decision: &str,
    minutes: Option<i64>,
    reason: Option<&str>,
) -> Response {
    let variables =
        json!({ "id": record, "decision": decision, "minutes": minutes, "reason": reason });
    app.graphql_as(by, REVIEW, variables).await
}

pub(crate) async fn records(app: &TestApp, session: &Session, filter: Value) -> Response {
    app.graphql_as(session, RECORDS, json!({ "filter": filter }))
        .await
}

/// The record nodes of a successful `serviceRecords` answer.
pub(crate) async fn record_nodes(app: &TestApp, session: &Session, filter: Value) -> Vec<Value> {
    let answer = records(app, session, filter).await;
    answer.data()["serviceRecords"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// The team's audit entries, newest first, as its leader sees them.
pub(crate) async fn audit_entries(app: &TestApp, team: &TeamFixture) -> Vec<Value> {
    let log = app
        .graphql_as(
            &team.leader,
            AUDIT,
            json!({ "filter": { "teamId": team.id } }),
        )
        .await;
    log.data()["auditLog"]["nodes"].as_array().unwrap().clone()
}

pub(crate) fn entries_for<'a>(entries: &'a [Value], action: &str, record: &str) -> Vec<&'a Value> {
    let number = number_of(&json!(record));
    entries
        .iter()
        .filter(|entry| entry["action"] == action && entry["entityId"] == number)
        .collect()
}

pub(crate) async fn make_role(app: &TestApp, team: &TeamFixture, volunteer: &Session, role: &str) {
    let set = app
        .graphql_as(
            &team.leader,
            SET_ROLE,
            json!({ "team": team.id, "volunteer": volunteer.volunteer_id, "role": role }),
        )
        .await;
    assert_eq!(set.data()["setMemberRole"]["role"], role);
}
