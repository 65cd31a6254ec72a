//! Events and patrol schedules: who manages them, the event lifecycle, visibility, filters and\n//! paging, schedules at local time, and the audit log.

use chrono::{DateTime, Datelike, Duration, DurationRound as _, NaiveDate, Timelike, Utc};
use chrono_tz::Asia::Shanghai;
use feihong_tests::{EventSpec, TeamFixture, TestApp, on_every_backend};
use serde_json::{Value, json};

use crate::support::*;

on_every_backend! {
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

        // A moved event is found at its new place and no longer at its old one (its grid cell,
        // which the nearest-first lookup reads, follows its position).
        let moved = json!({ "location": { "address": "祖庙路23号", "lat": ZUMIAO.0 + 0.001, "lng": ZUMIAO.1, "radiusM": 200 } });
        app.graphql_as(&shunde.leader, UPDATE_EVENT, json!({ "id": daliang, "input": moved })).await.data();
        assert_eq!(seen(near(SHUNDE, 1_000)).await, Vec::<String>::new());
        assert_eq!(seen(near(ZUMIAO, 300)).await, [zumiao.clone(), daliang.clone()]);

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
            let filter = json!({ "teamId": team.id, "areaId": app.area_id("440604").await });
            let page = app.graphql_as(&team.leader, EVENTS, json!({ "filter": filter, "first": 1, "after": after })).await;
            let page = page.data()["events"].clone();
            assert_eq!(page["totalCount"], created.len(), "the whole list's count on every page");
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
        // The first patrol may start within a day (Monday or Wednesday 19:30): the upkeep may
        // have reminded the member of it meanwhile, depending on the time of day.
        let told: Vec<Value> = notifications(&app, &member).await.into_iter().filter(|n| n["kind"] != "REMINDER").collect();
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

    async fn an_event_that_has_ended_becomes_completed_and_still_takes_check_outs(app: TestApp) {
        let team = app.team("完结巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let ended = published_event_at(&app, &team.leader, &team.id, "昨晚巡逻", "PATROL", 24, ZUMIAO).await;
        let upcoming = published_event_at(&app, &team.leader, &team.id, "明晚巡逻", "PATROL", 24, ZUMIAO).await;
        let sign_up = app.sign_up(&member, &ended, None).await.data()["signUp"]["id"].as_str().unwrap().to_owned();
        // Moved back in time by its leader: it ran from two hours ago for an hour.
        let starts = (Utc::now() - Duration::hours(2)).duration_trunc(Duration::seconds(1)).unwrap();
        let ends = starts + Duration::hours(1);
        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": ended, "input": { "startsAt": starts.to_rfc3339(), "endsAt": ends.to_rfc3339() } })).await.data();
        // The report the phone kept while offline: checked in during the event.
        let position = json!({ "lat": ZUMIAO.0, "lng": ZUMIAO.1, "accuracyM": 8.0 });
        let check_in = "mutation($id: ID!, $position: PositionInput, $at: DateTime) { checkIn(signUpId: $id, position: $position, at: $at) { checkInAt } }";
        app.graphql_as(&member, check_in, json!({ "id": sign_up, "position": position, "at": (starts + Duration::minutes(5)).to_rfc3339() })).await.data();

        // The upkeep (every 500 ms in tests) completes it, and only it.
        let mut status = Value::Null;
        for _ in 0..100 {
            status = app.graphql_as(&team.leader, EVENT, json!({ "id": ended })).await.data()["event"]["status"].clone();
            if status == "COMPLETED" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, "COMPLETED");
        assert_eq!(app.graphql_as(&team.leader, EVENT, json!({ "id": upcoming })).await.data()["event"]["status"], "PUBLISHED");
        let filter = json!({ "teamId": team.id, "status": "COMPLETED", "startsAfter": (starts - Duration::days(1)).to_rfc3339() });
        assert_eq!(event_ids_seen(&app, Some(&team.leader), filter).await, vec![ended.clone()]);
        let filter = json!({ "teamId": team.id, "status": "PUBLISHED" });
        assert_eq!(event_ids_seen(&app, Some(&team.leader), filter).await, vec![upcoming.clone()]);

        // Check-out after the end still works on a COMPLETED event.
        let check_out = "mutation($id: ID!, $position: PositionInput, $at: DateTime) { checkOut(signUpId: $id, position: $position, at: $at) { checkOutAt } }";
        let out = app.graphql_as(&member, check_out, json!({ "id": sign_up, "position": position, "at": (ends - Duration::minutes(5)).to_rfc3339() })).await;
        assert_eq!(parse_time(&out.data()["checkOut"]["checkOutAt"]), ends - Duration::minutes(5));
        // Over is over: it can no longer be signed up for, changed or cancelled.
        let late = app.volunteer().await;
        app.sign_up(&late, &ended, None).await.expect_error("CONFLICT", None);
        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": ended, "input": { "title": "改名" } })).await.expect_error("CONFLICT", None);
        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": ended, "reason": "补录" })).await.expect_error("CONFLICT", None);
    }
}
