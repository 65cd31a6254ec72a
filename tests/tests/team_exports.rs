//! Leaders' tools, end to end through HTTP on SQLite and PostgreSQL: what each reader sees of a
//! member's phone number (`Team.members` and the roster export follow one rule), and a team's
//! CSV exports — `GET /teams/{id}/exports/roster.csv` and `GET /events/{id}/exports/attendance.csv`:
//! content, byte-order mark, neutralised cells, paging through a large team, and who may not
//! download them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike as _, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Asia::Shanghai;
use feihong_tests::fixtures::{CANCEL_SIGN_UP, EVENT_LAT, EVENT_LNG, JOIN_TEAM};
use feihong_tests::{EventSpec, Session, TeamFixture, TestApp, on_every_backend};
use sea_orm::ConnectionTrait as _;
use sea_orm::sea_query::{Alias, Query};
use serde_json::{Value, json};

const MEMBERS: &str = "query($id: ID!, $pending: Boolean!) {
  team(id: $id) { members(first: 100, pending: $pending) { nodes { phone volunteer { id } } } }
}";
const SET_ROLE: &str = "mutation($team: ID!, $volunteer: ID!, $role: MemberRole!) {
  setMemberRole(teamId: $team, volunteerId: $volunteer, role: $role) { role }
}";
const REVIEW_MEMBERSHIP: &str =
    "mutation($id: ID!) { reviewMembership(membershipId: $id, approve: true) { status } }";
const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(eventId: $id, input: $input) { id } }";
const CHECK_IN: &str = "mutation($signUp: ID!, $position: PositionInput, $at: DateTime) {
  checkIn(signUpId: $signUp, position: $position, at: $at) { checkInAt }
}";
const CHECK_OUT: &str = "mutation($signUp: ID!, $position: PositionInput) {
  checkOut(signUpId: $signUp, position: $position) { checkOutAt }
}";
const ATTENDANCE: &str = "query($id: ID!) { node(id: $id) { ... on SignUp {
  attendance { checkInAt checkOutAt }
} } }";
const RECORDS: &str = "query($team: ID!) {
  serviceRecords(filter: { teamId: $team }, first: 100) { nodes { id minutes needsReview volunteer { id } } }
}";
const REVIEW: &str =
    "mutation($id: ID!) { reviewServiceRecord(recordId: $id, decision: APPROVE) { status } }";

/// A display name a spreadsheet would run as a formula.
const FORMULA_NAME: &str = "=1+2 黄飞鸿";
const BOM: &[u8] = "\u{feff}".as_bytes();

fn masked(phone: &str) -> String {
    format!("{}****{}", &phone[..3], &phone[7..])
}

fn global_id(node_type: &str, number: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{node_type}:{number}"))
}

/// The number inside a global ID.
fn number_of(id: &str) -> i64 {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).unwrap()).unwrap();
    raw.split_once(':').unwrap().1.parse().unwrap()
}

fn today() -> NaiveDate {
    Utc::now().with_timezone(&Shanghai).date_naive()
}

fn local_minute(at: &Value) -> String {
    DateTime::parse_from_rfc3339(at.as_str().expect("a time"))
        .unwrap()
        .with_timezone(&Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A download as the client got it.
struct Download {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
}

impl Download {
    /// The CSV's rows after its byte-order mark (which it must have).
    fn rows(&self) -> Vec<Vec<String>> {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.bytes));
        assert!(
            self.content_type.starts_with("text/csv"),
            "{}",
            self.content_type
        );
        assert!(self.bytes.starts_with(BOM), "UTF-8 with a byte-order mark");
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&self.bytes[BOM.len()..])
            .records()
            .map(|record| record.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    /// The `code` of a refusal's JSON body.
    fn code(&self) -> String {
        let body: Value = serde_json::from_slice(&self.bytes).expect("a JSON refusal");
        body["code"].as_str().unwrap_or_default().to_owned()
    }
}

async fn download(app: &TestApp, path: &str, caller: Option<&Session>) -> Download {
    let mut request = app.http().get(app.url(path));
    if let Some(caller) = caller {
        request = request.bearer_auth(&caller.access_token);
    }
    let response = request.send().await.unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    Download {
        status: response.status().as_u16(),
        content_type,
        bytes: response.bytes().await.unwrap().to_vec(),
    }
}

/// Asserts each caller is refused with the status and code given (`None`: anonymous).
async fn refused(app: &TestApp, path: &str, callers: &[(Option<&Session>, u16, &str)]) {
    for (caller, status, code) in callers {
        let answer = download(app, path, *caller).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (*status, *code),
            "{path} as {:?}",
            caller.map(|c| &c.phone)
        );
    }
}

/// A volunteer named `name` who joined the team (and was admitted, on an APPROVAL team).
async fn member_named(app: &TestApp, team: &TeamFixture, phone: &str, name: &str) -> Session {
    let session = app.register(phone, name).await;
    let joined = app
        .graphql_as(&session, JOIN_TEAM, json!({ "id": team.id }))
        .await;
    let membership = &joined.data()["joinTeam"];
    if membership["status"] == "PENDING" {
        app.graphql_as(
            &team.leader,
            REVIEW_MEMBERSHIP,
            json!({ "id": membership["id"] }),
        )
        .await
        .data();
    }
    session
}

/// `(volunteer id, phone)` of each line of the team's member list as `reader` reads it.
async fn member_phones(
    app: &TestApp,
    reader: &Session,
    team: &str,
    pending: bool,
) -> Vec<(String, Value)> {
    let seen = app
        .graphql_as(reader, MEMBERS, json!({ "id": team, "pending": pending }))
        .await;
    seen.data()["team"]["members"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let id = node["volunteer"]["id"].as_str().unwrap().to_owned();
            (id, node["phone"].clone())
        })
        .collect()
}

/// An APPROVAL team in Chancheng: its leader, a deputy, a member with a formula for a name, and a
/// volunteer whose join request waits.
struct Crew {
    team: TeamFixture,
    deputy: Session,
    member: Session,
    applicant: Session,
}

async fn crew(app: &TestApp) -> Crew {
    let team = app.team("祖庙功夫巡逻队", "440604", "APPROVAL").await;
    let deputy = app.member(&team).await;
    let role = json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "DEPUTY" });
    app.graphql_as(&team.leader, SET_ROLE, role).await.data();
    let member = member_named(app, &team, "13800000021", FORMULA_NAME).await;
    let applicant = app.volunteer().await;
    let joined = app
        .graphql_as(&applicant, JOIN_TEAM, json!({ "id": team.id }))
        .await;
    assert_eq!(joined.data()["joinTeam"]["status"], "PENDING");
    Crew {
        team,
        deputy,
        member,
        applicant,
    }
}

on_every_backend! {
    async fn leaders_and_deputies_see_active_members_numbers_in_full_and_others_masked_or_not_at_all(app: TestApp) {
        let Crew { team, deputy, member, applicant } = crew(&app).await;
        let active = [&team.leader, &deputy, &member];
        let full: Vec<(String, Value)> = active.iter().map(|s| (s.volunteer_id.clone(), json!(s.phone))).collect();
        let hidden: Vec<(String, Value)> = active.iter().map(|s| (s.volunteer_id.clone(), json!(masked(&s.phone)))).collect();
        for manager in [&team.leader, &deputy] {
            assert_eq!(member_phones(&app, manager, &team.id, false).await, full);
            // A join request's number stays masked until the volunteer is admitted.
            let requests = member_phones(&app, manager, &team.id, true).await;
            assert_eq!(requests, [(applicant.volunteer_id.clone(), json!(masked(&applicant.phone)))]);
        }
        let city = app.area_admin("440600").await;
        for admin in [&team.admin, &city] {
            assert_eq!(member_phones(&app, admin, &team.id, false).await, hidden);
            let requests = member_phones(&app, admin, &team.id, true).await;
            assert_eq!(requests, [(applicant.volunteer_id.clone(), json!(masked(&applicant.phone)))]);
        }
        // A plain member sees the list, without numbers, and no join requests.
        let seen = member_phones(&app, &member, &team.id, false).await;
        assert!(seen.iter().all(|(_, phone)| phone.is_null()), "{seen:?}");
        app.graphql_as(&member, MEMBERS, json!({ "id": team.id, "pending": true })).await.expect_error("FORBIDDEN", None);

        // The roster export shows the numbers by the same rule.
        let path = format!("/teams/{}/exports/roster.csv", team.id);
        let phones = |rows: Vec<Vec<String>>| rows[1..].iter().map(|row| row[2].clone()).collect::<Vec<_>>();
        let full: Vec<String> = active.iter().map(|s| s.phone.clone()).collect();
        let hidden: Vec<String> = active.iter().map(|s| masked(&s.phone)).collect();
        assert_eq!(phones(download(&app, &path, Some(&deputy)).await.rows()), full);
        assert_eq!(phones(download(&app, &path, Some(&city)).await.rows()), hidden);
    }

    async fn the_roster_lists_active_members_with_role_phone_joining_day_and_minutes(app: TestApp) {
        let Crew { team, deputy, member, .. } = crew(&app).await;
        let day = today().to_string();
        app.approved_minutes(&team, &member, 90, &day).await;
        // Minutes of last year count in all, not in this year.
        let last_year = NaiveDate::from_ymd_opt(today().year(), 1, 1).unwrap() - Duration::days(1);
        app.approved_minutes(&team, &member, 30, &last_year.to_string()).await;
        app.approved_minutes(&team, &deputy, 45, &day).await;

        let rows = download(&app, &format!("/teams/{}/exports/roster.csv", team.id), Some(&team.leader)).await.rows();
        assert_eq!(rows[0][..3], ["姓名 Name", "角色 Role", "手机号 Phone"]);
        assert_eq!(rows[0].len(), 6);
        let expected = [
            [format!("{} 队长", "祖庙功夫巡逻队"), "队长 Leader".into(), team.leader.phone.clone(), day.clone(), "0".into(), "0".into()],
            [format!("志愿者{}", &deputy.phone[7..]), "副队长 Deputy".into(), deputy.phone.clone(), day.clone(), "45".into(), "45".into()],
            [format!("'{FORMULA_NAME}"), "队员 Member".into(), member.phone.clone(), day.clone(), "90".into(), "120".into()],
        ];
        assert_eq!(rows[1..], expected, "in joining order; the applicant is not a member yet");
        // The cell is neutralised in the bytes sent, not only in how they parse.
        let raw = download(&app, &format!("/teams/{}/exports/roster.csv", team.id), Some(&team.leader)).await;
        let text = String::from_utf8(raw.bytes).unwrap();
        assert!(text.contains(&format!("\n'{FORMULA_NAME},")), "{text}");
        assert!(!text.contains(&format!("\n{FORMULA_NAME}")), "{text}");
    }

    async fn only_the_team_s_leaders_deputies_and_area_admins_export_its_roster(app: TestApp) {
        let Crew { team, deputy, member, applicant } = crew(&app).await;
        let path = format!("/teams/{}/exports/roster.csv", team.id);
        let district = team.admin.clone();
        for allowed in [&team.leader, &deputy, &district, &app.area_admin("440600").await] {
            assert_eq!(download(&app, &path, Some(allowed)).await.rows().len(), 4);
        }
        let other_leader = app.team("顺德护校队", "440606", "OPEN").await.leader;
        let other_admin = app.area_admin("440606").await;
        let outsider = app.volunteer().await;
        refused(&app, &path, &[
            (None, 401, "UNAUTHENTICATED"),
            (Some(&member), 403, "FORBIDDEN"),
            (Some(&applicant), 403, "FORBIDDEN"),
            (Some(&outsider), 403, "FORBIDDEN"),
            (Some(&other_leader), 403, "FORBIDDEN"),
            (Some(&other_admin), 403, "FORBIDDEN"),
        ]).await;
        let unknown = [global_id("Team", 999_999), member.volunteer_id.clone(), "not-an-id".to_owned()];
        for id in unknown {
            refused(&app, &format!("/teams/{id}/exports/roster.csv"), &[(Some(&team.leader), 404, "NOT_FOUND")]).await;
        }
        // A stale token is no token.
        let stale = Session { access_token: "x.y.z".to_owned(), ..team.leader.clone() };
        refused(&app, &path, &[(Some(&stale), 401, "UNAUTHENTICATED")]).await;
    }

    async fn a_roster_of_over_a_thousand_members_streams_every_one_in_joining_order(app: TestApp) {
        let team = app.team("南海巡逻大队", "440605", "OPEN").await;
        let count = 1_234;
        add_members(&app, number_of(&team.id), count).await;
        let rows = download(&app, &format!("/teams/{}/exports/roster.csv", team.id), Some(&team.leader)).await.rows();
        assert_eq!(rows.len(), 1 + 1 + count, "the header, the leader, the members");
        let names: Vec<&str> = rows[2..].iter().map(|row| row[0].as_str()).collect();
        let expected: Vec<String> = (0..count).map(|i| format!("队员{i:04}")).collect();
        assert_eq!(names, expected);
        assert!(rows[2..].iter().all(|row| row[2].starts_with("1381") && row[2].len() == 11));
    }
}

/// `count` volunteers written straight into the database and made ACTIVE members of the team,
/// in order (registering them through the API would take the registration limit and minutes).
async fn add_members(app: &TestApp, team: i64, count: usize) {
    let db = app.database().await;
    let area: i64 = number_of(&app.area_id("440605").await);
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
                format!("1381{i:07}").into(),
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
    let members = format!(
        "INSERT INTO memberships (team_id, volunteer_id, role, status, created_at, updated_at) \
         SELECT {team}, id, 'MEMBER', 'ACTIVE', created_at, updated_at FROM volunteers \
         WHERE phone LIKE '1381%' ORDER BY id"
    );
    db.execute_unprepared(&members).await.unwrap();
}

/// A Chancheng team's event under way (from an hour ago for two hours): three confirmed
/// volunteers — one checked in and out by GPS, one by the leader, one not at all — one
/// waitlisted and one who cancelled.
struct Patrol {
    team: TeamFixture,
    deputy: Session,
    event: String,
    sign_ups: Vec<(Session, String)>,
}

async fn patrol(app: &TestApp) -> Patrol {
    let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
    let deputy = app.member(&team).await;
    let role = json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "DEPUTY" });
    app.graphql_as(&team.leader, SET_ROLE, role).await.data();
    let spec = EventSpec {
        starts_in: 10,
        lasts: 30,
        capacity: 3,
        ..Default::default()
    };
    let event = app.event(&team.leader, &team.id, spec).await;
    let mut sign_ups = Vec::new();
    let formula = member_named(app, &team, "13800000031", "=cmd|' /C calc'!A0").await;
    for volunteer in [
        app.member(&team).await,
        app.member(&team).await,
        formula,
        app.member(&team).await,
        app.member(&team).await,
    ] {
        let signed = app.sign_up(&volunteer, &event, None).await;
        let id = signed.data()["signUp"]["id"].as_str().unwrap().to_owned();
        sign_ups.push((volunteer, id));
    }
    let (last, last_id) = &sign_ups[4];
    app.graphql_as(last, CANCEL_SIGN_UP, json!({ "id": last_id }))
        .await
        .data();
    let starts = Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap() - Duration::minutes(60);
    let input = json!({ "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::minutes(120)).to_rfc3339() });
    app.graphql_as(
        &team.leader,
        UPDATE_EVENT,
        json!({ "id": event, "input": input }),
    )
    .await
    .data();

    let here = json!({ "lat": EVENT_LAT, "lng": EVENT_LNG, "accuracyM": 8.0 });
    let (gps, gps_id) = &sign_ups[0];
    let at = (starts + Duration::minutes(5)).to_rfc3339();
    app.graphql_as(
        gps,
        CHECK_IN,
        json!({ "signUp": gps_id, "position": here, "at": at }),
    )
    .await
    .data();
    app.graphql_as(
        gps,
        CHECK_OUT,
        json!({ "signUp": gps_id, "position": here }),
    )
    .await
    .data();
    let (_, by_hand) = &sign_ups[1];
    let at = (starts + Duration::minutes(10)).to_rfc3339();
    app.graphql_as(
        &team.leader,
        CHECK_IN,
        json!({ "signUp": by_hand, "at": at }),
    )
    .await
    .data();
    app.graphql_as(&team.leader, CHECK_OUT, json!({ "signUp": by_hand }))
        .await
        .data();
    Patrol {
        team,
        deputy,
        event,
        sign_ups,
    }
}

/// The service record of each volunteer on the team: (id, minutes, needs review).
async fn records(app: &TestApp, team: &TeamFixture) -> Vec<(String, String, i64, bool)> {
    let seen = app
        .graphql_as(&team.leader, RECORDS, json!({ "team": team.id }))
        .await;
    seen.data()["serviceRecords"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["volunteer"]["id"].as_str().unwrap().to_owned(),
                node["id"].as_str().unwrap().to_owned(),
                node["minutes"].as_i64().unwrap(),
                node["needsReview"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// What the sheet should say of a checked-in sign-up, from the API's own answers.
async fn expected_attendance(
    app: &TestApp,
    volunteer: &Session,
    sign_up: &str,
    records: &[(String, String, i64, bool)],
) -> (String, String, String, String) {
    let seen = app
        .graphql_as(volunteer, ATTENDANCE, json!({ "id": sign_up }))
        .await;
    let attendance = seen.data()["node"]["attendance"].clone();
    let (_, _, minutes, needs_review) = records
        .iter()
        .find(|(owner, ..)| *owner == volunteer.volunteer_id)
        .expect("a record of the attendance");
    let review = if *needs_review { "是 Yes" } else { "否 No" };
    (
        local_minute(&attendance["checkInAt"]),
        local_minute(&attendance["checkOutAt"]),
        minutes.to_string(),
        review.to_owned(),
    )
}

on_every_backend! {
    async fn the_attendance_sheet_lists_every_sign_up_with_its_check_in_minutes_and_review(app: TestApp) {
        let Patrol { team, event, sign_ups, .. } = patrol(&app).await;
        let records = records(&app, &team).await;
        assert_eq!(records.len(), 2, "{records:?}");
        let gps_record = records.iter().find(|(owner, ..)| *owner == sign_ups[0].0.volunteer_id).map(|r| r.1.clone());
        app.graphql_as(&team.leader, REVIEW, json!({ "id": gps_record })).await.data();

        let rows = download(&app, &format!("/events/{event}/exports/attendance.csv"), Some(&team.leader)).await.rows();
        assert_eq!(rows.len(), 6, "the header and every sign-up: {rows:?}");
        assert_eq!(rows[0][0], "志愿者 Volunteer");
        assert_eq!(rows[0][3], "签到时间 Check-in (Asia/Shanghai)");
        let statuses: Vec<&str> = rows[1..].iter().map(|row| row[1].as_str()).collect();
        assert_eq!(statuses, ["已确认 Confirmed", "已确认 Confirmed", "已确认 Confirmed", "候补 Waitlisted", "已取消 Cancelled"]);

        let (gps, gps_id) = &sign_ups[0];
        let (check_in, check_out, minutes, review) = expected_attendance(&app, gps, gps_id, &records).await;
        // The check-in was reported 55 minutes after its time: offline, and told apart.
        assert_eq!(rows[1][3..], [check_in, "本人离线补报 Self, reported offline".into(), check_out, "本人定位 Self by GPS".into(), minutes, "已通过 Approved".into(), review]);
        let (by_hand, by_hand_id) = &sign_ups[1];
        let (check_in, check_out, minutes, review) = expected_attendance(&app, by_hand, by_hand_id, &records).await;
        assert_eq!(rows[2][3..], [check_in, "队长代签 Leader".into(), check_out, "队长代签 Leader".into(), minutes, "待审核 Pending".into(), review]);
        // Nothing recorded yet: blank, and the name neutralised.
        assert_eq!(rows[3][0], "'=cmd|' /C calc'!A0");
        for row in &rows[3..] {
            assert!(row[3..].iter().all(String::is_empty), "{row:?}");
        }
        let names: Vec<&str> = rows[1..].iter().map(|row| row[0].as_str()).collect();
        assert!(names[..2].iter().chain(&names[3..]).all(|name| name.starts_with("志愿者")), "{names:?}");
    }

    async fn only_the_team_s_leaders_deputies_and_area_admins_export_an_event_s_attendance(app: TestApp) {
        let Patrol { team, deputy, event, sign_ups } = patrol(&app).await;
        let path = format!("/events/{event}/exports/attendance.csv");
        for allowed in [&team.leader, &deputy, &team.admin, &app.area_admin("440600").await] {
            assert_eq!(download(&app, &path, Some(allowed)).await.rows().len(), 6);
        }
        let member = &sign_ups[0].0;
        let other_leader = app.team("顺德护校队", "440606", "OPEN").await.leader;
        let other_admin = app.area_admin("440606").await;
        refused(&app, &path, &[
            (None, 401, "UNAUTHENTICATED"),
            (Some(member), 403, "FORBIDDEN"),
            (Some(&other_leader), 403, "FORBIDDEN"),
            (Some(&other_admin), 403, "FORBIDDEN"),
        ]).await;
        for id in [global_id("Event", 999_999), team.id.clone(), sign_ups[0].1.clone()] {
            refused(&app, &format!("/events/{id}/exports/attendance.csv"), &[(Some(&team.leader), 404, "NOT_FOUND")]).await;
        }
    }
}
