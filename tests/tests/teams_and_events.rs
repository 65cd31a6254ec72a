//! Teams, memberships, events and patrol schedules, end to end through HTTP, on SQLite and
//! PostgreSQL: who may do what, what each list shows to whom, and what every write leaves behind.

use chrono::{
    DateTime, Datelike, Duration, DurationRound as _, NaiveDate, NaiveTime, SubsecRound as _,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Asia::Shanghai;
use feihong_tests::{EventSpec, Session, TeamFixture, TestApp, on_every_backend};
use serde_json::{Value, json};

const CREATE_TEAM: &str = "mutation($input: CreateTeamInput!) {
  createTeam(input: $input) { id name kind joinPolicy area { code } parent { id } memberCount leaders { id } }
}";
const TEAM: &str = "query($id: ID!) {
  team(id: $id) { id name kind joinPolicy area { code } parent { id } subTeams { id } memberCount leaders { id } }
}";
const TEAMS: &str = "query($filter: TeamFilter, $first: Int, $after: String) {
  teams(filter: $filter, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id name } }
}";
const JOIN_TEAM: &str =
    "mutation($id: ID!) { joinTeam(teamId: $id) { id status role volunteer { id } } }";
const REVIEW_MEMBERSHIP: &str = "mutation($id: ID!, $approve: Boolean!) {
  reviewMembership(membershipId: $id, approve: $approve) { id status role }
}";
const SET_MEMBER_ROLE: &str = "mutation($team: ID!, $volunteer: ID!, $role: MemberRole!) {
  setMemberRole(teamId: $team, volunteerId: $volunteer, role: $role) { role status volunteer { id } }
}";
const LEAVE_TEAM: &str = "mutation($id: ID!) { leaveTeam(teamId: $id) { status role } }";
const MEMBERS: &str = "query($id: ID!, $first: Int, $after: String, $pending: Boolean!) {
  team(id: $id) { members(first: $first, after: $after, pending: $pending) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id role status phone volunteer { id phone } }
  } }
}";
const CREATE_EVENT: &str = "mutation($input: CreateEventInput!) {
  createEvent(input: $input) { id status title kind visibility capacity team { id } area { code } location { lat lng } }
}";
const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) {
  updateEvent(eventId: $id, input: $input) { id title status }
}";
const PUBLISH_EVENT: &str = "mutation($id: ID!) { publishEvent(eventId: $id) { id status } }";
const CANCEL_EVENT: &str = "mutation($id: ID!, $reason: String!) {
  cancelEvent(eventId: $id, reason: $reason) { id status cancelReason confirmedCount waitlistCount }
}";
const EVENT: &str = "query($id: ID!) {
  event(id: $id) { id title status visibility cancelReason confirmedCount waitlistCount viewerSignUp { id status } }
}";
const EVENTS: &str = "query($filter: EventFilter, $first: Int, $after: String) {
  events(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id title kind status visibility startsAt endsAt schedule { id } }
  }
}";
const ROSTER: &str = "query($id: ID!) { event(id: $id) { roster { totalCount } } }";
const MY_SIGN_UPS: &str = "{ mySignUps { totalCount nodes { id status event { id } } } }";
const MY_NOTIFICATIONS: &str =
    "{ myNotifications { totalCount nodes { kind message event { id } } } }";
const SCHEDULE_PATROLS: &str = "mutation($input: SchedulePatrolsInput!) {
  schedulePatrols(input: $input) { id status weekdays startTime durationMinutes from until }
}";
const CANCEL_SCHEDULE: &str = "mutation($id: ID!, $reason: String!) {
  cancelPatrolSchedule(scheduleId: $id, reason: $reason) { id status }
}";
const AUDIT_LOG: &str = "query($filter: AuditFilter!) {
  auditLog(filter: $filter, first: 100) { totalCount nodes { action entityType actor { id } before after } }
}";

/// Zumiao, Chancheng; a point about 1.1 km north of it, one about 560 m north; and Shunde.
const ZUMIAO: (f64, f64) = (23.0290, 113.1140);
const NORTH_1100M: (f64, f64) = (23.0390, 113.1140);
const NORTH_560M: (f64, f64) = (23.0340, 113.1140);
const SHUNDE: (f64, f64) = (22.805, 113.293);

/// The global ID of the area with this code, at any depth. (`TestApp::area_id` stops searching at
/// the first town list it reads, so it finds only the last district's towns.)
async fn area_id(app: &TestApp, code: &str) -> String {
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
fn node_ids(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection}"))
        .iter()
        .map(|node| node["id"].as_str().expect("node id").to_owned())
        .collect()
}

/// `138****5678`, as leaders should see a member's phone.
fn masked(phone: &str) -> String {
    format!("{}****{}", &phone[..3], &phone[7..])
}

/// Turns a valid input into an invalid one.
type Spoiler = Box<dyn Fn(&mut Value)>;

/// A valid createEvent input for the team, starting tomorrow, at Zumiao.
fn event_input(team_id: &str) -> Value {
    let starts = Utc::now() + Duration::days(1);
    json!({
        "teamId": team_id, "kind": "PATROL", "title": "祖庙夜间巡逻",
        "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::hours(2)).to_rfc3339(),
        "capacity": 10, "visibility": "PUBLIC",
        "location": { "address": "佛山市禅城区祖庙路21号", "lat": ZUMIAO.0, "lng": ZUMIAO.1, "radiusM": 200 },
    })
}

/// The leader creates and publishes a PUBLIC event of `kind` at `at`, starting in `hours`.
async fn published_event_at(
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
async fn events_seen(app: &TestApp, session: Option<&Session>, filter: Value) -> Value {
    let variables = json!({ "filter": filter, "first": 100 });
    let response = match session {
        Some(session) => app.graphql_as(session, EVENTS, variables).await,
        None => app.graphql(EVENTS, variables).await,
    };
    response.data()["events"].clone()
}

async fn event_ids_seen(app: &TestApp, session: Option<&Session>, filter: Value) -> Vec<String> {
    node_ids(&events_seen(app, session, filter).await)
}

/// How many events of the team its leader sees (drafts included).
async fn team_event_count(app: &TestApp, leader: &Session, team_id: &str) -> u64 {
    events_seen(app, Some(leader), json!({ "teamId": team_id })).await["totalCount"]
        .as_u64()
        .expect("totalCount")
}

async fn team_view(app: &TestApp, team_id: &str) -> Value {
    app.graphql(TEAM, json!({ "id": team_id })).await.data()["team"].clone()
}

async fn leader_ids(app: &TestApp, team_id: &str) -> Vec<String> {
    node_ids(&json!({ "nodes": team_view(app, team_id).await["leaders"] }))
}

async fn notifications(app: &TestApp, session: &Session) -> Vec<Value> {
    let response = app.graphql_as(session, MY_NOTIFICATIONS, json!({})).await;
    response.data()["myNotifications"]["nodes"]
        .as_array()
        .expect("nodes")
        .clone()
}

/// The start (UTC) of every Monday and Wednesday 19:30 Shanghai occurrence in the range after `now`.
fn monday_wednesday_1930(
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

fn patrol_input(team_id: &str, from: NaiveDate, until: NaiveDate) -> Value {
    json!({
        "teamId": team_id, "title": "祖庙功夫夜巡", "weekdays": ["MONDAY", "WEDNESDAY"],
        "startTime": "19:30", "durationMinutes": 120,
        "from": from.format("%Y-%m-%d").to_string(), "until": until.format("%Y-%m-%d").to_string(),
        "capacity": 12,
        "location": { "address": "佛山市禅城区祖庙路21号", "lat": ZUMIAO.0, "lng": ZUMIAO.1, "radiusM": 300 },
    })
}

fn today_in_shanghai() -> NaiveDate {
    Utc::now().with_timezone(&Shanghai).date_naive()
}

fn parse_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

on_every_backend! {
    async fn an_admin_creates_teams_inside_their_area_and_nobody_else_can(app: TestApp) {
        let admin = app.area_admin("440604").await;
        let leader = app.volunteer().await;
        let chancheng = area_id(&app, "440604").await;
        let created = app.graphql_as(&admin, CREATE_TEAM, json!({ "input": {
            "name": "祖庙功夫巡逻队", "kind": "KUNG_FU_PATROL", "areaId": chancheng,
            "joinPolicy": "APPROVAL", "leaderId": leader.volunteer_id,
        } })).await;
        let team = created.data()["createTeam"].clone();
        assert_eq!(team["name"], "祖庙功夫巡逻队");
        assert_eq!(team["kind"], "KUNG_FU_PATROL");
        assert_eq!(team["joinPolicy"], "APPROVAL");
        assert_eq!(team["area"]["code"], "440604");
        assert_eq!(team["leaders"], json!([{ "id": leader.volunteer_id }]));
        assert_eq!(team["memberCount"], 1);
        assert_eq!(team["parent"], Value::Null);
        let team_id = team["id"].as_str().unwrap().to_owned();

        // Without a leaderId the creating admin leads; the join policy defaults to OPEN.
        let own = app.graphql_as(&admin, CREATE_TEAM, json!({ "input": {
            "name": "禅城反诈宣传组", "kind": "ANTI_FRAUD", "areaId": chancheng,
        } })).await;
        assert_eq!(own.data()["createTeam"]["leaders"], json!([{ "id": admin.volunteer_id }]));
        assert_eq!(own.data()["createTeam"]["joinPolicy"], "OPEN");

        // A district admin's power ends at the district's border; a volunteer has none.
        let nanhai = area_id(&app, "440605").await;
        app.graphql_as(&admin, CREATE_TEAM, json!({ "input": { "name": "越界队", "kind": "OTHER", "areaId": nanhai } })).await
            .expect_error("FORBIDDEN", None);
        let volunteer = app.volunteer().await;
        app.graphql_as(&volunteer, CREATE_TEAM, json!({ "input": { "name": "自封队", "kind": "OTHER", "areaId": chancheng } })).await
            .expect_error("FORBIDDEN", None);
        app.graphql(CREATE_TEAM, json!({ "input": { "name": "匿名队", "kind": "OTHER", "areaId": chancheng } })).await
            .expect_error("UNAUTHENTICATED", None);
        let nanhai_teams = app.graphql(TEAMS, json!({ "filter": { "areaId": nanhai } })).await;
        assert_eq!(nanhai_teams.data()["teams"]["totalCount"], 0, "a refused createTeam writes nothing");
        let all = app.graphql(TEAMS, json!({})).await;
        assert_eq!(all.data()["teams"]["totalCount"], 2);

        // A sub-team in a town of the district hangs under its parent, both ways.
        let town = area_id(&app, "440604001").await;
        let child = app.graphql_as(&admin, CREATE_TEAM, json!({ "input": {
            "name": "祖庙街道一分队", "kind": "KUNG_FU_PATROL", "areaId": town, "parentTeamId": team_id, "leaderId": leader.volunteer_id,
        } })).await;
        let child = child.data()["createTeam"].clone();
        assert_eq!(child["parent"], json!({ "id": team_id }));
        assert_eq!(child["area"]["code"], "440604001");
        let child_id = child["id"].as_str().unwrap();
        let parent = team_view(&app, &team_id).await;
        assert_eq!(parent["subTeams"], json!([{ "id": child_id }]));
        assert_eq!(team_view(&app, child_id).await["parent"], json!({ "id": team_id }));

        // Even a city admin cannot put a sub-team outside its parent's area.
        let city_admin = app.area_admin("440600").await;
        app.graphql_as(&city_admin, CREATE_TEAM, json!({ "input": {
            "name": "南海分队", "kind": "KUNG_FU_PATROL", "areaId": nanhai, "parentTeamId": team_id,
        } })).await.expect_error("BAD_USER_INPUT", Some("input.parentTeamId"));
        let in_nanhai = app.graphql_as(&city_admin, CREATE_TEAM, json!({ "input": { "name": "南海功夫队", "kind": "KUNG_FU_PATROL", "areaId": nanhai } })).await;
        assert_eq!(in_nanhai.data()["createTeam"]["area"]["code"], "440605");
    }

    async fn teams_filter_by_area_subtree_kind_and_name_and_page_with_cursors(app: TestApp) {
        let chancheng_admin = app.area_admin("440604").await;
        let shunde_admin = app.area_admin("440606").await;
        let (chancheng, town, shunde, city) = (
            area_id(&app, "440604").await, area_id(&app, "440604001").await,
            area_id(&app, "440606").await, area_id(&app, "440600").await,
        );
        let create = async |admin: &Session, name: &str, kind: &str, area: &str| {
            let created = app.graphql_as(admin, CREATE_TEAM, json!({ "input": { "name": name, "kind": kind, "areaId": area } })).await;
            created.data()["createTeam"]["id"].as_str().unwrap().to_owned()
        };
        let patrol = create(&chancheng_admin, "祖庙功夫巡逻队", "KUNG_FU_PATROL", &chancheng).await;
        let town_fraud = create(&chancheng_admin, "祖庙街道反诈宣传组", "ANTI_FRAUD", &town).await;
        let shunde_fraud = create(&shunde_admin, "顺德反诈志愿队", "ANTI_FRAUD", &shunde).await;
        let campus = create(&shunde_admin, "大良护校队", "CAMPUS_GUARD", &shunde).await;

        let teams = async |filter: Value| {
            let response = app.graphql(TEAMS, json!({ "filter": filter })).await;
            let connection = response.data()["teams"].clone();
            assert_eq!(connection["totalCount"].as_u64().unwrap() as usize, node_ids(&connection).len());
            node_ids(&connection)
        };
        assert_eq!(teams(json!({ "areaId": chancheng })).await, [patrol.clone(), town_fraud.clone()], "the district covers its towns");
        assert_eq!(teams(json!({ "areaId": town })).await, vec![town_fraud.clone()]);
        assert_eq!(teams(json!({ "areaId": shunde })).await, [shunde_fraud.clone(), campus.clone()]);
        assert_eq!(teams(json!({ "areaId": city })).await.len(), 4);
        assert_eq!(teams(json!({ "kind": "ANTI_FRAUD" })).await, [town_fraud.clone(), shunde_fraud.clone()]);
        assert_eq!(teams(json!({ "nameContains": "反诈" })).await, [town_fraud.clone(), shunde_fraud.clone()]);
        assert_eq!(teams(json!({ "nameContains": "护校" })).await, vec![campus.clone()]);
        assert_eq!(teams(json!({ "areaId": chancheng, "kind": "ANTI_FRAUD" })).await, vec![town_fraud.clone()]);
        assert_eq!(teams(json!({ "areaId": shunde, "nameContains": "功夫" })).await, Vec::<String>::new());

        // Creation order, two at a time.
        let first = app.graphql(TEAMS, json!({ "first": 2 })).await;
        let first = first.data()["teams"].clone();
        assert_eq!(node_ids(&first), [patrol.clone(), town_fraud.clone()]);
        assert_eq!(first["totalCount"], 4);
        assert_eq!(first["pageInfo"]["hasNextPage"], true);
        let second = app.graphql(TEAMS, json!({ "first": 2, "after": first["pageInfo"]["endCursor"] })).await;
        let second = second.data()["teams"].clone();
        assert_eq!(node_ids(&second), [shunde_fraud.clone(), campus.clone()]);
        assert_eq!(second["pageInfo"]["hasNextPage"], false);
        assert_eq!(second["totalCount"], 4);
        let filtered = app.graphql(TEAMS, json!({ "filter": { "kind": "ANTI_FRAUD" }, "first": 1 })).await;
        let filtered = filtered.data()["teams"].clone();
        assert_eq!(node_ids(&filtered), vec![town_fraud.clone()]);
        assert_eq!(filtered["pageInfo"]["hasNextPage"], true);
        let rest = app.graphql(TEAMS, json!({ "filter": { "kind": "ANTI_FRAUD" }, "first": 1, "after": filtered["pageInfo"]["endCursor"] })).await;
        assert_eq!(node_ids(&rest.data()["teams"]), vec![shunde_fraud.clone()]);
        assert_eq!(rest.data()["teams"]["pageInfo"]["hasNextPage"], false);

        for first in [0, 101, -1] {
            app.graphql(TEAMS, json!({ "first": first })).await.expect_error("BAD_USER_INPUT", Some("first"));
        }
        app.graphql(TEAMS, json!({ "first": 100 })).await.data();
        // LIKE wildcards in the needle are plain characters.
        let percent = create(&shunde_admin, "100%守护队", "OTHER", &shunde).await;
        let underscore = create(&shunde_admin, "A_B巡逻队", "OTHER", &shunde).await;
        create(&shunde_admin, "100x守护队", "OTHER", &shunde).await;
        create(&shunde_admin, "AxB巡逻队", "OTHER", &shunde).await;
        assert_eq!(teams(json!({ "nameContains": "0%守" })).await, vec![percent.clone()]);
        assert_eq!(teams(json!({ "nameContains": "A_B" })).await, vec![underscore.clone()]);
    }

    async fn joining_an_open_team_is_immediate_and_an_approval_team_waits_for_the_leader(app: TestApp) {
        let open = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let volunteer = app.volunteer().await;
        let joined = app.graphql_as(&volunteer, JOIN_TEAM, json!({ "id": open.id })).await;
        assert_eq!(joined.data()["joinTeam"]["status"], "ACTIVE");
        assert_eq!(joined.data()["joinTeam"]["role"], "MEMBER");
        assert_eq!(joined.data()["joinTeam"]["volunteer"]["id"], volunteer.volunteer_id.as_str());
        assert_eq!(team_view(&app, &open.id).await["memberCount"], 2);
        app.graphql_as(&volunteer, JOIN_TEAM, json!({ "id": open.id })).await.expect_error("CONFLICT", None);
        assert_eq!(team_view(&app, &open.id).await["memberCount"], 2);

        let strict = app.team("顺德护校队", "440606", "APPROVAL").await;
        let member = app.member(&strict).await;
        let (alice, bob) = (app.volunteer().await, app.volunteer().await);
        let asked = app.graphql_as(&alice, JOIN_TEAM, json!({ "id": strict.id })).await;
        assert_eq!(asked.data()["joinTeam"]["status"], "PENDING");
        let alice_request = asked.data()["joinTeam"]["id"].as_str().unwrap().to_owned();
        app.graphql_as(&alice, JOIN_TEAM, json!({ "id": strict.id })).await.expect_error("CONFLICT", None);
        let asked = app.graphql_as(&bob, JOIN_TEAM, json!({ "id": strict.id })).await;
        let bob_request = asked.data()["joinTeam"]["id"].as_str().unwrap().to_owned();
        assert_eq!(team_view(&app, &strict.id).await["memberCount"], 2, "pending requests are not members");

        // The leader sees the requests; a plain member neither sees nor decides them.
        let pending = app.graphql_as(&strict.leader, MEMBERS, json!({ "id": strict.id, "pending": true })).await;
        let pending = pending.data()["team"]["members"].clone();
        assert_eq!(node_ids(&pending), [alice_request.clone(), bob_request.clone()]);
        assert_eq!(pending["totalCount"], 2);
        assert!(pending["nodes"].as_array().unwrap().iter().all(|m| m["status"] == "PENDING"));
        app.graphql_as(&member, MEMBERS, json!({ "id": strict.id, "pending": true })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&member, REVIEW_MEMBERSHIP, json!({ "id": alice_request, "approve": true })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&alice, REVIEW_MEMBERSHIP, json!({ "id": alice_request, "approve": true })).await.expect_error("FORBIDDEN", None);

        let approved = app.graphql_as(&strict.leader, REVIEW_MEMBERSHIP, json!({ "id": alice_request, "approve": true })).await;
        assert_eq!(approved.data()["reviewMembership"]["status"], "ACTIVE");
        assert_eq!(approved.data()["reviewMembership"]["role"], "MEMBER");
        let rejected = app.graphql_as(&strict.leader, REVIEW_MEMBERSHIP, json!({ "id": bob_request, "approve": false })).await;
        assert_eq!(rejected.data()["reviewMembership"]["status"], "REJECTED");
        app.graphql_as(&strict.leader, REVIEW_MEMBERSHIP, json!({ "id": bob_request, "approve": true })).await
            .expect_error("CONFLICT", None);

        let pending = app.graphql_as(&strict.leader, MEMBERS, json!({ "id": strict.id, "pending": true })).await;
        assert_eq!(pending.data()["team"]["members"]["totalCount"], 0);
        let active = app.graphql_as(&strict.leader, MEMBERS, json!({ "id": strict.id, "pending": false })).await;
        let volunteers: Vec<&Value> = active.data()["team"]["members"]["nodes"].as_array().unwrap().iter().map(|m| &m["volunteer"]["id"]).collect();
        assert_eq!(volunteers, [&json!(strict.leader.volunteer_id), &json!(member.volunteer_id), &json!(alice.volunteer_id)]);
        assert_eq!(team_view(&app, &strict.id).await["memberCount"], 3);
        // Alice, now a member, sees the team's TEAM events; Bob does not get in.
        app.graphql_as(&bob, MEMBERS, json!({ "id": strict.id, "pending": false })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&alice, MEMBERS, json!({ "id": strict.id, "pending": false })).await.data();
    }

    async fn leaders_appoint_deputies_and_a_team_always_keeps_a_leader(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let deputy = app.member(&team).await;
        let other = app.member(&team).await;

        let appointed = app.graphql_as(&team.leader, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "DEPUTY" })).await;
        assert_eq!(appointed.data()["setMemberRole"]["role"], "DEPUTY");
        assert_eq!(appointed.data()["setMemberRole"]["volunteer"]["id"], deputy.volunteer_id.as_str());

        // A deputy runs events but does not hand out roles, not even to themself.
        app.graphql_as(&deputy, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": other.volunteer_id, "role": "DEPUTY" })).await
            .expect_error("FORBIDDEN", None);
        app.graphql_as(&deputy, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "LEADER" })).await
            .expect_error("FORBIDDEN", None);
        app.graphql_as(&other, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": other.volunteer_id, "role": "LEADER" })).await
            .expect_error("FORBIDDEN", None);
        let roles = app.graphql_as(&team.leader, MEMBERS, json!({ "id": team.id, "pending": false })).await;
        let roles: Vec<(Value, Value)> = roles.data()["team"]["members"]["nodes"].as_array().unwrap().iter()
            .map(|m| (m["volunteer"]["id"].clone(), m["role"].clone())).collect();
        assert_eq!(roles, [
            (json!(team.leader.volunteer_id), json!("LEADER")),
            (json!(deputy.volunteer_id), json!("DEPUTY")),
            (json!(other.volunteer_id), json!("MEMBER")),
        ]);

        // The only leader can neither step down nor leave.
        app.graphql_as(&team.leader, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": team.leader.volunteer_id, "role": "MEMBER" })).await
            .expect_error("CONFLICT", None);
        app.graphql_as(&team.leader, LEAVE_TEAM, json!({ "id": team.id })).await.expect_error("CONFLICT", None);
        assert_eq!(leader_ids(&app, &team.id).await, vec![team.leader.volunteer_id.clone()]);

        // With a second leader appointed, the first may go, and runs nothing afterwards.
        let second = app.graphql_as(&team.leader, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": other.volunteer_id, "role": "LEADER" })).await;
        assert_eq!(second.data()["setMemberRole"]["role"], "LEADER");
        assert_eq!(leader_ids(&app, &team.id).await, [team.leader.volunteer_id.clone(), other.volunteer_id.clone()]);
        let left = app.graphql_as(&team.leader, LEAVE_TEAM, json!({ "id": team.id })).await;
        assert_eq!(left.data()["leaveTeam"]["status"], "LEFT");
        assert_eq!(leader_ids(&app, &team.id).await, vec![other.volunteer_id.clone()]);
        assert_eq!(team_view(&app, &team.id).await["memberCount"], 2);
        app.graphql_as(&team.leader, CREATE_EVENT, json!({ "input": event_input(&team.id) })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&other, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": other.volunteer_id, "role": "DEPUTY" })).await
            .expect_error("CONFLICT", None);
        app.graphql_as(&other, LEAVE_TEAM, json!({ "id": team.id })).await.expect_error("CONFLICT", None);
    }

    async fn leaders_and_deputies_see_masked_phones_members_see_none_and_outsiders_nothing(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let deputy = app.member(&team).await;
        let plain = app.member(&team).await;
        let last = app.member(&team).await;
        app.graphql_as(&team.leader, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "DEPUTY" })).await.data();
        let everyone = [&team.leader, &deputy, &plain, &last];

        for viewer in [&team.leader, &deputy] {
            let first = app.graphql_as(viewer, MEMBERS, json!({ "id": team.id, "first": 2, "pending": false })).await;
            let first = first.data()["team"]["members"].clone();
            assert_eq!(first["totalCount"], 4);
            assert_eq!(first["pageInfo"]["hasNextPage"], true);
            let rest = app.graphql_as(viewer, MEMBERS, json!({ "id": team.id, "first": 2, "after": first["pageInfo"]["endCursor"], "pending": false })).await;
            let rest = rest.data()["team"]["members"].clone();
            assert_eq!(rest["pageInfo"]["hasNextPage"], false);
            let nodes: Vec<Value> = first["nodes"].as_array().unwrap().iter().chain(rest["nodes"].as_array().unwrap()).cloned().collect();
            assert_eq!(nodes.len(), 4);
            for (node, member) in nodes.iter().zip(everyone) {
                assert_eq!(node["volunteer"]["id"], member.volunteer_id.as_str());
                assert_eq!(node["phone"], masked(&member.phone), "Membership.phone is masked for those who run the team");
                let full = if member.volunteer_id == viewer.volunteer_id { json!(member.phone) } else { Value::Null };
                assert_eq!(node["volunteer"]["phone"], full, "Volunteer.phone is only ever the viewer's own");
            }
        }

        let seen = app.graphql_as(&plain, MEMBERS, json!({ "id": team.id, "pending": false })).await;
        let nodes = seen.data()["team"]["members"]["nodes"].as_array().unwrap().clone();
        assert_eq!(nodes.len(), 4);
        assert!(nodes.iter().all(|node| node["phone"].is_null()), "{nodes:?}");
        for node in nodes.iter().filter(|node| node["volunteer"]["id"] != plain.volunteer_id.as_str()) {
            assert_eq!(node["volunteer"]["phone"], Value::Null);
        }

        let outsider = app.volunteer().await;
        app.graphql_as(&outsider, MEMBERS, json!({ "id": team.id, "pending": false })).await.expect_error("FORBIDDEN", None);
        app.graphql(MEMBERS, json!({ "id": team.id, "pending": false })).await.expect_error("UNAUTHENTICATED", None);
        let other_leader = app.team("顺德护校队", "440606", "OPEN").await.leader;
        app.graphql_as(&other_leader, MEMBERS, json!({ "id": team.id, "pending": false })).await.expect_error("FORBIDDEN", None);
        let profile = "query($id: ID!) { node(id: $id) { ... on Volunteer { displayName phone } } }";
        let seen = app.graphql_as(&team.leader, profile, json!({ "id": plain.volunteer_id })).await;
        assert_eq!(seen.data()["node"]["phone"], Value::Null, "a leader does not see a member's full phone");
    }

    async fn a_leader_acts_only_on_their_own_teams_events(app: TestApp) {
        let team_a = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let team_b = app.team("石湾护校队", "440604", "OPEN").await;
        let member_b = app.member(&team_b).await;
        let draft = app.event(&team_b.leader, &team_b.id, EventSpec { title: "石湾巡逻".to_owned(), publish: false, ..Default::default() }).await;
        let published = app.event(&team_b.leader, &team_b.id, EventSpec { title: "石湾放学护送".to_owned(), ..Default::default() }).await;

        app.graphql_as(&team_a.leader, CREATE_EVENT, json!({ "input": event_input(&team_b.id) })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&team_a.leader, UPDATE_EVENT, json!({ "id": published, "input": { "title": "被改了" } })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&team_a.leader, PUBLISH_EVENT, json!({ "id": draft })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&team_a.leader, CANCEL_EVENT, json!({ "id": published, "reason": "不是我的" })).await.expect_error("FORBIDDEN", None);
        // Members and strangers create nothing either.
        app.graphql_as(&member_b, CREATE_EVENT, json!({ "input": event_input(&team_b.id) })).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&member_b, CANCEL_EVENT, json!({ "id": published, "reason": "x" })).await.expect_error("FORBIDDEN", None);
        let stranger = app.volunteer().await;
        app.graphql_as(&stranger, CREATE_EVENT, json!({ "input": event_input(&team_b.id) })).await.expect_error("FORBIDDEN", None);
        app.graphql(CREATE_EVENT, json!({ "input": event_input(&team_b.id) })).await.expect_error("UNAUTHENTICATED", None);
        let nanhai_admin = app.area_admin("440605").await;
        app.graphql_as(&nanhai_admin, PUBLISH_EVENT, json!({ "id": draft })).await.expect_error("FORBIDDEN", None);

        // Nothing changed.
        assert_eq!(team_event_count(&app, &team_b.leader, &team_b.id).await, 2);
        let seen = app.graphql_as(&team_b.leader, EVENT, json!({ "id": draft })).await;
        assert_eq!(seen.data()["event"]["status"], "DRAFT");
        let seen = app.graphql_as(&team_b.leader, EVENT, json!({ "id": published })).await;
        assert_eq!(seen.data()["event"]["status"], "PUBLISHED");
        assert_eq!(seen.data()["event"]["title"], "石湾放学护送");
        assert_eq!(team_event_count(&app, &team_a.leader, &team_a.id).await, 0);
    }

    async fn invalid_event_input_is_refused_by_field_and_writes_nothing(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let an_area = area_id(&app, "440604").await;
        let cases: Vec<(&str, Spoiler)> = vec![
            ("input.location.lat", Box::new(|input| input["location"]["lat"] = json!(91.0))),
            ("input.location.lng", Box::new(|input| input["location"]["lng"] = json!(200.0))),
            ("input.endsAt", Box::new(|input| {
                let starts = parse_time(&input["startsAt"]);
                input["endsAt"] = json!((starts - Duration::hours(1)).to_rfc3339());
            })),
            ("input.endsAt", Box::new(|input| input["endsAt"] = input["startsAt"].clone())),
            ("input.capacity", Box::new(|input| input["capacity"] = json!(0))),
            ("input.capacity", Box::new(|input| input["capacity"] = json!(100_001))),
            ("input.title", Box::new(|input| input["title"] = json!("巡".repeat(121)))),
            ("input.title", Box::new(|input| input["title"] = json!("   "))),
            ("input.teamId", Box::new(|input| input["teamId"] = json!("nope"))),
            ("input.teamId", Box::new(move |input| input["teamId"] = json!(an_area.as_str()))),
        ];
        for (field, spoil) in &cases {
            let mut input = event_input(&team.id);
            spoil(&mut input);
            let refused = app.graphql_as(&team.leader, CREATE_EVENT, json!({ "input": input })).await;
            refused.expect_error("BAD_USER_INPUT", Some(field));
        }
        assert_eq!(team_event_count(&app, &team.leader, &team.id).await, 0, "no refused input leaves an event");
        let audit = app.graphql_as(&team.leader, AUDIT_LOG, json!({ "filter": { "teamId": team.id } })).await;
        let actions: Vec<&Value> = audit.data()["auditLog"]["nodes"].as_array().unwrap().iter().map(|e| &e["action"]).collect();
        assert_eq!(actions, [&json!("team.create")]);

        // The limits themselves are allowed.
        let mut input = event_input(&team.id);
        input["title"] = json!("巡".repeat(120));
        input["capacity"] = json!(100_000);
        input["location"]["lat"] = json!(90.0);
        input["location"]["lng"] = json!(-180.0);
        let created = app.graphql_as(&team.leader, CREATE_EVENT, json!({ "input": input })).await;
        assert_eq!(created.data()["createEvent"]["capacity"], 100_000);
        assert_eq!(created.data()["createEvent"]["status"], "DRAFT");
        assert_eq!(team_event_count(&app, &team.leader, &team.id).await, 1);
    }

    async fn an_event_goes_from_draft_to_published_to_cancelled_and_signed_up_volunteers_are_told(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let outsider = app.volunteer().await;
        let created = app.graphql_as(&team.leader, CREATE_EVENT, json!({ "input": event_input(&team.id) })).await;
        let event = created.data()["createEvent"].clone();
        assert_eq!(event["status"], "DRAFT");
        assert_eq!(event["team"]["id"], team.id.as_str());
        assert_eq!(event["area"]["code"], "440604");
        let id = event["id"].as_str().unwrap().to_owned();

        // A draft is for those who run the team only.
        assert_eq!(app.graphql_as(&outsider, EVENT, json!({ "id": id })).await.data()["event"], Value::Null);
        assert_eq!(app.graphql(EVENT, json!({ "id": id })).await.data()["event"], Value::Null);
        assert!(event_ids_seen(&app, Some(&outsider), json!({ "teamId": team.id })).await.is_empty());
        assert!(event_ids_seen(&app, None, json!({})).await.is_empty());
        assert_eq!(event_ids_seen(&app, Some(&team.leader), json!({ "teamId": team.id })).await, vec![id.clone()]);
        app.sign_up(&outsider, &id, None).await.error_code();

        let published = app.graphql_as(&team.leader, PUBLISH_EVENT, json!({ "id": id })).await;
        assert_eq!(published.data()["publishEvent"]["status"], "PUBLISHED");
        app.graphql_as(&team.leader, PUBLISH_EVENT, json!({ "id": id })).await.expect_error("CONFLICT", None);
        assert_eq!(app.graphql_as(&outsider, EVENT, json!({ "id": id })).await.data()["event"]["status"], "PUBLISHED");
        assert_eq!(event_ids_seen(&app, None, json!({})).await, vec![id.clone()]);

        let renamed = app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": id, "input": { "title": "祖庙夜巡（改）", "capacity": 1 } })).await;
        assert_eq!(renamed.data()["updateEvent"]["title"], "祖庙夜巡（改）");
        assert_eq!(app.graphql(EVENT, json!({ "id": id })).await.data()["event"]["title"], "祖庙夜巡（改）");

        // One seat: the first is confirmed, the second waits.
        let (seated, waiting) = (app.volunteer().await, app.volunteer().await);
        assert_eq!(app.sign_up(&seated, &id, Some("k-seated")).await.data()["signUp"]["status"], "CONFIRMED");
        assert_eq!(app.sign_up(&waiting, &id, Some("k-waiting")).await.data()["signUp"]["status"], "WAITLISTED");

        let cancelled = app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": id, "reason": "台风黄色预警" })).await;
        let cancelled = cancelled.data()["cancelEvent"].clone();
        assert_eq!(cancelled["status"], "CANCELLED");
        assert_eq!(cancelled["cancelReason"], "台风黄色预警");
        assert_eq!(cancelled["confirmedCount"], 0);
        assert_eq!(cancelled["waitlistCount"], 0);
        for volunteer in [&seated, &waiting] {
            let seen = app.graphql_as(volunteer, EVENT, json!({ "id": id })).await;
            assert_eq!(seen.data()["event"]["status"], "CANCELLED");
            assert_eq!(seen.data()["event"]["cancelReason"], "台风黄色预警");
            assert_eq!(seen.data()["event"]["viewerSignUp"]["status"], "CANCELLED");
            let told = notifications(&app, volunteer).await;
            let about_it: Vec<&Value> = told.iter().filter(|n| n["kind"] == "EVENT_CANCELLED").collect();
            assert_eq!(about_it.len(), 1, "{told:?}");
            assert_eq!(about_it[0]["event"]["id"], id.as_str());
            assert!(about_it[0]["message"].as_str().unwrap().contains("台风黄色预警"), "{told:?}");
        }
        assert!(notifications(&app, &outsider).await.is_empty());

        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": id, "input": { "title": "复活" } })).await.expect_error("CONFLICT", None);
        app.graphql_as(&team.leader, PUBLISH_EVENT, json!({ "id": id })).await.expect_error("CONFLICT", None);
        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": id, "reason": "again" })).await.expect_error("CONFLICT", None);
        app.sign_up(&outsider, &id, None).await.expect_error("CONFLICT", None);
        assert_eq!(app.graphql(EVENT, json!({ "id": id })).await.data()["event"]["title"], "祖庙夜巡（改）");
    }

    async fn team_events_are_for_members_and_public_events_for_everyone(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let outsider = app.volunteer().await;
        let internal = app.event(&team.leader, &team.id, EventSpec { title: "队内训练".to_owned(), visibility: "TEAM", kind: "TRAINING", ..Default::default() }).await;
        let public = app.event(&team.leader, &team.id, EventSpec { title: "公开巡逻".to_owned(), starts_in: 48 * 60, ..Default::default() }).await;

        assert_eq!(app.graphql_as(&member, EVENT, json!({ "id": internal })).await.data()["event"]["visibility"], "TEAM");
        assert_eq!(event_ids_seen(&app, Some(&member), json!({ "teamId": team.id })).await, [internal.clone(), public.clone()]);
        assert_eq!(app.graphql_as(&outsider, EVENT, json!({ "id": internal })).await.data()["event"], Value::Null);
        assert_eq!(app.graphql(EVENT, json!({ "id": internal })).await.data()["event"], Value::Null);
        assert_eq!(event_ids_seen(&app, Some(&outsider), json!({ "teamId": team.id })).await, vec![public.clone()]);
        assert_eq!(event_ids_seen(&app, None, json!({})).await, vec![public.clone()]);
        assert_eq!(app.graphql(EVENT, json!({ "id": public })).await.data()["event"]["title"], "公开巡逻");

        let refused = app.sign_up(&outsider, &internal, Some("outsider-1")).await;
        assert!(["FORBIDDEN", "NOT_FOUND"].contains(&refused.error_code()), "{}", refused.body);
        let mine = app.graphql_as(&outsider, MY_SIGN_UPS, json!({})).await;
        assert_eq!(mine.data()["mySignUps"]["totalCount"], 0);
        let roster = app.graphql_as(&team.leader, ROSTER, json!({ "id": internal })).await;
        assert_eq!(roster.data()["event"]["roster"]["totalCount"], 0);

        // A member signs up; once they leave the team, the event is hidden from them again.
        assert_eq!(app.sign_up(&member, &internal, Some("member-1")).await.data()["signUp"]["status"], "CONFIRMED");
        let roster = app.graphql_as(&team.leader, ROSTER, json!({ "id": internal })).await;
        assert_eq!(roster.data()["event"]["roster"]["totalCount"], 1);
        app.graphql_as(&member, LEAVE_TEAM, json!({ "id": team.id })).await.data();
        assert_eq!(event_ids_seen(&app, Some(&member), json!({ "teamId": team.id })).await, vec![public.clone()]);
    }

    async fn events_filter_by_team_area_kind_status_time_and_distance(app: TestApp) {
        // A team of Zumiao street, a town of Chancheng: its events belong to the town.
        let chancheng = app.team("禅城功夫队", "440604", "OPEN").await;
        let town_leader = app.volunteer().await;
        let in_town = app.graphql_as(&chancheng.admin, CREATE_TEAM, json!({ "input": {
            "name": "祖庙街道功夫队", "kind": "KUNG_FU_PATROL", "areaId": area_id(&app, "440604001").await, "leaderId": town_leader.volunteer_id,
        } })).await;
        let chancheng = TeamFixture { id: in_town.data()["createTeam"]["id"].as_str().unwrap().to_owned(), leader: town_leader, admin: chancheng.admin };
        let shunde = app.team("顺德功夫队", "440606", "OPEN").await;
        let zumiao = published_event_at(&app, &chancheng.leader, &chancheng.id, "祖庙巡逻", "PATROL", 24, ZUMIAO).await;
        let north = published_event_at(&app, &chancheng.leader, &chancheng.id, "北边反诈宣传", "PUBLICITY", 48, NORTH_1100M).await;
        let daliang = published_event_at(&app, &shunde.leader, &shunde.id, "大良巡逻", "PATROL", 72, SHUNDE).await;
        let between = published_event_at(&app, &chancheng.leader, &chancheng.id, "中途培训", "TRAINING", 96, NORTH_560M).await;
        app.graphql_as(&chancheng.leader, CANCEL_EVENT, json!({ "id": between, "reason": "场地不可用" })).await.data();
        let draft = app.event(&chancheng.leader, &chancheng.id, EventSpec { publish: false, starts_in: 12 * 60, ..Default::default() }).await;
        let viewer = app.volunteer().await;
        let seen = async |filter: Value| event_ids_seen(&app, Some(&viewer), filter).await;

        assert_eq!(seen(json!({})).await, [zumiao.clone(), north.clone(), daliang.clone(), between.clone()], "soonest first; drafts hidden");
        assert_eq!(seen(json!({ "teamId": chancheng.id })).await, [zumiao.clone(), north.clone(), between.clone()]);
        assert_eq!(seen(json!({ "teamId": shunde.id })).await, vec![daliang.clone()]);
        assert_eq!(seen(json!({ "areaId": area_id(&app, "440604").await })).await, [zumiao.clone(), north.clone(), between.clone()], "a district covers its towns");
        assert_eq!(seen(json!({ "areaId": area_id(&app, "440604001").await })).await, [zumiao.clone(), north.clone(), between.clone()]);
        assert_eq!(seen(json!({ "areaId": area_id(&app, "440606").await })).await, vec![daliang.clone()]);
        assert_eq!(seen(json!({ "areaId": area_id(&app, "440605").await })).await, Vec::<String>::new());
        assert_eq!(seen(json!({ "areaId": area_id(&app, "440600").await })).await.len(), 4);
        assert_eq!(seen(json!({ "kind": "PATROL" })).await, [zumiao.clone(), daliang.clone()]);
        assert_eq!(seen(json!({ "kind": "PUBLICITY" })).await, vec![north.clone()]);
        assert_eq!(seen(json!({ "status": "CANCELLED" })).await, vec![between.clone()]);
        assert_eq!(seen(json!({ "status": "PUBLISHED", "teamId": chancheng.id })).await, [zumiao.clone(), north.clone()]);
        assert_eq!(seen(json!({ "status": "DRAFT" })).await, Vec::<String>::new());
        assert_eq!(event_ids_seen(&app, Some(&chancheng.leader), json!({ "status": "DRAFT" })).await, vec![draft.clone()]);
        let at = |hours: i64| (Utc::now() + Duration::hours(hours)).to_rfc3339();
        assert_eq!(seen(json!({ "startsAfter": at(36), "startsBefore": at(60) })).await, vec![north.clone()]);
        assert_eq!(seen(json!({ "startsAfter": at(60) })).await, [daliang.clone(), between.clone()]);
        assert_eq!(seen(json!({ "startsBefore": at(36) })).await, vec![zumiao.clone()]);
        assert_eq!(seen(json!({ "startsAfter": at(36), "kind": "PATROL" })).await, vec![daliang.clone()]);

        // Nearest first, whatever the start times; far events left out.
        let near = |centre: (f64, f64), radius: i64| json!({ "near": { "lat": centre.0, "lng": centre.1, "radiusM": radius } });
        assert_eq!(seen(near(ZUMIAO, 2_000)).await, [zumiao.clone(), between.clone(), north.clone()]);
        assert_eq!(seen(near(NORTH_1100M, 2_000)).await, [north.clone(), between.clone(), zumiao.clone()]);
        assert_eq!(seen(near(ZUMIAO, 800)).await, [zumiao.clone(), between.clone()]);
        assert_eq!(seen(near(ZUMIAO, 300)).await, vec![zumiao.clone()]);
        assert_eq!(seen(near(ZUMIAO, 50_000)).await, [zumiao.clone(), between.clone(), north.clone(), daliang.clone()]);
        assert_eq!(seen(near(SHUNDE, 1_000)).await, vec![daliang.clone()]);
        let mut published_near = near(ZUMIAO, 2_000);
        published_near["status"] = json!("PUBLISHED");
        assert_eq!(seen(published_near).await, [zumiao.clone(), north.clone()]);

        // Pages of a nearest-first list continue where they stopped.
        let first = app.graphql_as(&viewer, EVENTS, json!({ "filter": near(ZUMIAO, 50_000), "first": 2 })).await;
        let first = first.data()["events"].clone();
        assert_eq!(node_ids(&first), [zumiao.clone(), between.clone()]);
        assert_eq!(first["totalCount"], 4);
        assert_eq!(first["pageInfo"]["hasNextPage"], true);
        let rest = app.graphql_as(&viewer, EVENTS, json!({ "filter": near(ZUMIAO, 50_000), "first": 2, "after": first["pageInfo"]["endCursor"] })).await;
        assert_eq!(node_ids(&rest.data()["events"]), [north.clone(), daliang.clone()]);
        assert_eq!(rest.data()["events"]["pageInfo"]["hasNextPage"], false);
        // And so do pages in start order.
        let first = app.graphql_as(&viewer, EVENTS, json!({ "first": 3 })).await;
        let first = first.data()["events"].clone();
        let rest = app.graphql_as(&viewer, EVENTS, json!({ "first": 3, "after": first["pageInfo"]["endCursor"] })).await;
        assert_eq!(node_ids(&rest.data()["events"]), vec![between.clone()]);

        app.graphql_as(&viewer, EVENTS, json!({ "filter": near(ZUMIAO, 50_001) })).await.expect_error("BAD_USER_INPUT", Some("filter.near.radiusM"));
        app.graphql_as(&viewer, EVENTS, json!({ "filter": near((91.0, 113.0), 1_000) })).await.expect_error("BAD_USER_INPUT", Some("filter.near.lat"));
        app.graphql_as(&viewer, EVENTS, json!({ "filter": { "teamId": "nope" } })).await.expect_error("BAD_USER_INPUT", Some("filter.teamId"));
        app.graphql_as(&viewer, EVENTS, json!({ "first": 101 })).await.expect_error("BAD_USER_INPUT", Some("first"));
    }

    async fn paging_events_in_start_order_neither_repeats_nor_skips_one(app: TestApp) {
        // RFC 3339 allows any fraction of a second; the API takes nanoseconds as given.
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let tomorrow = (Utc::now() + Duration::days(1)).duration_trunc(Duration::hours(1)).unwrap();
        let mut created = Vec::new();
        for (n, fraction) in [".000000000", ".250000000", ".123456789", ".987654321"].into_iter().enumerate() {
            let starts = (tomorrow + Duration::hours(n as i64)).format("%Y-%m-%dT%H:%M:%S").to_string() + fraction + "Z";
            let mut input = event_input(&team.id);
            input["title"] = json!(format!("巡逻 {n}"));
            input["startsAt"] = json!(starts);
            input["endsAt"] = json!((tomorrow + Duration::hours(n as i64) + Duration::minutes(30)).to_rfc3339());
            let event = app.graphql_as(&team.leader, CREATE_EVENT, json!({ "input": input })).await;
            created.push(event.data()["createEvent"]["id"].as_str().unwrap().to_owned());
        }
        let mut paged = Vec::new();
        let mut after = Value::Null;
        for _ in 0..created.len() + 1 {
            let page = app.graphql_as(&team.leader, EVENTS, json!({ "filter": { "teamId": team.id }, "first": 1, "after": after })).await;
            let page = page.data()["events"].clone();
            paged.extend(node_ids(&page));
            if page["pageInfo"]["hasNextPage"] == false {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(paged, created, "one page at a time, each event exactly once");
    }

    async fn a_patrol_schedule_generates_published_patrols_at_local_time_and_cancelling_it_cancels_them(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let today = today_in_shanghai();
        let until = today + Duration::days(20);

        // Bad input first: nothing is generated.
        let too_long = patrol_input(&team.id, today, today + Duration::days(366));
        app.graphql_as(&team.leader, SCHEDULE_PATROLS, json!({ "input": too_long })).await
            .expect_error("BAD_USER_INPUT", Some("input.until"));
        for bad in ["7pm", "7:30", "24:00", "19:30:00"] {
            let mut input = patrol_input(&team.id, today, until);
            input["startTime"] = json!(bad);
            app.graphql_as(&team.leader, SCHEDULE_PATROLS, json!({ "input": input })).await
                .expect_error("BAD_USER_INPUT", Some("input.startTime"));
        }
        let backwards = patrol_input(&team.id, today, today - Duration::days(1));
        app.graphql_as(&team.leader, SCHEDULE_PATROLS, json!({ "input": backwards })).await
            .expect_error("BAD_USER_INPUT", Some("input.until"));
        app.graphql_as(&member, SCHEDULE_PATROLS, json!({ "input": patrol_input(&team.id, today, until) })).await
            .expect_error("FORBIDDEN", None);
        assert_eq!(team_event_count(&app, &team.leader, &team.id).await, 0);

        let now = Utc::now();
        let scheduled = app.graphql_as(&team.leader, SCHEDULE_PATROLS, json!({ "input": patrol_input(&team.id, today, until) })).await;
        let schedule = scheduled.data()["schedulePatrols"].clone();
        assert_eq!(schedule["status"], "ACTIVE");
        assert_eq!(schedule["weekdays"], json!(["MONDAY", "WEDNESDAY"]));
        assert_eq!(schedule["startTime"], "19:30");
        assert_eq!(schedule["durationMinutes"], 120);
        assert_eq!(schedule["from"], today.format("%Y-%m-%d").to_string());
        assert_eq!(schedule["until"], until.format("%Y-%m-%d").to_string());
        let schedule_id = schedule["id"].as_str().unwrap().to_owned();

        let expected = monday_wednesday_1930(today, until, now);
        assert!(expected.len() >= 5, "{expected:?}");
        let generated = events_seen(&app, Some(&member), json!({ "teamId": team.id })).await;
        assert_eq!(generated["totalCount"].as_u64().unwrap() as usize, expected.len(), "{generated}");
        let nodes = generated["nodes"].as_array().unwrap();
        let starts: Vec<DateTime<Utc>> = nodes.iter().map(|event| parse_time(&event["startsAt"])).collect();
        assert_eq!(starts, expected);
        for event in nodes {
            assert_eq!(event["kind"], "PATROL");
            assert_eq!(event["status"], "PUBLISHED");
            assert_eq!(event["visibility"], "TEAM", "schedules default to TEAM visibility");
            assert_eq!(event["schedule"]["id"], schedule_id.as_str());
            let (starts, ends) = (parse_time(&event["startsAt"]), parse_time(&event["endsAt"]));
            assert_eq!((starts.hour(), starts.minute()), (11, 30), "19:30 in Shanghai is 11:30 UTC");
            let local = starts.with_timezone(&Shanghai);
            assert_eq!((local.hour(), local.minute()), (19, 30));
            assert!(matches!(local.weekday(), chrono::Weekday::Mon | chrono::Weekday::Wed), "{local}");
            assert_eq!(ends - starts, Duration::minutes(120));
        }
        let patrols = events_seen(&app, Some(&member), json!({ "teamId": team.id, "kind": "PATROL", "status": "PUBLISHED" })).await;
        assert_eq!(patrols["totalCount"].as_u64().unwrap() as usize, expected.len());
        assert!(event_ids_seen(&app, None, json!({ "teamId": team.id })).await.is_empty(), "TEAM patrols are hidden from the public");

        // Cancelling stops every occurrence that has not started; the signed-up member is told.
        let first_patrol = nodes[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.sign_up(&member, &first_patrol, Some("patrol-1")).await.data()["signUp"]["status"], "CONFIRMED");
        app.graphql_as(&member, CANCEL_SCHEDULE, json!({ "id": schedule_id, "reason": "x" })).await.expect_error("FORBIDDEN", None);
        let cancelled = app.graphql_as(&team.leader, CANCEL_SCHEDULE, json!({ "id": schedule_id, "reason": "人手不足" })).await;
        assert_eq!(cancelled.data()["cancelPatrolSchedule"]["status"], "CANCELLED");
        let still_on = events_seen(&app, Some(&member), json!({ "teamId": team.id, "status": "PUBLISHED" })).await;
        assert_eq!(still_on["totalCount"], 0);
        let off = events_seen(&app, Some(&member), json!({ "teamId": team.id, "status": "CANCELLED" })).await;
        assert_eq!(off["totalCount"].as_u64().unwrap() as usize, expected.len());
        let seen = app.graphql_as(&member, EVENT, json!({ "id": first_patrol })).await;
        assert_eq!(seen.data()["event"]["cancelReason"], "人手不足");
        assert_eq!(seen.data()["event"]["viewerSignUp"]["status"], "CANCELLED");
        let told = notifications(&app, &member).await;
        assert_eq!(told.len(), 1, "{told:?}");
        assert_eq!(told[0]["kind"], "EVENT_CANCELLED");
        assert_eq!(told[0]["event"]["id"], first_patrol.as_str());
        app.graphql_as(&team.leader, CANCEL_SCHEDULE, json!({ "id": schedule_id, "reason": "again" })).await.expect_error("CONFLICT", None);

        let audit = app.graphql_as(&team.leader, AUDIT_LOG, json!({ "filter": { "teamId": team.id } })).await;
        let actions: Vec<&Value> = audit.data()["auditLog"]["nodes"].as_array().unwrap().iter().map(|e| &e["action"]).collect();
        assert_eq!(&actions[..2], [&json!("patrol_schedule.cancel"), &json!("patrol_schedule.create")]);
    }

    async fn a_schedule_spanning_exactly_one_calendar_year_is_accepted(app: TestApp) {
        // `until` is "at most one year after `from`": a year that holds 29 February has 366 days.
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let today = today_in_shanghai();
        let leap = (today.year() + 1..).find(|year| NaiveDate::from_ymd_opt(*year, 2, 29).is_some()).unwrap();
        let from = NaiveDate::from_ymd_opt(leap - 1, 3, 1).unwrap();
        let until = NaiveDate::from_ymd_opt(leap, 3, 1).unwrap();
        assert_eq!((until - from).num_days(), 366);
        let mut input = patrol_input(&team.id, from, until);
        input["weekdays"] = json!(["SUNDAY"]);
        let scheduled = app.graphql_as(&team.leader, SCHEDULE_PATROLS, json!({ "input": input })).await;
        assert_eq!(scheduled.data()["schedulePatrols"]["until"], until.format("%Y-%m-%d").to_string());
        let one_day_more = patrol_input(&team.id, from, until + Duration::days(1));
        app.graphql_as(&team.leader, SCHEDULE_PATROLS, json!({ "input": one_day_more })).await
            .expect_error("BAD_USER_INPUT", Some("input.until"));
    }

    async fn the_audit_log_shows_a_teams_leader_writes_to_those_who_run_it(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let deputy = app.member(&team).await;
        let member = app.member(&team).await;
        app.graphql_as(&team.leader, SET_MEMBER_ROLE, json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "DEPUTY" })).await.data();
        let rename = "mutation($id: ID!, $input: UpdateTeamInput!) { updateTeam(teamId: $id, input: $input) { name joinPolicy } }";
        let renamed = app.graphql_as(&team.leader, rename, json!({ "id": team.id, "input": { "name": "祖庙功夫夜巡队", "joinPolicy": "APPROVAL" } })).await;
        assert_eq!(renamed.data()["updateTeam"], json!({ "name": "祖庙功夫夜巡队", "joinPolicy": "APPROVAL" }));
        app.graphql_as(&member, rename, json!({ "id": team.id, "input": { "name": "被改了" } })).await.expect_error("FORBIDDEN", None);
        let id = app.event(&team.leader, &team.id, EventSpec { title: "原标题".to_owned(), ..Default::default() }).await;
        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": id, "input": { "title": "新标题" } })).await.data();
        app.graphql_as(&deputy, CANCEL_EVENT, json!({ "id": id, "reason": "暴雨" })).await.data();

        for reader in [&team.leader, &deputy] {
            let audit = app.graphql_as(reader, AUDIT_LOG, json!({ "filter": { "teamId": team.id } })).await;
            let log = audit.data()["auditLog"].clone();
            let entries = log["nodes"].as_array().unwrap();
            let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
            assert_eq!(actions, ["event.cancel", "event.update", "event.publish", "event.create", "team.update", "membership.set_role", "team.create"], "newest first");
            assert_eq!(log["totalCount"], 7);
            let actors: Vec<&Value> = entries.iter().map(|e| &e["actor"]["id"]).collect();
            let (leader, deputy, admin) = (json!(team.leader.volunteer_id), json!(deputy.volunteer_id), json!(team.admin.volunteer_id));
            assert_eq!(actors, [&deputy, &leader, &leader, &leader, &leader, &leader, &admin]);
            assert_eq!(entries[0]["entityType"], "event");
            assert_eq!(entries[1]["before"]["title"], "原标题");
            assert_eq!(entries[1]["after"]["title"], "新标题");
            assert_eq!(entries[4]["entityType"], "team");
            assert_eq!(entries[4]["before"]["name"], "祖庙功夫巡逻队");
            assert_eq!(entries[4]["after"]["name"], "祖庙功夫夜巡队");
            assert_eq!(entries[5]["entityType"], "membership");
            assert_eq!(entries[6]["entityType"], "team");
        }

        // The area's admin reads it through the area; members and others may not read it.
        let by_area = app.graphql_as(&team.admin, AUDIT_LOG, json!({ "filter": { "areaId": area_id(&app, "440604").await } })).await;
        let actions: Vec<&str> = by_area.data()["auditLog"]["nodes"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.starts_with(&["event.cancel", "event.update", "event.publish", "event.create"]), "{actions:?}");
        app.graphql_as(&member, AUDIT_LOG, json!({ "filter": { "teamId": team.id } })).await.expect_error("FORBIDDEN", None);
        let stranger = app.volunteer().await;
        app.graphql_as(&stranger, AUDIT_LOG, json!({ "filter": { "teamId": team.id } })).await.expect_error("FORBIDDEN", None);
        let other_leader = app.team("顺德护校队", "440606", "OPEN").await.leader;
        app.graphql_as(&other_leader, AUDIT_LOG, json!({ "filter": { "teamId": team.id } })).await.expect_error("FORBIDDEN", None);
        let shunde_admin = app.area_admin("440606").await;
        app.graphql_as(&shunde_admin, AUDIT_LOG, json!({ "filter": { "areaId": area_id(&app, "440604").await } })).await.expect_error("FORBIDDEN", None);
        app.graphql(AUDIT_LOG, json!({ "filter": { "teamId": team.id } })).await.expect_error("UNAUTHENTICATED", None);
    }
}
