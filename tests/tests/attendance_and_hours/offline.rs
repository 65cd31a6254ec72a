//! Reports made offline (kept, marked, flagged for review, accepted for a day after the end),
//! the check-out held to the event's radius, and an event's times fixed once it started or
//! someone checked in.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::*;
use feihong_tests::{TestApp, on_every_backend};

const ATTENDANCE: &str = "query($id: ID!) { node(id: $id) { ... on SignUp {
  attendance { checkInAt checkedInBy checkOutAt checkedOutBy receivedAt checkOutReceivedAt offline }
} } }";
const REVIEWS: &str = "query($team: ID!) {
  serviceRecords(filter: { teamId: $team }, first: 100) { nodes { id minutes status needsReview reviewReason } }
}";

async fn seen(app: &TestApp, session: &feihong_tests::Session, sign_up: &str) -> Value {
    let answer = app
        .graphql_as(session, ATTENDANCE, json!({ "id": sign_up }))
        .await;
    answer.data()["node"]["attendance"].clone()
}

on_every_backend! {
    async fn a_backdated_check_in_and_out_are_kept_marked_offline_and_their_record_flagged_with_the_reason(app: TestApp) {
        let (scene, starts, _ends) = past_scene(&app, 90, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        let before = now();
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(5)), None).await.data();
        check_out(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(50))).await.data();
        let attendance = seen(&app, member, sign_up).await;
        assert_eq!(attendance["checkedInBy"], "SELF_OFFLINE", "{attendance}");
        assert_eq!(attendance["checkedOutBy"], "SELF_OFFLINE", "{attendance}");
        assert_eq!(attendance["offline"], true);
        assert_eq!(parse_time(&attendance["checkInAt"]), starts + Duration::minutes(5), "the time it states");
        let received = parse_time(&attendance["receivedAt"]);
        assert!(received >= before - Duration::seconds(1) && received <= now() + Duration::seconds(1), "when it arrived: {received}");
        assert!(parse_time(&attendance["checkOutReceivedAt"]) >= received);

        // The leader sees why the record waits for a look.
        let team_records = app.graphql_as(&scene.team.leader, REVIEWS, json!({ "team": scene.team.id })).await;
        let record = &team_records.data()["serviceRecords"]["nodes"][0];
        assert_eq!((record["minutes"].as_i64(), record["status"].as_str()), (Some(45), Some("PENDING")));
        assert_eq!(record["needsReview"], true);
        let reason = record["reviewReason"].as_str().unwrap();
        assert!(reason.contains("offline check-in, received 85 min") && reason.contains("offline check-out"), "{reason}");
    }

    async fn a_live_check_in_or_one_sent_within_ten_minutes_is_not_offline(app: TestApp) {
        let scene = scene(&app, 10, 60).await;
        let at = now() - Duration::minutes(3);
        let answer = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(at), None).await;
        assert_eq!(answer.data()["checkIn"]["checkedInBy"], "SELF_BY_GPS");
        let attendance = seen(&app, &scene.member, &scene.sign_up).await;
        assert_eq!(attendance["offline"], false);
        assert_eq!(attendance["checkOutReceivedAt"], Value::Null);
        assert!(parse_time(&attendance["receivedAt"]) - at >= Duration::minutes(3));
    }

    async fn offline_reports_are_refused_a_day_after_the_events_end(app: TestApp) {
        // Ended 25 hours ago.
        let (scene, starts, _) = past_scene(&app, 26 * 60, 60).await;
        let refused = check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(5)), None).await;
        refused.expect_error("CONFLICT", None);
        assert!(refused.error_message().contains("24 hours"), "{}", refused.body);
        assert_eq!(seen(&app, &scene.member, &scene.sign_up).await, Value::Null);
        // Within the day it is still accepted.
        let (scene, starts, _) = past_scene(&app, 23 * 60, 60).await;
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(5)), None).await.data();
    }

    async fn a_gps_check_out_nine_kilometres_away_is_refused_and_a_leader_checks_the_member_out_by_hand(app: TestApp) {
        let (scene, starts, ends) = past_scene(&app, 50, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(5)), None).await.data();
        let far = check_out(&app, member, sign_up, Some(north_of_event(9_000.0)), None).await;
        far.expect_error("CONFLICT", None);
        assert!(far.error_message().contains("9000 m") && far.error_message().contains("200 m"), "{}", far.body);
        check_out(&app, member, sign_up, None, None).await.expect_error("BAD_USER_INPUT", Some("position"));
        // A report the phone kept while offline is held to the radius too.
        check_out(&app, member, sign_up, Some(north_of_event(9_000.0)), Some(starts + Duration::minutes(30))).await
            .expect_error("CONFLICT", None);
        assert_eq!(seen(&app, member, sign_up).await["checkOutAt"], Value::Null);
        let by_hand = check_out(&app, &scene.team.leader, sign_up, None, None).await;
        assert_eq!(by_hand.data()["checkOut"]["checkedOutBy"], "LEADER");
        assert!(parse_time(&by_hand.data()["checkOut"]["checkOutAt"]) < ends);
    }

    async fn an_event_that_started_or_has_a_check_in_keeps_its_times_but_takes_other_edits(app: TestApp) {
        let title = "mutation($id: ID!) { updateEvent(eventId: $id, input: { title: \"夜间巡逻（改）\" }) { title } }";
        // Not started, but someone checked in (check-in opens 30 minutes before the start).
        let scene = scene(&app, 10, 60).await;
        check_in(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), None, None).await.data();
        let later = now() + Duration::hours(3);
        let moved = app.graphql_as(&scene.team.leader, UPDATE_EVENT, json!({ "id": scene.event, "input": { "startsAt": rfc3339(later), "endsAt": rfc3339(later + Duration::hours(1)) } })).await;
        moved.expect_error("CONFLICT", None);
        let earlier = now() - Duration::hours(3);
        app.graphql_as(&scene.team.leader, UPDATE_EVENT, json!({ "id": scene.event, "input": { "endsAt": rfc3339(earlier) } })).await
            .expect_error("CONFLICT", None);
        let renamed = app.graphql_as(&scene.team.leader, title, json!({ "id": scene.event })).await;
        assert_eq!(renamed.data()["updateEvent"]["title"], "夜间巡逻（改）");
        let attendance = seen(&app, &scene.member, &scene.sign_up).await;
        assert!(attendance["checkOutAt"].is_null());

        // Started, nobody checked in.
        let (started, starts, ends) = past_scene(&app, 20, 60).await;
        app.graphql_as(&started.team.leader, UPDATE_EVENT, json!({ "id": started.event, "input": { "startsAt": rfc3339(starts + Duration::minutes(30)) } })).await
            .expect_error("CONFLICT", None);
        app.graphql_as(&started.team.leader, title, json!({ "id": started.event })).await.data();
        let same = app.graphql_as(&started.team.leader, UPDATE_EVENT, json!({ "id": started.event, "input": { "startsAt": rfc3339(starts), "endsAt": rfc3339(ends) } })).await;
        assert_eq!(parse_time(&same.data()["updateEvent"]["startsAt"]), starts, "the same times sent again change nothing");
    }
}
