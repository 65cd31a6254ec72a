//! Check-in and check-out on site (invariant 6) and the attendance records they leave.

use chrono::Duration;
use feihong_tests::fixtures::{CANCEL_SIGN_UP, EVENT_LAT, EVENT_LNG};
use feihong_tests::{EventSpec, TestApp, on_every_backend};
use serde_json::{Value, json};

use crate::support::*;

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
        assert_eq!(attendance["checkedInBy"], "SELF_OFFLINE", "not a live GPS check-in");
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
        assert_eq!(attendance["checkedOutBy"], "SELF_OFFLINE", "reported 50 minutes after its time");
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
        check_out(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(45))).await.data();
        let mine = record_nodes(&app, member, json!(null)).await;
        assert_eq!(mine.len(), 1, "{mine:?}");
        let record = &mine[0];
        assert_eq!(record["minutes"], 30);
        assert_eq!(record["status"], "PENDING");
        // Both reports arrived long after their times: the leader is asked to look.
        assert_eq!(record["needsReview"], true);
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
        check_out(&app, member, sign_up, Some(north_of_event(20.0)), Some(ends + Duration::minutes(30))).await.data();
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

    async fn an_offline_check_in_arriving_after_the_no_show_marking_makes_the_volunteer_attended(app: TestApp) {
        let (scene, starts, _) = past_scene(&app, 240, 60).await;
        let (member, sign_up) = (&scene.member, scene.sign_up.as_str());
        let status = "query($id: ID!) { node(id: $id) { ... on SignUp { status } } }";
        // The upkeep (every 500 ms in tests) marks the confirmed sign-up a no-show.
        let mut seen = Value::Null;
        for _ in 0..100 {
            seen = app.graphql_as(member, status, json!({ "id": sign_up })).await.data()["node"]["status"].clone();
            if seen == "NO_SHOW" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(seen, "NO_SHOW");
        // A live check-in is refused, the report the phone kept while offline is accepted.
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), None, None).await.expect_error("CONFLICT", None);
        check_in(&app, member, sign_up, Some(north_of_event(20.0)), Some(starts + Duration::minutes(5)), None).await.data();
        let now = app.graphql_as(member, status, json!({ "id": sign_up })).await;
        assert_eq!(now.data()["node"]["status"], "CONFIRMED");
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
}
