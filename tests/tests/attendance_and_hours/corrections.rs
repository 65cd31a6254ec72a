//! Leaders' corrections after the fact: `markAttendance` (also for a no-show) and `addWalkIn`,
//! and everyone who may not make them.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::support::*;
use feihong_tests::{Response, Session, TestApp, on_every_backend};

const MARK: &str = "mutation($signUp: ID!, $in: DateTime!, $out: DateTime!, $reason: String!) {
  markAttendance(signUpId: $signUp, checkInAt: $in, checkOutAt: $out, reason: $reason) {
    id status attendance { checkInAt checkOutAt checkedInBy checkedOutBy }
  }
}";
const WALK_IN: &str = "mutation($event: ID!, $volunteer: ID!, $in: DateTime!, $out: DateTime!, $reason: String!) {
  addWalkIn(eventId: $event, volunteerId: $volunteer, checkInAt: $in, checkOutAt: $out, reason: $reason) {
    id status event { id } attendance { checkInAt checkOutAt checkedInBy checkedOutBy }
  }
}";
const TEAM_RECORDS: &str = "query($team: ID!) {
  serviceRecords(filter: { teamId: $team }, first: 100) {
    nodes { minutes status needsReview note volunteer { id } event { id } }
  }
}";

async fn mark(
    app: &TestApp,
    by: &Session,
    sign_up: &str,
    (check_in, check_out): (DateTime<Utc>, DateTime<Utc>),
    reason: &str,
) -> Response {
    let variables = json!({ "signUp": sign_up, "in": rfc3339(check_in), "out": rfc3339(check_out), "reason": reason });
    app.graphql_as(by, MARK, variables).await
}

async fn walk_in(
    app: &TestApp,
    by: &Session,
    event: &str,
    volunteer: &str,
    (check_in, check_out): (DateTime<Utc>, DateTime<Utc>),
    reason: &str,
) -> Response {
    let variables = json!({ "event": event, "volunteer": volunteer, "in": rfc3339(check_in), "out": rfc3339(check_out), "reason": reason });
    app.graphql_as(by, WALK_IN, variables).await
}

async fn team_records(app: &TestApp, leader: &Session, team: &str) -> Vec<Value> {
    let answer = app
        .graphql_as(leader, TEAM_RECORDS, json!({ "team": team }))
        .await;
    answer.data()["serviceRecords"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits for the upkeep (every 500 ms in tests) to mark the sign-up a no-show.
async fn until_no_show(app: &TestApp, member: &Session, sign_up: &str) {
    let status = "query($id: ID!) { node(id: $id) { ... on SignUp { status } } }";
    for _ in 0..100 {
        let seen = app
            .graphql_as(member, status, json!({ "id": sign_up }))
            .await;
        if seen.data()["node"]["status"] == "NO_SHOW" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never marked a no-show");
}

on_every_backend! {
    async fn a_leader_marks_a_no_show_attended_and_the_pending_record_is_theirs_and_audited(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 240, 60).await;
        let leader = &scene.team.leader;
        until_no_show(&app, &scene.member, &scene.sign_up).await;
        let marked = mark(&app, leader, &scene.sign_up, (starts, ends - Duration::minutes(10)), " 手机没电，队长现场确认 ").await;
        let sign_up = &marked.data()["markAttendance"];
        assert_eq!(sign_up["status"], "CONFIRMED", "a no-show no more");
        assert_eq!(sign_up["attendance"]["checkedInBy"], "LEADER");
        assert_eq!(sign_up["attendance"]["checkedOutBy"], "LEADER");
        assert_eq!(parse_time(&sign_up["attendance"]["checkInAt"]), starts);
        assert_eq!(parse_time(&sign_up["attendance"]["checkOutAt"]), ends - Duration::minutes(10));

        let records = team_records(&app, leader, &scene.team.id).await;
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["minutes"], 50);
        assert_eq!(records[0]["status"], "PENDING");
        assert_eq!(records[0]["needsReview"], false);
        assert_eq!(records[0]["note"], "手机没电，队长现场确认");
        assert_eq!(records[0]["volunteer"]["id"], scene.member.volunteer_id.as_str());
        let entries = audit_entries(&app, &scene.team).await;
        let marked: Vec<&Value> = entries.iter().filter(|e| e["action"] == "attendance.mark").collect();
        assert_eq!(marked.len(), 1, "{entries:?}");
        assert_eq!(marked[0]["actor"]["id"], leader.volunteer_id.as_str());

        // Once recorded, it is reviewed, not marked again.
        mark(&app, leader, &scene.sign_up, (starts, ends), "再记一次").await.expect_error("CONFLICT", None);
        assert_eq!(team_records(&app, leader, &scene.team.id).await.len(), 1);
    }

    async fn a_deputy_completes_a_check_in_nobody_checked_out_of(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        let deputy = app.member(&scene.team).await;
        make_role(&app, &scene.team, &deputy, "DEPUTY").await;
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(2)), None).await.data();
        let marked = mark(&app, &deputy, &scene.sign_up, (starts, ends), "签退时没有信号").await;
        assert_eq!(marked.data()["markAttendance"]["attendance"]["checkedOutBy"], "LEADER");
        let records = team_records(&app, &scene.team.leader, &scene.team.id).await;
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["minutes"], 60);
    }

    async fn a_leader_adds_a_member_who_came_without_signing_up(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        let leader = &scene.team.leader;
        let walker = app.member(&scene.team).await;
        let times = (starts + Duration::minutes(5), ends);
        let added = walk_in(&app, leader, &scene.event, &walker.volunteer_id, times, "没报名直接到场").await;
        let sign_up = &added.data()["addWalkIn"];
        assert_eq!(sign_up["status"], "CONFIRMED");
        assert_eq!(sign_up["event"]["id"], scene.event.as_str());
        assert_eq!(sign_up["attendance"]["checkedInBy"], "LEADER");
        let records = team_records(&app, leader, &scene.team.id).await;
        let theirs: Vec<&Value> = records.iter().filter(|r| r["volunteer"]["id"] == walker.volunteer_id.as_str()).collect();
        assert_eq!(theirs.len(), 1, "{records:?}");
        assert_eq!((theirs[0]["minutes"].as_i64(), theirs[0]["status"].as_str()), (Some(55), Some("PENDING")));
        assert_eq!(theirs[0]["event"]["id"], scene.event.as_str());
        let entries = audit_entries(&app, &scene.team).await;
        assert_eq!(entries.iter().filter(|e| e["action"] == "attendance.walk_in").count(), 1);

        // Twice, or for someone signed up: mark their attendance instead.
        walk_in(&app, leader, &scene.event, &walker.volunteer_id, times, "再加一次").await.expect_error("CONFLICT", None);
        let signed_up = walk_in(&app, leader, &scene.event, &scene.member.volunteer_id, times, "已报名").await;
        signed_up.expect_error("CONFLICT", None);
        assert!(signed_up.error_message().contains("mark their attendance"), "{}", signed_up.body);
        // Not a member of the team.
        let stranger = app.volunteer().await;
        walk_in(&app, leader, &scene.event, &stranger.volunteer_id, times, "路人").await
            .expect_error("BAD_USER_INPUT", Some("volunteerId"));
        assert_eq!(team_records(&app, leader, &scene.team.id).await.len(), 1);
    }

    async fn corrections_are_refused_to_members_other_teams_and_their_own_hours(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        let member = app.member(&scene.team).await;
        let other_team = app.team("南海反诈宣传队", "440605", "OPEN").await;
        let times = (starts, ends);
        mark(&app, &member, &scene.sign_up, times, "帮忙").await.expect_error("FORBIDDEN", None);
        mark(&app, &other_team.leader, &scene.sign_up, times, "帮忙").await.expect_error("NOT_FOUND", None);
        mark(&app, &scene.member, &scene.sign_up, times, "我来了").await.expect_error("FORBIDDEN", None);
        walk_in(&app, &member, &scene.event, &member.volunteer_id, times, "我来了").await.expect_error("FORBIDDEN", None);
        walk_in(&app, &other_team.leader, &scene.event, &member.volunteer_id, times, "帮忙").await.expect_error("FORBIDDEN", None);
        walk_in(&app, &scene.team.leader, &scene.event, &scene.team.leader.volunteer_id, times, "我自己").await.expect_error("FORBIDDEN", None);
        assert!(team_records(&app, &scene.team.leader, &scene.team.id).await.is_empty());
    }

    async fn corrections_need_times_inside_the_event_a_reason_and_the_week_after_its_end(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 90, 60).await;
        let leader = &scene.team.leader;
        let sign_up = scene.sign_up.as_str();
        mark(&app, leader, sign_up, (starts + Duration::minutes(30), starts + Duration::minutes(10)), "补记").await
            .expect_error("BAD_USER_INPUT", Some("checkOutAt"));
        mark(&app, leader, sign_up, (starts - Duration::minutes(31), ends), "补记").await
            .expect_error("BAD_USER_INPUT", Some("checkInAt"));
        mark(&app, leader, sign_up, (starts, ends + Duration::hours(3)), "补记").await
            .expect_error("BAD_USER_INPUT", Some("checkOutAt"));
        mark(&app, leader, sign_up, (starts, ends), "   ").await.expect_error("BAD_USER_INPUT", Some("reason"));
        mark(&app, leader, sign_up, (starts, ends), &"理".repeat(501)).await.expect_error("BAD_USER_INPUT", Some("reason"));
        let walker = app.member(&scene.team).await;
        walk_in(&app, leader, &scene.event, &walker.volunteer_id, (ends, starts), "补记").await
            .expect_error("BAD_USER_INPUT", Some("checkOutAt"));
        assert!(team_records(&app, leader, &scene.team.id).await.is_empty());

        // Before the event ended: checked in and out as it runs instead.
        let running = scene_running(&app).await;
        let refused = mark(&app, &running.team.leader, &running.sign_up, (now() - Duration::minutes(5), now()), "提前").await;
        refused.expect_error("CONFLICT", None);
        // More than 7 days after it ended.
        let (old, starts, ends) = past_scene(&app, 8 * 24 * 60, 60).await;
        let late = mark(&app, &old.team.leader, &old.sign_up, (starts, ends), "补记").await;
        late.expect_error("CONFLICT", None);
        assert!(late.error_message().contains("7 days"), "{}", late.body);
        let walker = app.member(&old.team).await;
        walk_in(&app, &old.team.leader, &old.event, &walker.volunteer_id, (starts, ends), "补记").await
            .expect_error("CONFLICT", None);
    }
}

/// A scene whose event started 10 minutes ago and runs another 50.
async fn scene_running(app: &TestApp) -> Scene {
    let (scene, _, _) = past_scene(app, 10, 60).await;
    scene
}
