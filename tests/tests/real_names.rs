//! Real names (`setRealName`), end to end on SQLite and PostgreSQL: the resident ID number's
//! checks, one account per number (also when two race), the number only ever shown masked, who
//! sees what, the sealed columns as stored, and the real name on certificates.

use chrono::{Duration, Utc};
use feihong_tests::{Session, TestApp, on_every_backend};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};

const SET: &str = "mutation($name: String!, $id: String!) {
  setRealName(name: $name, idNumber: $id) { id realNameVerified realName idNumberMasked }
}";
const ME: &str = "{ me { realNameVerified realName idNumberMasked } }";
const MEMBERS: &str = "query($id: ID!) {
  team(id: $id) { members(first: 100) { nodes { volunteer { id displayName realNameVerified realName idNumberMasked } } } }
}";
const CERTIFICATE: &str = "mutation { issueServiceCertificate { code holderName url } }";
const VERIFY: &str =
    "query($code: String!) { verifyCertificate(code: $code) { valid holderMaskedName } }";

/// Well-formed numbers (GB 11643 check characters computed for these 17 digits).
const NUMBER: &str = "440604199003071236";
const MASKED: &str = "4406**********1236";
const OTHER_NUMBER: &str = "440604198511204563";
const THIRD_NUMBER: &str = "440605200001017895";

async fn set(app: &TestApp, session: &Session, name: &str, id: &str) -> feihong_tests::Response {
    app.graphql_as(session, SET, json!({ "name": name, "id": id }))
        .await
}

async fn me(app: &TestApp, session: &Session) -> Value {
    app.graphql_as(session, ME, json!({})).await.data()["me"].clone()
}

fn days_ago(days: i64) -> String {
    (Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        - Duration::days(days))
    .format("%Y-%m-%d")
    .to_string()
}

/// Every row of a table, as text, read directly from the database.
async fn raw_rows(app: &TestApp, sql: &str) -> Vec<Vec<String>> {
    let db = app.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (0..)
                .map_while(|i| {
                    row.try_get_by_index::<Option<String>>(i)
                        .ok()
                        .map(Option::unwrap_or_default)
                })
                .collect()
        })
        .collect()
}

on_every_backend! {
    async fn a_volunteer_records_their_real_name_and_sees_the_number_only_masked(app: TestApp) {
        let volunteer = app.volunteer().await;
        let before = me(&app, &volunteer).await;
        assert_eq!(before, json!({ "realNameVerified": false, "realName": null, "idNumberMasked": null }));

        let answer = set(&app, &volunteer, " 黄飞鸿 ", NUMBER).await;
        let recorded = &answer.data()["setRealName"];
        assert_eq!(recorded["id"], volunteer.volunteer_id.as_str());
        assert_eq!(recorded["realNameVerified"], true);
        assert_eq!(recorded["realName"], "黄飞鸿");
        assert_eq!(recorded["idNumberMasked"], MASKED);
        assert!(!answer.body.to_string().contains(NUMBER));
        assert_eq!(
            me(&app, &volunteer).await,
            json!({ "realNameVerified": true, "realName": "黄飞鸿", "idNumberMasked": MASKED })
        );

        // A lower-case x is the same number as its capital; setting again replaces.
        let again = set(&app, &volunteer, "Wong Fei Hung", "11010519491231002x").await;
        assert_eq!(again.data()["setRealName"]["idNumberMasked"], "1101**********002X");
        assert_eq!(again.data()["setRealName"]["realName"], "Wong Fei Hung");
        assert_eq!(raw_rows(&app, "SELECT id_number_masked FROM volunteer_real_names").await.len(), 1);
    }

    async fn malformed_numbers_and_names_are_refused_naming_the_argument(app: TestApp) {
        let volunteer = app.volunteer().await;
        for (number, what) in [
            ("440604199003071235", "check character"),
            ("440604199002301239", "real birth date"),  // 30 February
            ("440604209901011231", "real birth date"),  // born in 2099
            ("990604199003071233", "known area code"),
            ("44060419900307123", "18 characters"),
            ("4406041990030712X6", "18 characters"),
        ] {
            let answer = set(&app, &volunteer, "黄飞鸿", number).await;
            answer.expect_error("BAD_USER_INPUT", Some("idNumber"));
            assert!(answer.error_message().contains(what), "{number}: {}", answer.error_message());
            assert!(!answer.body.to_string().contains(&number[..14]), "the number is not echoed");
        }
        for name in ["黄", "黄飞鸿1", "黄\u{202E}飞鸿", "Wong黄"] {
            set(&app, &volunteer, name, NUMBER).await.expect_error("BAD_USER_INPUT", Some("name"));
        }
        assert_eq!(me(&app, &volunteer).await["realNameVerified"], false);
        app.graphql(SET, json!({ "name": "黄飞鸿", "id": NUMBER }))
            .await
            .expect_error("UNAUTHENTICATED", None);
    }

    async fn a_number_recorded_for_another_account_is_a_conflict_that_names_nobody(app: TestApp) {
        let first = app.volunteer().await;
        let second = app.volunteer().await;
        set(&app, &first, "黄飞鸿", NUMBER).await.data();
        let taken = set(&app, &second, "梁宽", "440604199003071236").await;
        taken.expect_error("CONFLICT", None);
        let body = taken.body.to_string();
        assert!(!body.contains(&first.phone) && !body.contains("黄飞鸿") && !body.contains(&first.volunteer_id), "{body}");
        assert_eq!(me(&app, &second).await["realNameVerified"], false);

        // Once the first account replaces its number, the old one is free.
        set(&app, &first, "黄飞鸿", OTHER_NUMBER).await.data();
        let freed = set(&app, &second, "梁宽", NUMBER).await;
        assert_eq!(freed.data()["setRealName"]["realNameVerified"], true);
        set(&app, &second, "梁宽", OTHER_NUMBER).await.expect_error("CONFLICT", None);
    }

    async fn of_accounts_racing_for_one_number_exactly_one_records_it(app: TestApp) {
        let mut volunteers = Vec::new();
        for _ in 0..6 {
            volunteers.push(app.volunteer().await);
        }
        let answers = futures::future::join_all(
            volunteers.iter().map(|volunteer| set(&app, volunteer, "黄飞鸿", THIRD_NUMBER)),
        )
        .await;
        let won = answers.iter().filter(|answer| answer.body.get("errors").is_none()).count();
        assert_eq!(won, 1, "{:?}", answers.iter().map(|a| a.body.to_string()).collect::<Vec<_>>());
        for answer in answers.iter().filter(|answer| answer.body.get("errors").is_some()) {
            answer.expect_error("CONFLICT", None);
        }
        let rows = raw_rows(&app, "SELECT id_number_masked FROM volunteer_real_names").await;
        assert_eq!(rows.len(), 1);
    }

    async fn only_the_volunteer_sees_their_real_name_and_supervisors_see_only_that_it_is_verified(app: TestApp) {
        let team = app.team("实名巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let teammate = app.member(&team).await;
        set(&app, &member, "黄飞鸿", NUMBER).await.data();
        let seen_by = |reader: Session| {
            let app = &app;
            let team_id = team.id.clone();
            let member_id = member.volunteer_id.clone();
            async move {
                let answer = app.graphql_as(&reader, MEMBERS, json!({ "id": team_id })).await;
                let nodes = answer.data()["team"]["members"]["nodes"].as_array().unwrap().clone();
                nodes.into_iter().map(|node| node["volunteer"].clone())
                    .find(|volunteer| volunteer["id"] == member_id.as_str())
                    .expect("the member is listed")
            }
        };
        let by_leader = seen_by(team.leader.clone()).await;
        assert_eq!(by_leader["realNameVerified"], true);
        assert_eq!((&by_leader["realName"], &by_leader["idNumberMasked"]), (&Value::Null, &Value::Null));
        let by_admin = seen_by(team.admin.clone()).await;
        assert_eq!(by_admin["realNameVerified"], true);
        assert_eq!(by_admin["realName"], Value::Null);
        let by_teammate = seen_by(teammate.clone()).await;
        assert_eq!(
            (&by_teammate["realNameVerified"], &by_teammate["realName"], &by_teammate["idNumberMasked"]),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        assert_eq!(by_teammate["displayName"], by_leader["displayName"]);
    }

    async fn the_stored_columns_are_sealed_and_the_audit_log_holds_neither(app: TestApp) {
        let volunteer = app.volunteer().await;
        set(&app, &volunteer, "黄飞鸿", NUMBER).await.data();
        let rows = raw_rows(
            &app,
            "SELECT name_sealed, id_number_sealed, id_number_index, id_number_masked FROM volunteer_real_names",
        )
        .await;
        let [row] = rows.as_slice() else { panic!("one row: {rows:?}") };
        let [name, number, index, masked] = row.as_slice() else { panic!("{row:?}") };
        for sealed in [name, number] {
            assert!(sealed.starts_with("v1:") && sealed.len() > 40, "{sealed}");
            assert!(!sealed.contains("黄飞鸿") && !sealed.contains(NUMBER) && !sealed.contains("19900307"));
        }
        assert_ne!(name, number);
        assert!(index.len() == 64 && index.chars().all(|c| c.is_ascii_hexdigit()), "{index}");
        assert!(!index.contains("440604"));
        assert_eq!(masked, MASKED);
        // The plaintext columns of the first schema stay empty.
        let legacy = raw_rows(&app, "SELECT real_name, national_id FROM volunteers").await;
        assert!(legacy.iter().flatten().all(String::is_empty), "{legacy:?}");
        let audit = raw_rows(&app, "SELECT action, before, after FROM audit_entries").await;
        assert!(audit.iter().any(|row| row[0] == "real_name.set"), "{audit:?}");
        let text = format!("{audit:?}");
        assert!(!text.contains("1990030") && !text.contains("黄飞鸿"), "{text}");
    }

    async fn certificates_carry_the_real_name_once_recorded_and_never_the_number(app: TestApp) {
        let team = app.team("证书实名队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        app.approved_minutes(&team, &member, 90, &days_ago(2)).await;
        let before = app.graphql_as(&member, CERTIFICATE, json!({})).await.data()["issueServiceCertificate"].clone();
        assert_ne!(before["holderName"], "黄飞鸿");

        set(&app, &member, "黄飞鸿", NUMBER).await.data();
        let after = app.graphql_as(&member, CERTIFICATE, json!({})).await.data()["issueServiceCertificate"].clone();
        assert_eq!(after["holderName"], "黄飞鸿");
        assert_ne!(after["code"], before["code"], "a changed name issues a new certificate");
        let verified = app.graphql(VERIFY, json!({ "code": after["code"] })).await.data()["verifyCertificate"].clone();
        assert_eq!(verified, json!({ "valid": true, "holderMaskedName": "黄**" }));

        let page = app.http().get(app.url(after["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("黄飞鸿"), "{html}");
        assert!(!html.contains(NUMBER) && !html.contains(MASKED) && !html.contains("4406*"), "{html}");
    }
}
