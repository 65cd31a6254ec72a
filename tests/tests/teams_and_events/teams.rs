//! Teams and memberships: who creates them, lists and filters, joining, roles, who sees whose phone.

use feihong_tests::{Session, TestApp, on_every_backend};
use serde_json::{Value, json};

use crate::support::*;

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
        assert_eq!(parent["subTeams"]["nodes"], json!([{ "id": child_id }]));
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

    async fn leaders_and_deputies_see_full_phones_members_see_none_and_outsiders_nothing(app: TestApp) {
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
                assert_eq!(node["phone"], member.phone.as_str(), "leaders and deputies see their active members' numbers in full");
                let full = if member.volunteer_id == viewer.volunteer_id { json!(member.phone) } else { Value::Null };
                assert_eq!(node["volunteer"]["phone"], full, "Volunteer.phone is only ever the viewer's own");
            }
        }

        // The area's admin reads every number masked.
        let seen = app.graphql_as(&team.admin, MEMBERS, json!({ "id": team.id, "pending": false })).await;
        let nodes = seen.data()["team"]["members"]["nodes"].as_array().unwrap().clone();
        let phones: Vec<&Value> = nodes.iter().map(|node| &node["phone"]).collect();
        let expected: Vec<Value> = everyone.iter().map(|member| json!(masked(&member.phone))).collect();
        assert_eq!(phones, expected.iter().collect::<Vec<_>>());

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

    async fn leaving_a_team_gives_up_seats_on_its_members_only_events_and_the_waitlist_moves_up(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let other_team = app.team("南海反诈队", "440605", "OPEN").await;
        let leaver = app.member(&team).await;
        app.graphql_as(&leaver, JOIN_TEAM, json!({ "id": other_team.id })).await.data();
        let waiting = app.member(&team).await;
        let event = |team: &feihong_tests::TeamFixture, visibility: &str, capacity: i64, day: i64| {
            let mut input = event_input(&team.id);
            let starts = chrono::Utc::now() + chrono::Duration::days(day);
            input["startsAt"] = json!(starts.to_rfc3339());
            input["endsAt"] = json!((starts + chrono::Duration::hours(2)).to_rfc3339());
            input["visibility"] = json!(visibility);
            input["capacity"] = json!(capacity);
            let (app, leader) = (&app, team.leader.clone());
            async move {
                let created = app.graphql_as(&leader, CREATE_EVENT, json!({ "input": input })).await;
                let id = created.data()["createEvent"]["id"].as_str().unwrap().to_owned();
                app.graphql_as(&leader, PUBLISH_EVENT, json!({ "id": id })).await.data();
                id
            }
        };
        let members_only = event(&team, "TEAM", 1, 1).await;
        let public = event(&team, "PUBLIC", 5, 2).await;
        let elsewhere = event(&other_team, "TEAM", 5, 3).await;
        for id in [&members_only, &public, &elsewhere] {
            app.sign_up(&leaver, id, None).await.data();
        }
        assert_eq!(app.sign_up(&waiting, &members_only, None).await.data()["signUp"]["status"], "WAITLISTED");

        let left = app.graphql_as(&leaver, LEAVE_TEAM, json!({ "id": team.id })).await;
        assert_eq!(left.data()["leaveTeam"]["status"], "LEFT");
        let statuses = |session: Session| {
            let app = &app;
            async move {
                let mine = app.graphql_as(&session, MY_SIGN_UPS, json!({})).await.data()["mySignUps"]["nodes"].clone();
                mine.as_array().unwrap().iter()
                    .map(|n| (n["event"]["id"].as_str().unwrap().to_owned(), n["status"].as_str().unwrap().to_owned()))
                    .collect::<std::collections::HashMap<_, _>>()
            }
        };
        let mine = statuses(leaver.clone()).await;
        assert_eq!(mine[&members_only], "CANCELLED", "{mine:?}");
        assert_eq!(mine[&public], "CONFIRMED", "a public event stays: anyone may go");
        assert_eq!(mine[&elsewhere], "CONFIRMED", "another team's event stays");
        assert_eq!(statuses(waiting.clone()).await[&members_only], "CONFIRMED", "the freed seat went to the waitlist");
        let counts = app.event_counts(&team.leader, &members_only).await;
        assert_eq!((counts["confirmedCount"].clone(), counts["waitlistCount"].clone()), (json!(1), json!(0)));
        let told = notifications(&app, &leaver).await;
        assert!(told.iter().any(|n| n["kind"] == "SIGN_UP_CANCELLED" && n["event"]["id"] == members_only.as_str()), "{told:?}");
        let promoted = notifications(&app, &waiting).await;
        assert!(promoted.iter().any(|n| n["kind"] == "PROMOTED" && n["event"]["id"] == members_only.as_str()), "{promoted:?}");
        // No longer a member, they no longer see the event to sign up again.
        app.sign_up(&leaver, &members_only, None).await.expect_error("NOT_FOUND", None);

        // A leave that is refused (the only leader) cancels nothing.
        let leaders_own = event(&team, "TEAM", 5, 4).await;
        app.sign_up(&team.leader, &leaders_own, None).await.data();
        app.graphql_as(&team.leader, LEAVE_TEAM, json!({ "id": team.id })).await.expect_error("CONFLICT", None);
        assert_eq!(statuses(team.leader.clone()).await[&leaders_own], "CONFIRMED");
    }
}
