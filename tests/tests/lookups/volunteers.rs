//! `volunteers(filter: {phone, nameContains, areaId})`: admins find a volunteer homed in their
//! area; nobody else may, and no admin looks beyond their area.

use feihong_tests::{Session, TEST_PASSWORD, TestApp, on_every_backend};
use serde_json::{Value, json};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken volunteer { id } } }";
const VOLUNTEERS: &str = "query($filter: VolunteerFilter, $first: Int, $after: String) {
  volunteers(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id displayName phone area { code } }
  }
}";

async fn register_in(app: &TestApp, phone: &str, name: &str, area_code: &str) -> Session {
    let area = app.area_id(area_code).await;
    let input = json!({ "input": { "phone": phone, "password": TEST_PASSWORD, "displayName": name, "areaId": area } });
    let answer = app.graphql(REGISTER, input).await;
    Session::from_payload(&answer.data()["register"], phone)
}

fn ids(answer: &Value) -> Vec<String> {
    answer["volunteers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

on_every_backend! {
    async fn an_admin_finds_a_volunteer_of_their_area_by_phone_or_name(app: TestApp) {
        let wong = register_in(&app, "13812345678", "黄飞鸿 Wong", "440604").await;
        let leung = register_in(&app, "13812345679", "梁宽", "440604").await;
        let shunde = register_in(&app, "13912345670", "黄麒英", "440606").await;
        let chancheng = app.area_admin("440604").await;
        let city = app.area_admin("440600").await;
        let find = |filter: Value| json!({ "filter": filter, "first": 100 });

        // Phone in any common format.
        for phone in ["13812345678", "+86 138 1234 5678", "+86-138-1234-5678"] {
            let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(json!({ "phone": phone }))).await;
            assert_eq!(ids(answer.data()), vec![wong.volunteer_id.clone()], "{phone}");
        }
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(json!({ "phone": "13812345678" }))).await;
        let found = &answer.data()["volunteers"]["nodes"][0];
        assert_eq!(found["displayName"], "黄飞鸿 Wong");
        assert_eq!(found["area"]["code"], "440604");
        assert!(found["phone"].is_null(), "no admin sees another's full phone: {found}");

        // Part of the name, any case; wildcards are plain characters.
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(json!({ "nameContains": "wONG" }))).await;
        assert_eq!(ids(answer.data()), vec![wong.volunteer_id.clone()]);
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(json!({ "nameContains": "%" }))).await;
        assert!(ids(answer.data()).is_empty());
        // 黄 in Chancheng is Wong only; the city admin also finds Shunde's 黄麒英.
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(json!({ "nameContains": "黄" }))).await;
        assert_eq!(ids(answer.data()), vec![wong.volunteer_id.clone()]);
        let answer = app.graphql_as(&city, VOLUNTEERS, find(json!({ "nameContains": "黄" }))).await;
        assert_eq!(ids(answer.data()), [wong.volunteer_id.clone(), shunde.volunteer_id.clone()]);
        let shunde_area = app.area_id("440606").await;
        let answer = app.graphql_as(&city, VOLUNTEERS, find(json!({ "nameContains": "黄", "areaId": shunde_area }))).await;
        assert_eq!(ids(answer.data()), vec![shunde.volunteer_id.clone()]);

        // Paged by id.
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, json!({ "filter": { "phone": null }, "first": 1 })).await;
        let page = &answer.data()["volunteers"];
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        let after = page["pageInfo"]["endCursor"].clone();
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, json!({ "first": 100, "after": after })).await;
        assert!(!ids(answer.data()).is_empty());
        let _ = leung;
    }

    async fn nobody_finds_volunteers_beyond_their_area_and_volunteers_find_none(app: TestApp) {
        let shunde = register_in(&app, "13912345671", "黄麒英", "440606").await;
        let chancheng = app.area_admin("440604").await;
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let by_phone = json!({ "filter": { "phone": "13912345671" } });

        // A district admin does not find a volunteer homed in another district.
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, by_phone.clone()).await;
        assert!(ids(answer.data()).is_empty());
        let shunde_area = app.area_id("440606").await;
        app.graphql_as(&chancheng, VOLUNTEERS, json!({ "filter": { "areaId": shunde_area } })).await.expect_error("FORBIDDEN", None);
        for session in [&team.leader, &member, &shunde] {
            app.graphql_as(session, VOLUNTEERS, by_phone.clone()).await.expect_error("FORBIDDEN", None);
        }
        app.graphql(VOLUNTEERS, by_phone).await.expect_error("UNAUTHENTICATED", None);

        // Bounded input.
        app.graphql_as(&chancheng, VOLUNTEERS, json!({ "filter": { "phone": "12345" } })).await.expect_error("BAD_USER_INPUT", Some("filter.phone"));
        app.graphql_as(&chancheng, VOLUNTEERS, json!({ "filter": { "nameContains": "黄".repeat(41) } })).await.expect_error("BAD_USER_INPUT", Some("filter.nameContains"));
        app.graphql_as(&chancheng, VOLUNTEERS, json!({ "first": 101 })).await.expect_error("BAD_USER_INPUT", Some("first"));
    }

    async fn a_renamed_volunteer_is_found_by_the_new_name_and_not_the_old_one(app: TestApp) {
        let wong = register_in(&app, "13812345678", "黄飞鸿", "440604").await;
        let chancheng = app.area_admin("440604").await;
        let find = |name: &str| json!({ "filter": { "nameContains": name }, "first": 100 });
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, find("飞鸿")).await;
        assert_eq!(ids(answer.data()), vec![wong.volunteer_id.clone()]);

        let rename = "mutation($name: String) { updateMyProfile(displayName: $name) { displayName } }";
        let answer = app.graphql_as(&wong, rename, json!({ "name": "Leung Foon 梁宽" })).await;
        assert_eq!(answer.data()["updateMyProfile"]["displayName"], "Leung Foon 梁宽");

        for old in ["黄", "飞鸿", "黄飞鸿"] {
            let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(old)).await;
            assert!(ids(answer.data()).is_empty(), "still found by {old}");
        }
        for new in ["梁", "梁宽", "leung", "FOON", "g f", "Leung Foon 梁宽"] {
            let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(new)).await;
            assert_eq!(ids(answer.data()), vec![wong.volunteer_id.clone()], "{new}");
        }
        // Changing only the leaderboard setting keeps the name findable.
        let hide = "mutation { updateMyProfile(showOnLeaderboards: false) { displayName } }";
        app.graphql_as(&wong, hide, json!({})).await.data();
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, find("梁宽")).await;
        assert_eq!(ids(answer.data()), vec![wong.volunteer_id.clone()]);
    }

    async fn names_of_one_two_and_more_characters_are_found_by_any_part(app: TestApp) {
        let one = register_in(&app, "13812340001", "鸿", "440604").await;
        let two = register_in(&app, "13812340002", "飞鸿", "440604").await;
        let three = register_in(&app, "13812340003", "黄飞鸿", "440604").await;
        let latin = register_in(&app, "13812340004", "Wong Fei-hung", "440604").await;
        let chancheng = app.area_admin("440604").await;
        let city = app.area_admin("440600").await;
        let find = |name: &str| json!({ "filter": { "nameContains": name }, "first": 100 });
        let expect = |needle: &str, found: Vec<&Session>| (needle.to_owned(), found.into_iter().map(|s| s.volunteer_id.clone()).collect::<Vec<_>>());
        for (needle, found) in [
            expect("鸿", vec![&one, &two, &three]),
            expect("飞鸿", vec![&two, &three]),
            expect("黄飞鸿", vec![&three]),
            expect("黄飞鸿鸿", vec![]),
            expect("鸿飞", vec![]),
            expect("w", vec![&latin]),
            expect("ei-HUN", vec![&latin]),
            expect("g f", vec![&latin]),
            expect("wong  fei", vec![]),
        ] {
            let answer = app.graphql_as(&chancheng, VOLUNTEERS, find(&needle)).await;
            assert_eq!(ids(answer.data()), found, "{needle}");
            assert_eq!(answer.data()["volunteers"]["totalCount"], found.len(), "{needle}");
        }

        // Paged by id through the gram index: 鸿 one at a time.
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let answer = app.graphql_as(&chancheng, VOLUNTEERS, json!({ "filter": { "nameContains": "鸿" }, "first": 1, "after": after })).await;
            let page = &answer.data()["volunteers"];
            assert_eq!(page["totalCount"], 3);
            seen.extend(ids(answer.data()));
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, [one.volunteer_id.clone(), two.volunteer_id.clone(), three.volunteer_id.clone()]);

        // Admins created by the operator are found by name too (both homed in the city).
        let answer = app.graphql_as(&city, VOLUNTEERS, find("管理员")).await;
        assert_eq!(ids(answer.data()), [chancheng.volunteer_id.clone(), city.volunteer_id.clone()]);
        // A phone and a name together: the phone's volunteer, if the name matches.
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, json!({ "filter": { "phone": "13812340003", "nameContains": "飞" } })).await;
        assert_eq!(ids(answer.data()), vec![three.volunteer_id.clone()]);
        let answer = app.graphql_as(&chancheng, VOLUNTEERS, json!({ "filter": { "phone": "13812340003", "nameContains": "梁" } })).await;
        assert!(ids(answer.data()).is_empty());
    }
}
