//! Check-in and check-out on site (invariant 6), the service records they create, records entered
//! by leaders, and their review (invariant 7: who may review, daily limits, audit entries), through
//! HTTP, on SQLite and PostgreSQL (+ Redis).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use feihong_tests::fixtures::{CANCEL_SIGN_UP, EVENT_LAT, EVENT_LNG};
use feihong_tests::{EventSpec, Response, Session, TeamFixture, TestApp, on_every_backend};
use serde_json::{Value, json};

const CHECK_IN: &str = "mutation($signUp: ID!, $position: PositionInput, $at: DateTime, $key: String) {
  checkIn(signUpId: $signUp, position: $position, at: $at, idempotencyKey: $key) {
    checkInAt checkInPosition { lat lng } checkedInBy checkOutAt checkOutPosition { lat lng } checkedOutBy autoClosed
  }
}";
const CHECK_OUT: &str = "mutation($signUp: ID!, $position: PositionInput, $at: DateTime, $key: String) {
  checkOut(signUpId: $signUp, position: $position, at: $at, idempotencyKey: $key) {
    checkInAt checkInPosition { lat lng } checkedInBy checkOutAt checkOutPosition { lat lng } checkedOutBy autoClosed
  }
}";
const SIGN_UP_ATTENDANCE: &str = "query($id: ID!) { node(id: $id) { ... on SignUp {
  status attendance { checkInAt checkedInBy checkOutAt checkedOutBy autoClosed }
} } }";
const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(eventId: $id, input: $input) { id startsAt endsAt } }";
const SET_ROLE: &str = "mutation($team: ID!, $volunteer: ID!, $role: MemberRole!) { setMemberRole(teamId: $team, volunteerId: $volunteer, role: $role) { role status } }";
const RECORD_SERVICE: &str = "mutation($input: RecordServiceInput!, $key: String) {
  recordService(input: $input, idempotencyKey: $key) {
    id minutes status serviceDate note needsReview volunteer { id } team { id } event { id } reviewer { id } reason
  }
}";
const REVIEW: &str =
    "mutation($id: ID!, $decision: ReviewDecision!, $minutes: Int, $reason: String) {
  reviewServiceRecord(recordId: $id, decision: $decision, minutes: $minutes, reason: $reason) {
    id status minutes reason reviewer { id } reviewedAt
  }
}";
const RECORDS: &str = "query($filter: ServiceRecordFilter) {
  serviceRecords(filter: $filter, first: 100) {
    totalCount
    nodes { id minutes status serviceDate needsReview note volunteer { id } team { id } event { id } reviewer { id } reason }
  }
}";
const AUDIT: &str = "query($filter: AuditFilter!) {
  auditLog(filter: $filter, first: 100) { totalCount nodes { action entityType entityId before after actor { id } createdAt } }
}";

/// Metres per degree of latitude on the server's sphere (radius 6 371 008.8 m).
const METRES_PER_DEGREE: f64 = 111_195.08;

/// A member of a team signed up (CONFIRMED) for one of its events.
struct Scene {
    team: TeamFixture,
    member: Session,
    event: String,
    sign_up: String,
}

/// Now, to the whole second, so times sent and read back compare exactly on every database.
fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap()
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339()
}

fn parse_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("a time, got {value}")),
    )
    .unwrap()
    .with_timezone(&Utc)
}

/// A position `metres` north of the event's point.
fn north_of_event(metres: f64) -> Value {
    json!({ "lat": EVENT_LAT + metres / METRES_PER_DEGREE, "lng": EVENT_LNG, "accuracyM": 8.0 })
}

/// The city's local day (Asia/Shanghai) `days` from today.
fn local_day(days: i64) -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        + Duration::days(days)
}

fn local_date_of(time: DateTime<Utc>) -> String {
    time.with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

/// The number inside a global ID (URL-safe base64 of `Type:number`).
fn number_of(global_id: &Value) -> i64 {
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

fn is_status(value: &Value, status: &str) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case(status))
}

/// A team in Chancheng with one member signed up for an event `starts_in` minutes from now.
async fn scene(app: &TestApp, starts_in: i64, lasts: i64) -> Scene {
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
async fn move_event(
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
async fn past_scene(
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

async fn check_in(
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

async fn check_out(
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
async fn attendance_of(app: &TestApp, session: &Session, sign_up: &str) -> Value {
    let seen = app
        .graphql_as(session, SIGN_UP_ATTENDANCE, json!({ "id": sign_up }))
        .await;
    seen.data()["node"]["attendance"].clone()
}

async fn record_service(
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
async fn recorded(
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

async fn review(
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

async fn records(app: &TestApp, session: &Session, filter: Value) -> Response {
    app.graphql_as(session, RECORDS, json!({ "filter": filter }))
        .await
}

/// The record nodes of a successful `serviceRecords` answer.
async fn record_nodes(app: &TestApp, session: &Session, filter: Value) -> Vec<Value> {
    let answer = records(app, session, filter).await;
    answer.data()["serviceRecords"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// The team's audit entries, newest first, as its leader sees them.
async fn audit_entries(app: &TestApp, team: &TeamFixture) -> Vec<Value> {
    let log = app
        .graphql_as(
            &team.leader,
            AUDIT,
            json!({ "filter": { "teamId": team.id } }),
        )
        .await;
    log.data()["auditLog"]["nodes"].as_array().unwrap().clone()
}

fn entries_for<'a>(entries: &'a [Value], action: &str, record: &str) -> Vec<&'a Value> {
    let number = number_of(&json!(record));
    entries
        .iter()
        .filter(|entry| entry["action"] == action && entry["entityId"] == number)
        .collect()
}

async fn make_role(app: &TestApp, team: &TeamFixture, volunteer: &Session, role: &str) {
    let set = app
        .graphql_as(
            &team.leader,
            SET_ROLE,
            json!({ "team": team.id, "volunteer": volunteer.volunteer_id, "role": role }),
        )
        .await;
    assert_eq!(set.data()["setMemberRole"]["role"], role);
}

on_every_backend! {
    async fn checking_in_within_the_radius_records_a_self_check_in_with_the_position(app: TestApp) {
        let scene = scene(&app, 10, 60).await;
        let before = now();
        let response = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(150.0)), None, None).await;
        let attendance = &response.data()["checkIn"];
        assert_eq!(attendance["checkedInBy"], "SELF_BY_GPS");
        assert_eq!(attendance["checkInPosition"]["lng"], EVENT_LNG);
        let lat = attendance["checkInPosition"]["lat"].as_f64().unwrap();
        assert!((lat - (EVENT_LAT + 150.0 / METRES_PER_DEGREE)).abs() < 1e-9, "{lat}");
        let at = parse_time(&attendance["checkInAt"]);
        assert!(at >= before - Duration::seconds(1) && at <= now() + Duration::seconds(1), "{at}");
        assert_eq!(attendance["checkOutAt"], Value::Null);
        assert_eq!(attendance["checkedOutBy"], Value::Null);
        assert_eq!(attendance["autoClosed"], false);
        let seen = attendance_of(&app, &scene.member, &scene.sign_up).await;
        assert_eq!(seen["checkedInBy"], "SELF_BY_GPS");
        assert_eq!(parse_time(&seen["checkInAt"]), at);

        // Checking in twice is refused; the first check-in stands.
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(0.0)), None, None).await
            .expect_error("CONFLICT", None);
        assert_eq!(parse_time(&attendance_of(&app, &scene.member, &scene.sign_up).await["checkInAt"]), at);
    }

    async fn checking_in_from_500_metres_away_is_refused(app: TestApp) {
        let scene = scene(&app, 10, 60).await;
        let refused = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(500.0)), None, None).await;
        refused.expect_error("CONFLICT", None);
        assert!(refused.error_message().contains("500 m") && refused.error_message().contains("200 m"), "{}", refused.body);
        // 201 m is just outside the 200 m radius too.
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(201.0)), None, None).await
            .expect_error("CONFLICT", None);
        // Without a position a volunteer cannot check themself in.
        check_in(&app, &scene.member, &scene.sign_up, None, None, None).await
            .expect_error("BAD_USER_INPUT", Some("position"));
        assert_eq!(attendance_of(&app, &scene.member, &scene.sign_up).await, Value::Null);
        // From 190 m it works.
        let accepted = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(190.0)), None, None).await;
        assert_eq!(accepted.data()["checkIn"]["checkedInBy"], "SELF_BY_GPS");
    }

    async fn checking_in_earlier_than_thirty_minutes_before_the_start_is_refused(app: TestApp) {
        let scene = scene(&app, 45, 60).await;
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), None, None).await
            .expect_error("CONFLICT", None);
        // Reported as an offline check-in, the same moment is named as the bad input.
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(now() - Duration::minutes(1)), None).await
            .expect_error("BAD_USER_INPUT", Some("at"));
        assert_eq!(attendance_of(&app, &scene.member, &scene.sign_up).await, Value::Null);
        // Once the start is less than 30 minutes away, check-in opens.
        let starts = now() + Duration::minutes(20);
        move_event(&app, &scene.team.leader, &scene.event, starts, starts + Duration::minutes(60)).await;
        let accepted = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), None, None).await;
        assert_eq!(accepted.data()["checkIn"]["checkedInBy"], "SELF_BY_GPS");
    }

    async fn checking_in_live_after_the_event_ended_is_refused_but_an_offline_report_from_its_time_is_accepted(app: TestApp) {
        let (scene, starts, _ends) = past_scene(&app, 90, 60).await;
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), None, None).await
            .expect_error("CONFLICT", None);
        assert_eq!(attendance_of(&app, &scene.member, &scene.sign_up).await, Value::Null);
        let at = starts + Duration::minutes(5);
        let accepted = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(at), None).await;
        let attendance = &accepted.data()["checkIn"];
        assert_eq!(parse_time(&attendance["checkInAt"]), at, "the reported time, not the time it arrived");
        assert_eq!(attendance["checkedInBy"], "SELF_BY_GPS");
    }

    async fn an_offline_check_in_is_validated_like_a_live_one_and_never_in_the_future(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        // In the future: refused whatever the window says.
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(now() + Duration::minutes(10)), None).await
            .expect_error("BAD_USER_INPUT", Some("at"));
        // Before the window opens and after it closes.
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts - Duration::minutes(31)), None).await
            .expect_error("BAD_USER_INPUT", Some("at"));
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(ends + Duration::minutes(1)), None).await
            .expect_error("BAD_USER_INPUT", Some("at"));
        // Inside the window but far away, or with no position: refused as a live one would be.
        check_in(&app, member, sign_up, Some(north_of_event(500.0)), Some(starts + Duration::minutes(5)), None).await
            .expect_error("CONFLICT", None);
        check_in(&app, member, sign_up, None, Some(starts + Duration::minutes(5)), None).await
            .expect_error("BAD_USER_INPUT", Some("position"));
        assert_eq!(attendance_of(&app, member, sign_up).await, Value::Null);
        // The opening moment of the window itself is accepted.
        let opening = starts - Duration::minutes(30);
        let accepted = check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(opening), None).await;
        assert_eq!(parse_time(&accepted.data()["checkIn"]["checkInAt"]), opening);
    }

    async fn checking_out_is_only_possible_after_checking_in_and_only_once(app: TestApp) {
        let (scene, starts, _ends) = past_scene(&app, 90, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        check_out(&app, member, sign_up, Some(north_of_event(20.0)), None).await
            .expect_error("CONFLICT", None);
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(10)), None).await.data();
        // An offline check-out before the check-in is refused.
        check_out(&app, member, sign_up, None, Some(starts + Duration::minutes(5))).await
            .expect_error("BAD_USER_INPUT", Some("at"));
        check_out(&app, member, sign_up, None, Some(now() + Duration::minutes(5))).await
            .expect_error("BAD_USER_INPUT", Some("at"));
        let out = check_out(&app, member, sign_up, Some(north_of_event(30.0)), Some(starts + Duration::minutes(40))).await;
        let attendance = &out.data()["checkOut"];
        assert_eq!(parse_time(&attendance["checkOutAt"]), starts + Duration::minutes(40));
        assert_eq!(attendance["checkedOutBy"], "SELF_BY_GPS");
        assert!(attendance["checkOutPosition"]["lat"].as_f64().is_some());
        check_out(&app, member, sign_up, None, None).await.expect_error("CONFLICT", None);
        // One record, for the first check-out only.
        let mine = record_nodes(&app, member, json!(null)).await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0]["minutes"], 30);
    }

    async fn checking_out_creates_a_pending_record_of_the_overlap_with_the_event(app: TestApp) {
        let (scene, starts, _ends) = past_scene(&app, 90, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(15)), None).await.data();
        check_out(&app, member, sign_up, None, Some(starts + Duration::minutes(45))).await.data();
        let mine = record_nodes(&app, member, json!(null)).await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        let record = &mine[0];
        assert_eq!(record["minutes"], 30);
        assert_eq!(record["status"], "PENDING");
        assert_eq!(record["needsReview"], false);
        assert_eq!(record["serviceDate"], local_date_of(starts));
        assert_eq!(record["volunteer"]["id"], member.volunteer_id.as_str());
        assert_eq!(record["team"]["id"], scene.team.id.as_str());
        assert_eq!(record["event"]["id"], scene.event.as_str());
        assert_eq!(record["reviewer"], Value::Null);
        // The leader sees it among the team's pending records and approves it.
        let pending = record_nodes(&app, &scene.team.leader, json!({ "teamId": scene.team.id, "status": "PENDING" })).await;
        assert_eq!(pending.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![record["id"].clone()]);
        let approved = review(&app, &scene.team.leader, record["id"].as_str().unwrap(), "APPROVE", None, None).await;
        assert_eq!(approved.data()["reviewServiceRecord"]["status"], "APPROVED");
        assert_eq!(approved.data()["reviewServiceRecord"]["minutes"], 30);
    }

    async fn credited_minutes_never_exceed_the_events_length(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 100, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        // Arrived 20 minutes early, left 30 minutes late: only the event's 60 minutes count.
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts - Duration::minutes(20)), None).await.data();
        check_out(&app, member, sign_up, None, Some(ends + Duration::minutes(30))).await.data();
        let mine = record_nodes(&app, member, json!(null)).await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0]["minutes"], 60);
        assert_eq!(mine[0]["status"], "PENDING");
    }

    async fn a_leader_checks_a_member_in_and_out_by_hand_without_a_position(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        let leader = &scene.team.leader;
        // Another member of the team may not do it for them (and is not told the sign-up exists).
        let bystander = app.member(&scene.team).await;
        check_in(&app, &bystander, &scene.sign_up, None, Some(starts), None).await
            .expect_error("NOT_FOUND", None);
        let checked_in = check_in(&app, leader, &scene.sign_up, None, Some(starts), None).await;
        let attendance = &checked_in.data()["checkIn"];
        assert_eq!(attendance["checkedInBy"], "LEADER");
        assert_eq!(attendance["checkInPosition"], Value::Null);
        assert_eq!(parse_time(&attendance["checkInAt"]), starts);
        let out = check_out(&app, leader, &scene.sign_up, None, Some(ends)).await;
        let attendance = &out.data()["checkOut"];
        assert_eq!(attendance["checkedOutBy"], "LEADER");
        assert_eq!(attendance["checkOutPosition"], Value::Null);
        let seen = attendance_of(&app, &scene.member, &scene.sign_up).await;
        assert_eq!(seen["checkedInBy"], "LEADER");
        assert_eq!(seen["checkedOutBy"], "LEADER");
        let mine = record_nodes(&app, &scene.member, json!(null)).await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0]["minutes"], 60);
        assert_eq!(mine[0]["status"], "PENDING");
    }

    async fn a_leader_checking_a_member_in_and_out_by_hand_leaves_audit_entries(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        let leader = &scene.team.leader;
        let attendance_entries = |entries: Vec<Value>| -> Vec<Value> {
            entries.into_iter().filter(|entry| entry["entityType"] == "attendance").collect()
        };
        // A volunteer's own check-in is not a leader write.
        let other = app.member(&scene.team).await;
        let event = app.event(leader, &scene.team.id, EventSpec { starts_in: 10, lasts: 60, ..Default::default() }).await;
        let own = app.sign_up(&other, &event, None).await;
        let own = own.data()["signUp"]["id"].as_str().unwrap().to_owned();
        check_in(&app, &other, &own, Some(north_of_event(20.0)), None, None).await.data();
        assert!(attendance_entries(audit_entries(&app, &scene.team).await).is_empty());

        check_in(&app, leader, &scene.sign_up, None, Some(starts), None).await.data();
        let entries = attendance_entries(audit_entries(&app, &scene.team).await);
        assert_eq!(entries.len(), 1, "a leader's hand check-in is a leader write (invariant 7): {entries:?}");
        assert_eq!(entries[0]["action"], "attendance.check_in");
        assert_eq!(entries[0]["actor"]["id"], leader.volunteer_id.as_str());
        assert_eq!(entries[0]["before"], Value::Null);
        assert!(entries[0]["after"].is_object(), "{}", entries[0]);
        assert_eq!(parse_time(&entries[0]["after"]["check_in_at"]), starts, "{}", entries[0]);

        check_out(&app, leader, &scene.sign_up, None, Some(ends)).await.data();
        let entries = attendance_entries(audit_entries(&app, &scene.team).await);
        assert_eq!(entries.len(), 2, "{entries:?}");
        let out = &entries[0];
        assert_eq!(out["action"], "attendance.check_out");
        assert_eq!(out["actor"]["id"], leader.volunteer_id.as_str());
        assert_eq!(out["entityId"], entries[1]["entityId"]);
        assert_eq!(out["before"]["check_out_at"], Value::Null, "{out}");
        assert_eq!(parse_time(&out["after"]["check_out_at"]), ends, "{out}");
    }

    async fn an_attendance_left_open_is_closed_at_the_events_end_and_its_record_flagged_for_review(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 240, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(5)), None).await.data();
        // The upkeep task runs every 500 ms in tests.
        let mut attendance = Value::Null;
        for _ in 0..100 {
            attendance = attendance_of(&app, member, sign_up).await;
            if attendance["autoClosed"] == true {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(attendance["autoClosed"], true, "{attendance}");
        assert_eq!(parse_time(&attendance["checkOutAt"]), ends);
        assert_eq!(attendance["checkedOutBy"], Value::Null);
        let mine = record_nodes(&app, member, json!(null)).await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0]["minutes"], 55);
        assert_eq!(mine[0]["status"], "PENDING");
        assert_eq!(mine[0]["needsReview"], true);
        check_out(&app, member, sign_up, None, None).await.expect_error("CONFLICT", None);
    }

    async fn a_check_in_retried_with_the_same_idempotency_key_returns_the_first_attendance(app: TestApp) {
        let scene = scene(&app, 10, 10).await;
        let position = north_of_event(20.0);
        let first = check_in(&app, &scene.member, &scene.sign_up, Some(position.clone()), None, Some("phone-ci-1")).await;
        let first = first.data()["checkIn"].clone();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let again = check_in(&app, &scene.member, &scene.sign_up, Some(position.clone()), None, Some("phone-ci-1")).await;
        assert_eq!(again.data()["checkIn"], first, "the retry answers with the first attendance");
        let seen = attendance_of(&app, &scene.member, &scene.sign_up).await;
        assert_eq!(parse_time(&seen["checkInAt"]), parse_time(&first["checkInAt"]));

        // The same key with another sign-up is refused, and has no effect.
        let other_event = app.event(&scene.team.leader, &scene.team.id, EventSpec { starts_in: 25, lasts: 10, ..Default::default() }).await;
        let other = app.sign_up(&scene.member, &other_event, None).await;
        let other = other.data()["signUp"]["id"].as_str().unwrap().to_owned();
        check_in(&app, &scene.member, &other, Some(position.clone()), None, Some("phone-ci-1")).await
            .expect_error("CONFLICT", None);
        assert_eq!(attendance_of(&app, &scene.member, &other).await, Value::Null);
        // With a fresh key it goes through.
        check_in(&app, &scene.member, &other, Some(position), None, Some("phone-ci-2")).await.data();
    }

    async fn a_checked_in_sign_up_cannot_be_cancelled_even_when_the_two_race(app: TestApp) {
        let scene = scene(&app, 10, 60).await;
        let first = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), None, None).await;
        assert_eq!(first.data()["checkIn"]["checkedInBy"], "SELF_BY_GPS");
        app.graphql_as(&scene.member, CANCEL_SIGN_UP, json!({ "id": scene.sign_up })).await
            .expect_error("CONFLICT", None);

        // Five members check in and cancel at the same moment: exactly one of the two wins.
        let mut racers = Vec::new();
        for _ in 0..5 {
            let member = app.member(&scene.team).await;
            let signed = app.sign_up(&member, &scene.event, None).await;
            racers.push((member, signed.data()["signUp"]["id"].as_str().unwrap().to_owned()));
        }
        let app = &app;
        let races = futures::future::join_all(racers.iter().map(|(member, sign_up)| async move {
            futures::join!(
                check_in(app, member, sign_up, Some(north_of_event(20.0)), None, None),
                app.graphql_as(member, CANCEL_SIGN_UP, json!({ "id": sign_up })),
            )
        }))
        .await;
        for ((member, sign_up), (checked_in, cancelled)) in racers.iter().zip(&races) {
            let attendance = attendance_of(app, member, sign_up).await;
            if checked_in.body.get("errors").is_none() {
                cancelled.expect_error("CONFLICT", None);
                assert_ne!(attendance, Value::Null);
            } else {
                checked_in.expect_error("CONFLICT", None);
                assert_eq!(cancelled.data()["cancelSignUp"]["status"], "CANCELLED");
                assert_eq!(attendance, Value::Null);
            }
        }
    }

    async fn a_waitlisted_volunteer_cannot_check_in(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { starts_in: 10, lasts: 60, capacity: 1, ..Default::default() }).await;
        let seated = app.member(&team).await;
        let waiting = app.member(&team).await;
        assert_eq!(app.sign_up(&seated, &event, None).await.data()["signUp"]["status"], "CONFIRMED");
        let queued = app.sign_up(&waiting, &event, None).await;
        assert_eq!(queued.data()["signUp"]["status"], "WAITLISTED");
        let sign_up = queued.data()["signUp"]["id"].as_str().unwrap().to_owned();
        check_in(&app, &waiting, &sign_up, Some(north_of_event(20.0)), None, None).await
            .expect_error("CONFLICT", None);
        assert_eq!(attendance_of(&app, &waiting, &sign_up).await, Value::Null);
    }

    async fn a_leader_records_service_and_approves_it_with_audit_entries_holding_before_and_after(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let day = local_day(-1);
        let created = record_service(&app, &team.leader, &member.volunteer_id, &team.id, 90, day).await;
        let record = created.data()["recordService"].clone();
        assert_eq!(record["status"], "PENDING");
        assert_eq!(record["minutes"], 90);
        assert_eq!(record["serviceDate"], day.to_string());
        assert_eq!(record["note"], "社区反诈宣传 anti-fraud stall");
        assert_eq!(record["volunteer"]["id"], member.volunteer_id.as_str());
        assert_eq!(record["event"], Value::Null);
        let id = record["id"].as_str().unwrap().to_owned();
        // The volunteer sees it as their own.
        let mine = record_nodes(&app, &member, json!(null)).await;
        assert_eq!(mine.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![record["id"].clone()]);

        let approved = review(&app, &team.leader, &id, "APPROVE", None, None).await;
        let approved = &approved.data()["reviewServiceRecord"];
        assert_eq!(approved["status"], "APPROVED");
        assert_eq!(approved["minutes"], 90);
        assert_eq!(approved["reviewer"]["id"], team.leader.volunteer_id.as_str());
        assert!(approved["reviewedAt"].is_string());

        let entries = audit_entries(&app, &team).await;
        let created = entries_for(&entries, "service_record.create", &id);
        assert_eq!(created.len(), 1, "{entries:?}");
        assert_eq!(created[0]["entityType"], "service_record");
        assert_eq!(created[0]["actor"]["id"], team.leader.volunteer_id.as_str());
        assert_eq!(created[0]["before"], Value::Null);
        assert_eq!(created[0]["after"]["minutes"], 90);
        assert!(is_status(&created[0]["after"]["status"], "pending"), "{}", created[0]);
        let approval = entries_for(&entries, "service_record.approve", &id);
        assert_eq!(approval.len(), 1, "{entries:?}");
        assert_eq!(approval[0]["actor"]["id"], team.leader.volunteer_id.as_str());
        assert!(is_status(&approval[0]["before"]["status"], "pending"), "{}", approval[0]);
        assert!(is_status(&approval[0]["after"]["status"], "approved"), "{}", approval[0]);
        assert_eq!(approval[0]["after"]["minutes"], 90);
        // The area's admin reads the same entries by area.
        let area = app.area_id("440604").await;
        let by_area = app.graphql_as(&team.admin, AUDIT, json!({ "filter": { "areaId": area } })).await;
        let by_area = by_area.data()["auditLog"]["nodes"].as_array().unwrap().clone();
        assert_eq!(entries_for(&by_area, "service_record.approve", &id).len(), 1);
    }

    async fn nobody_reviews_their_own_record_and_plain_members_review_nothing(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let deputy = app.member(&team).await;
        make_role(&app, &team, &deputy, "DEPUTY").await;
        let member = app.member(&team).await;
        let day = local_day(-1);
        // The leader's own hours, entered by the leader.
        let own = recorded(&app, &team, &team.leader, 60, day).await;
        review(&app, &team.leader, &own, "APPROVE", None, None).await.expect_error("FORBIDDEN", None);
        review(&app, &team.leader, &own, "REJECT", None, Some("typo")).await.expect_error("FORBIDDEN", None);
        // A plain member reviews nobody's record.
        review(&app, &member, &own, "APPROVE", None, None).await.expect_error("FORBIDDEN", None);
        let members = recorded(&app, &team, &member, 45, day).await;
        review(&app, &member, &members, "APPROVE", None, None).await.expect_error("FORBIDDEN", None);
        // A volunteer outside the team neither.
        let outsider = app.volunteer().await;
        review(&app, &outsider, &members, "APPROVE", None, None).await.expect_error("FORBIDDEN", None);
        // The deputy reviews both.
        let approved = review(&app, &deputy, &own, "APPROVE", None, None).await;
        assert_eq!(approved.data()["reviewServiceRecord"]["status"], "APPROVED");
        assert_eq!(approved.data()["reviewServiceRecord"]["reviewer"]["id"], deputy.volunteer_id.as_str());
        let approved = review(&app, &deputy, &members, "APPROVE", Some(40), None).await;
        assert_eq!(approved.data()["reviewServiceRecord"]["minutes"], 40, "approved with corrected minutes");
    }

    async fn rejecting_needs_a_reason(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let id = recorded(&app, &team, &member, 120, local_day(-1)).await;
        review(&app, &team.leader, &id, "REJECT", None, None).await.expect_error("BAD_USER_INPUT", Some("reason"));
        review(&app, &team.leader, &id, "REJECT", None, Some("   ")).await.expect_error("BAD_USER_INPUT", Some("reason"));
        let rejected = review(&app, &team.leader, &id, "REJECT", None, Some("不在排班表上 not on the roster")).await;
        let rejected = &rejected.data()["reviewServiceRecord"];
        assert_eq!(rejected["status"], "REJECTED");
        assert_eq!(rejected["reason"], "不在排班表上 not on the roster");
        let mine = record_nodes(&app, &member, json!(null)).await;
        assert_eq!(mine[0]["status"], "REJECTED");
        assert_eq!(mine[0]["reason"], "不在排班表上 not on the roster");
    }

    async fn re_reviewing_an_approved_record_reverses_it_and_approving_it_again_unchanged_is_a_conflict(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let id = recorded(&app, &team, &member, 120, local_day(-1)).await;
        review(&app, &team.leader, &id, "APPROVE", None, None).await.data();
        review(&app, &team.leader, &id, "APPROVE", None, None).await.expect_error("CONFLICT", None);
        review(&app, &team.leader, &id, "APPROVE", Some(120), None).await.expect_error("CONFLICT", None);
        let rejected = review(&app, &team.leader, &id, "REJECT", None, Some("重复登记 entered twice")).await;
        assert_eq!(rejected.data()["reviewServiceRecord"]["status"], "REJECTED");
        let approved = record_nodes(&app, &member, json!({ "status": "APPROVED" })).await;
        assert!(approved.is_empty(), "{approved:?}");
        // And back again, with corrected minutes.
        let again = review(&app, &team.leader, &id, "APPROVE", Some(100), None).await;
        assert_eq!(again.data()["reviewServiceRecord"]["status"], "APPROVED");
        assert_eq!(again.data()["reviewServiceRecord"]["minutes"], 100);
        let entries = audit_entries(&app, &team).await;
        assert_eq!(entries_for(&entries, "service_record.approve", &id).len(), 2, "{entries:?}");
        let rejections = entries_for(&entries, "service_record.reject", &id);
        assert_eq!(rejections.len(), 1, "{entries:?}");
        assert!(is_status(&rejections[0]["before"]["status"], "approved"), "{}", rejections[0]);
        assert!(is_status(&rejections[0]["after"]["status"], "rejected"), "{}", rejections[0]);
    }

    async fn more_than_eight_hours_approved_on_one_day_needs_an_area_admin_and_more_than_twelve_is_refused(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let day = local_day(-1);
        let morning = recorded(&app, &team, &member, 300, day).await;
        let afternoon = recorded(&app, &team, &member, 240, day).await;
        let evening = recorded(&app, &team, &member, 200, day).await;
        review(&app, &team.leader, &morning, "APPROVE", None, None).await.data();
        // 300 + 240 = 540 > 480: the leader may not, the area's admin may.
        review(&app, &team.leader, &afternoon, "APPROVE", None, None).await.expect_error("FORBIDDEN", None);
        let by_admin = review(&app, &team.admin, &afternoon, "APPROVE", None, None).await;
        assert_eq!(by_admin.data()["reviewServiceRecord"]["status"], "APPROVED");
        assert_eq!(by_admin.data()["reviewServiceRecord"]["reviewer"]["id"], team.admin.volunteer_id.as_str());
        // 540 + 200 = 740 > 720: refused even for the admin, naming the minutes.
        review(&app, &team.admin, &evening, "APPROVE", None, None).await.expect_error("BAD_USER_INPUT", Some("minutes"));
        // Corrected to 180 it makes exactly 12 hours, which is allowed.
        let capped = review(&app, &team.admin, &evening, "APPROVE", Some(180), None).await;
        assert_eq!(capped.data()["reviewServiceRecord"]["minutes"], 180);
        let approved = record_nodes(&app, &member, json!({ "status": "APPROVED" })).await;
        assert_eq!(approved.iter().map(|r| r["minutes"].as_i64().unwrap()).sum::<i64>(), 720);
        // An admin of another district may not approve over 8 hours either.
        let other = recorded(&app, &team, &member, 60, local_day(-2)).await;
        let nanhai_admin = app.area_admin("440605").await;
        review(&app, &nanhai_admin, &other, "APPROVE", Some(500), None).await.expect_error("FORBIDDEN", None);
    }

    async fn recording_more_than_twelve_hours_a_future_date_or_a_non_member_is_refused(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        record_service(&app, &team.leader, &member.volunteer_id, &team.id, 780, local_day(-1)).await
            .expect_error("BAD_USER_INPUT", Some("input.minutes"));
        record_service(&app, &team.leader, &member.volunteer_id, &team.id, 0, local_day(-1)).await
            .expect_error("BAD_USER_INPUT", Some("input.minutes"));
        record_service(&app, &team.leader, &member.volunteer_id, &team.id, 60, local_day(1)).await
            .expect_error("BAD_USER_INPUT", Some("input.serviceDate"));
        let stranger = app.volunteer().await;
        record_service(&app, &team.leader, &stranger.volunteer_id, &team.id, 60, local_day(-1)).await
            .expect_error("BAD_USER_INPUT", Some("input.volunteerId"));
        // A pending join request is not an active membership.
        let vetted = app.team("石湾校园护卫队", "440604", "APPROVAL").await;
        let applicant = app.volunteer().await;
        let joined = app.graphql_as(&applicant, "mutation($id: ID!) { joinTeam(teamId: $id) { status } }", json!({ "id": vetted.id })).await;
        assert_eq!(joined.data()["joinTeam"]["status"], "PENDING");
        record_service(&app, &vetted.leader, &applicant.volunteer_id, &vetted.id, 60, local_day(-1)).await
            .expect_error("BAD_USER_INPUT", Some("input.volunteerId"));
        // Nothing was recorded; today and 720 minutes are fine.
        assert!(record_nodes(&app, &member, json!(null)).await.is_empty());
        let today = record_service(&app, &team.leader, &member.volunteer_id, &team.id, 720, local_day(0)).await;
        assert_eq!(today.data()["recordService"]["minutes"], 720);
    }

    async fn only_a_leader_or_deputy_of_the_team_records_service(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let colleague = app.member(&team).await;
        record_service(&app, &member, &member.volunteer_id, &team.id, 60, local_day(-1)).await
            .expect_error("FORBIDDEN", None);
        record_service(&app, &member, &colleague.volunteer_id, &team.id, 60, local_day(-1)).await
            .expect_error("FORBIDDEN", None);
        let other_team = app.team("张槎网格巡逻队", "440604", "OPEN").await;
        record_service(&app, &other_team.leader, &member.volunteer_id, &team.id, 60, local_day(-1)).await
            .expect_error("FORBIDDEN", None);
        app.graphql(RECORD_SERVICE, json!({ "input": {
            "volunteerId": member.volunteer_id, "teamId": team.id, "minutes": 60, "serviceDate": local_day(-1).to_string(),
        } })).await.expect_error("UNAUTHENTICATED", None);
        assert!(record_nodes(&app, &member, json!(null)).await.is_empty());
        make_role(&app, &team, &colleague, "DEPUTY").await;
        let by_deputy = record_service(&app, &colleague, &member.volunteer_id, &team.id, 60, local_day(-1)).await;
        assert_eq!(by_deputy.data()["recordService"]["status"], "PENDING");
    }

    async fn two_leaders_approving_one_record_at_once_approve_it_exactly_once(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let second_leader = app.member(&team).await;
        make_role(&app, &team, &second_leader, "LEADER").await;
        let member = app.member(&team).await;
        for round in 0..3 {
            let id = recorded(&app, &team, &member, 60, local_day(-1 - round)).await;
            let (first, second) = futures::future::join(
                review(&app, &team.leader, &id, "APPROVE", None, None),
                review(&app, &second_leader, &id, "APPROVE", None, None),
            )
            .await;
            let answers = [&first, &second];
            let winners = answers.iter().filter(|r| r.body.get("errors").is_none()).count();
            assert_eq!(winners, 1, "{first:?} {second:?}");
            for loser in answers.iter().filter(|r| r.body.get("errors").is_some()) {
                loser.expect_error("CONFLICT", None);
            }
            let approved = record_nodes(&app, &member, json!({ "status": "APPROVED" })).await;
            let this: Vec<_> = approved.iter().filter(|r| r["id"] == id.as_str()).collect();
            assert_eq!(this.len(), 1);
            assert_eq!(this[0]["minutes"], 60);
            let entries = audit_entries(&app, &team).await;
            assert_eq!(entries_for(&entries, "service_record.approve", &id).len(), 1, "{entries:?}");
        }
    }

    async fn a_volunteer_sees_only_their_own_records_and_a_team_filter_is_for_its_leaders(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let alice = app.member(&team).await;
        let bob = app.member(&team).await;
        let alices = recorded(&app, &team, &alice, 60, local_day(-1)).await;
        let bobs = recorded(&app, &team, &bob, 90, local_day(-1)).await;
        let mine = record_nodes(&app, &alice, json!(null)).await;
        assert_eq!(mine.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![json!(alices)]);
        let theirs = record_nodes(&app, &bob, json!({})).await;
        assert_eq!(theirs.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![json!(bobs)]);
        // Asking for someone else's without naming a team or area is refused.
        records(&app, &alice, json!({ "volunteerId": bob.volunteer_id })).await.expect_error("FORBIDDEN", None);
        // The team filter: the leader sees both, newest first; a plain member is refused.
        let answer = records(&app, &team.leader, json!({ "teamId": team.id })).await;
        assert_eq!(answer.data()["serviceRecords"]["totalCount"], 2);
        let ids: Vec<_> = answer.data()["serviceRecords"]["nodes"].as_array().unwrap().iter().map(|r| r["id"].clone()).collect();
        assert_eq!(ids, vec![json!(bobs), json!(alices)]);
        records(&app, &alice, json!({ "teamId": team.id })).await.expect_error("FORBIDDEN", None);
        let only_bob = record_nodes(&app, &team.leader, json!({ "teamId": team.id, "volunteerId": bob.volunteer_id })).await;
        assert_eq!(only_bob.len(), 1);
        assert_eq!(only_bob[0]["id"], bobs.as_str());
        // A leader of another team is refused too.
        let other = app.team("张槎网格巡逻队", "440604", "OPEN").await;
        records(&app, &other.leader, json!({ "teamId": team.id })).await.expect_error("FORBIDDEN", None);
        app.graphql(RECORDS, json!({ "filter": null })).await.expect_error("UNAUTHENTICATED", None);
    }

    async fn an_area_admin_sees_the_areas_records_and_not_another_districts(app: TestApp) {
        let chancheng = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let nanhai = app.team("桂城反诈宣传队", "440605", "OPEN").await;
        let in_chancheng = app.member(&chancheng).await;
        let in_nanhai = app.member(&nanhai).await;
        let chancheng_record = recorded(&app, &chancheng, &in_chancheng, 60, local_day(-1)).await;
        let nanhai_record = recorded(&app, &nanhai, &in_nanhai, 75, local_day(-1)).await;
        let chancheng_area = app.area_id("440604").await;
        let nanhai_area = app.area_id("440605").await;

        let seen = record_nodes(&app, &chancheng.admin, json!({ "areaId": chancheng_area })).await;
        assert_eq!(seen.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![json!(chancheng_record)]);
        let seen = record_nodes(&app, &nanhai.admin, json!({ "areaId": nanhai_area })).await;
        assert_eq!(seen.iter().map(|r| r["id"].clone()).collect::<Vec<_>>(), vec![json!(nanhai_record)]);
        // A district admin asking for another district is refused.
        records(&app, &chancheng.admin, json!({ "areaId": nanhai_area })).await.expect_error("FORBIDDEN", None);
        records(&app, &nanhai.admin, json!({ "areaId": chancheng_area })).await.expect_error("FORBIDDEN", None);
        // So is a leader or a volunteer asking by area.
        records(&app, &chancheng.leader, json!({ "areaId": chancheng_area })).await.expect_error("FORBIDDEN", None);
        records(&app, &in_chancheng, json!({ "areaId": chancheng_area })).await.expect_error("FORBIDDEN", None);
        // The city's admin sees both districts.
        let city_admin = app.area_admin("440600").await;
        let city = app.area_id("440600").await;
        let answer = records(&app, &city_admin, json!({ "areaId": city })).await;
        assert_eq!(answer.data()["serviceRecords"]["totalCount"], 2);
    }
    async fn approving_an_attendance_record_with_more_minutes_than_the_event_lasted_is_refused(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(starts), None).await.data();
        check_out(&app, &scene.member, &scene.sign_up, None, Some(ends)).await.data();
        let mine = record_nodes(&app, &scene.member, json!(null)).await;
        assert_eq!(mine[0]["minutes"], 60);
        let id = mine[0]["id"].as_str().unwrap().to_owned();
        // Invariant 6: credited minutes are never more than the event's length (60 minutes).
        let inflated = review(&app, &scene.team.leader, &id, "APPROVE", Some(300), None).await;
        let approved = record_nodes(&app, &scene.member, json!({ "status": "APPROVED" })).await;
        assert!(
            approved.is_empty(),
            "a 60-minute event's record was approved with {:?} minutes: {}",
            approved.first().map(|r| r["minutes"].clone()),
            inflated.body
        );
        inflated.expect_error("BAD_USER_INPUT", Some("minutes"));
        // Correcting downwards is what corrections are for.
        let corrected = review(&app, &scene.team.leader, &id, "APPROVE", Some(45), None).await;
        assert_eq!(corrected.data()["reviewServiceRecord"]["minutes"], 45);
    }

    async fn a_reviewer_who_may_not_review_is_refused_before_the_volunteers_day_is_revealed(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let teammate = app.member(&team).await;
        let outsider = app.volunteer().await;
        let day = local_day(-1);
        let long_shift = recorded(&app, &team, &member, 700, day).await;
        review(&app, &team.admin, &long_shift, "APPROVE", None, None).await.data();
        let extra = recorded(&app, &team, &member, 60, day).await;
        // Approving `extra` would pass 12 hours; but these callers may not review it at all, and
        // must be told so (FORBIDDEN) rather than how many minutes the volunteer has that day.
        for (who, session) in [("outsider", &outsider), ("plain teammate", &teammate), ("the record's own volunteer", &member)] {
            let refused = review(&app, session, &extra, "APPROVE", None, None).await;
            assert_eq!(refused.error_code(), "FORBIDDEN", "{who}: {}", refused.body);
            assert!(!refused.error_message().contains("760"), "{who}: {}", refused.body);
        }
        // The admin gets the real reason.
        review(&app, &team.admin, &extra, "APPROVE", None, None).await.expect_error("BAD_USER_INPUT", Some("minutes"));
    }

    async fn two_leaders_approving_two_records_of_one_day_at_once_cannot_pass_eight_hours(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let second_leader = app.member(&team).await;
        make_role(&app, &team, &second_leader, "LEADER").await;
        let member = app.member(&team).await;
        let day = local_day(-1);
        let first = recorded(&app, &team, &member, 300, day).await;
        let second = recorded(&app, &team, &member, 300, day).await;
        let (a, b) = futures::future::join(
            review(&app, &team.leader, &first, "APPROVE", None, None),
            review(&app, &second_leader, &second, "APPROVE", None, None),
        )
        .await;
        let answers = [&a, &b];
        assert_eq!(answers.iter().filter(|r| r.body.get("errors").is_none()).count(), 1, "{a:?} {b:?}");
        for loser in answers.iter().filter(|r| r.body.get("errors").is_some()) {
            loser.expect_error("FORBIDDEN", None);
        }
        let approved = record_nodes(&app, &member, json!({ "status": "APPROVED" })).await;
        assert_eq!(approved.iter().map(|r| r["minutes"].as_i64().unwrap()).sum::<i64>(), 300);
    }

    async fn a_cancelled_events_sign_up_cannot_be_checked_in(app: TestApp) {
        let scene = scene(&app, 10, 60).await;
        let cancel = "mutation($id: ID!, $reason: String!) { cancelEvent(eventId: $id, reason: $reason) { status } }";
        let cancelled = app.graphql_as(&scene.team.leader, cancel, json!({ "id": scene.event, "reason": "台风 typhoon" })).await;
        assert_eq!(cancelled.data()["cancelEvent"]["status"], "CANCELLED");
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), None, None).await
            .expect_error("CONFLICT", None);
        check_in(&app, &scene.team.leader, &scene.sign_up, None, None, None).await
            .expect_error("CONFLICT", None);
        assert_eq!(attendance_of(&app, &scene.member, &scene.sign_up).await, Value::Null);
    }

    async fn recording_service_for_another_teams_event_is_refused(app: TestApp) {
        let team = app.team("南华反诈宣传队", "440604", "OPEN").await;
        let other = app.team("张槎网格巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let foreign = app.event(&other.leader, &other.id, EventSpec::default()).await;
        let own = app.event(&team.leader, &team.id, EventSpec::default()).await;
        let input = |event: &str| json!({ "input": {
            "volunteerId": member.volunteer_id, "teamId": team.id, "eventId": event, "minutes": 60,
            "serviceDate": local_day(-1).to_string(),
        } });
        app.graphql_as(&team.leader, RECORD_SERVICE, input(&foreign)).await
            .expect_error("BAD_USER_INPUT", Some("input.eventId"));
        let recorded = app.graphql_as(&team.leader, RECORD_SERVICE, input(&own)).await;
        assert_eq!(recorded.data()["recordService"]["event"]["id"], own.as_str());
    }
}
