//! Service records entered by leaders and their review (invariant 7): who may review, daily
//! limits, reversals, audit entries.

use feihong_tests::{EventSpec, TestApp, on_every_backend};
use serde_json::{Value, json};

use crate::support::*;

on_every_backend! {
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
        check_out(&app, &scene.member, &scene.sign_up, Some(north_of_event(20.0)), Some(ends)).await.data();
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
