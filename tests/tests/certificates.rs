//! Service-hour certificates: issued from approved hours, reissued only when they change,
//! verifiable by anyone, printable as an HTML page.

use chrono::{Duration, NaiveDate, Utc};
use feihong_tests::fixtures::{JOIN_TEAM, RECORD_SERVICE, REVIEW};
use feihong_tests::{Session, TestApp, on_every_backend};
use serde_json::{Value, json};

const CERTIFICATE: &str = "mutation { issueServiceCertificate { code holderName totalMinutes byTeam { team { id name } minutes } firstServiceDate lastServiceDate issuedAt issuingOrganisation url } }";
const VERIFY: &str = "query($code: String!) { verifyCertificate(code: $code) { valid holderMaskedName totalMinutes issuedAt code } }";
const STANDING: &str = "query($code: String!) { verifyCertificate(code: $code) { valid status revokedAt totalMinutes } }";
const ISSUE_STANDING: &str =
    "mutation { issueServiceCertificate { code totalMinutes status revokedAt } }";
const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

fn days_ago(days: i64) -> String {
    (today() - Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

async fn certificate(app: &TestApp, session: &Session) -> Value {
    app.graphql_as(session, CERTIFICATE, json!({})).await.data()["issueServiceCertificate"].clone()
}

async fn verify(app: &TestApp, code: &str) -> Value {
    app.graphql(VERIFY, json!({ "code": code })).await.data()["verifyCertificate"].clone()
}

async fn display_name(app: &TestApp, session: &Session) -> String {
    app.graphql_as(session, "{ me { displayName } }", json!({}))
        .await
        .data()["me"]["displayName"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn is_code(code: &str) -> bool {
    code.len() == 20 && code.starts_with("FH-") && code[3..].chars().all(|c| ALPHABET.contains(c))
}

/// A volunteer in two teams with 180 approved minutes in the first, 90 in the second, and 30
/// more waiting for review (which no certificate counts).
async fn volunteer_with_hours(
    app: &TestApp,
) -> (
    feihong_tests::TeamFixture,
    feihong_tests::TeamFixture,
    Session,
) {
    let first = app.team("祖庙巡逻队", "440604", "OPEN").await;
    let second = app.team("南海防诈队", "440605", "OPEN").await;
    let member = app.member(&first).await;
    app.graphql_as(&member, JOIN_TEAM, json!({ "id": second.id }))
        .await
        .data();
    app.approved_minutes(&first, &member, 120, &days_ago(10))
        .await;
    app.approved_minutes(&first, &member, 60, &days_ago(3))
        .await;
    app.approved_minutes(&second, &member, 90, &days_ago(5))
        .await;
    app.graphql_as(
        &second.leader,
        RECORD_SERVICE,
        json!({ "input": { "volunteerId": member.volunteer_id, "teamId": second.id, "minutes": 30, "serviceDate": days_ago(1) } }),
    )
    .await
    .data();
    (first, second, member)
}

on_every_backend! {
    async fn the_deprecated_query_reads_the_latest_certificate_and_never_issues_one(app: TestApp) {
        let team = app.team("证书队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let latest = "{ serviceCertificate { code totalMinutes } }";
        let none = app.graphql_as(&member, latest, json!({})).await;
        assert_eq!(none.data()["serviceCertificate"], Value::Null);
        app.approved_minutes(&team, &member, 90, &days_ago(2)).await;
        let issued = certificate(&app, &member).await;
        let read = app.graphql_as(&member, latest, json!({})).await;
        assert_eq!(read.data()["serviceCertificate"]["code"], issued["code"]);
        // More hours: the query still answers the certificate as issued; only the mutation
        // issues the next one.
        app.approved_minutes(&team, &member, 30, &days_ago(1)).await;
        let read = app.graphql_as(&member, latest, json!({})).await;
        assert_eq!(read.data()["serviceCertificate"]["totalMinutes"], 90);
        assert_eq!(certificate(&app, &member).await["totalMinutes"], 120);
    }

    async fn a_certificate_states_approved_hours_and_is_reissued_only_when_they_change(app: TestApp) {
        let (first, second, member) = volunteer_with_hours(&app).await;
        let issued = certificate(&app, &member).await;
        let code = issued["code"].as_str().unwrap().to_owned();
        assert!(is_code(&code), "{code}");
        assert_eq!(issued["holderName"], display_name(&app, &member).await.as_str());
        assert_eq!(issued["url"], format!("/certificates/{code}").as_str());
        let team_ids = [first.id.clone(), second.id.clone()];
        // 270 minutes: pending minutes do not count.
        insta::assert_json_snapshot!("issued_certificate", issued, {
            ".code" => "[code]",
            ".url" => "[/certificates/code]",
            ".holderName" => "[the volunteer's name]",
            ".issuedAt" => "[issued at]",
            ".byTeam[].team.id" => insta::dynamic_redaction(move |value, _| {
                let id = value.as_str().unwrap_or_default().to_owned();
                let n = team_ids.iter().position(|t| *t == id).expect("one of the two teams");
                format!("[team {}]", n + 1)
            }),
            ".firstServiceDate" => insta::dynamic_redaction(|value, _| {
                assert_eq!(value.as_str(), Some(days_ago(10).as_str()));
                "[10 days ago]"
            }),
            ".lastServiceDate" => insta::dynamic_redaction(|value, _| {
                assert_eq!(value.as_str(), Some(days_ago(3).as_str()));
                "[3 days ago]"
            }),
        });

        let again = certificate(&app, &member).await;
        assert_eq!(again, issued, "unchanged hours return the same certificate");

        app.approved_minutes(&second, &member, 45, &days_ago(1)).await;
        let reissued = certificate(&app, &member).await;
        assert_ne!(reissued["code"], issued["code"]);
        assert_eq!(reissued["totalMinutes"], 315);
        assert_eq!(reissued["byTeam"][1]["minutes"], 135);
        assert_eq!(reissued["firstServiceDate"], days_ago(10).as_str());
        assert_eq!(reissued["lastServiceDate"], days_ago(1).as_str());

        // The first certificate still verifies, with the hours it was issued for.
        let old = verify(&app, &code).await;
        assert_eq!((old["valid"].clone(), old["totalMinutes"].clone()), (json!(true), json!(270)));
        assert_eq!(old["issuedAt"], issued["issuedAt"]);
        let new = verify(&app, reissued["code"].as_str().unwrap()).await;
        assert_eq!(new["totalMinutes"], 315);
    }

    async fn anyone_can_verify_a_code_and_learns_only_a_masked_name_and_hours(app: TestApp) {
        let (_, _, member) = volunteer_with_hours(&app).await;
        let issued = certificate(&app, &member).await;
        let code = issued["code"].as_str().unwrap();
        let name = display_name(&app, &member).await;
        let masked: String = name.chars().take(1).chain(name.chars().skip(1).map(|_| '*')).collect();
        let verified = verify(&app, code).await;
        assert_eq!(verified, json!({
            "valid": true, "holderMaskedName": masked, "totalMinutes": 270,
            "issuedAt": issued["issuedAt"], "code": code,
        }));

        // Typed by hand: lower case, grouped with hyphens and spaces, O for 0 and L for 1.
        let typed = format!("fh - {} {}", &code[3..11], &code[11..]).to_lowercase().replace('0', "o").replace('1', "l");
        assert_eq!(verify(&app, &typed).await["code"], code, "read back as the canonical code");

        let invalid = json!({ "valid": false, "holderMaskedName": null, "totalMinutes": null, "issuedAt": null });
        // One wrong character: the check character refuses it.
        let last = code.chars().last().unwrap();
        let other = ALPHABET.chars().find(|c| *c != last).unwrap();
        let typo = format!("{}{other}", &code[..code.len() - 1]);
        let forged_shapes = [typo.as_str(), "FH-ABCDEFGHJKMNPQRS0", "not a certificate", "", "FH-<script>"];
        for forged in forged_shapes {
            let answer = verify(&app, forged).await;
            assert_eq!(answer["code"], forged.trim());
            let mut without_code = answer.clone();
            without_code.as_object_mut().unwrap().remove("code");
            assert_eq!(without_code, invalid, "{forged}");
        }
        // Well-formed codes nobody was issued: exactly one of these passes the check character.
        for check in ALPHABET.chars() {
            let unknown = format!("FH-0000000000000000{check}");
            assert_eq!(verify(&app, &unknown).await["valid"], false, "{unknown}");
        }
    }

    async fn the_printable_page_shows_the_certificate_and_escapes_names(app: TestApp) {
        let (_, _, member) = volunteer_with_hours(&app).await;
        let issued = certificate(&app, &member).await;
        let code = issued["code"].as_str().unwrap();
        let page = app.http().get(app.url(issued["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let content_type = page.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let html = page.text().await.unwrap();
        for expected in [code, "270", "4 小时 30 分钟", "祖庙巡逻队", "南海防诈队", "Foshan Volunteer Federation", "Certificate"] {
            assert!(html.contains(expected), "page lacks {expected}: {html}");
        }
        assert!(!html.contains("http://") && !html.contains("https://"), "no external assets");

        let unknown = app.http().get(app.url("/certificates/FH-ABCDEFGHJKMNPQRS0")).send().await.unwrap();
        assert_eq!(unknown.status(), 404);
        assert!(unknown.text().await.unwrap().contains("Certificate not found"));
        let hostile = app.http().get(app.url("/certificates/%3Cscript%3Ealert(1)%3C%2Fscript%3E")).send().await.unwrap();
        assert_eq!(hostile.status(), 404);
        assert!(!hostile.text().await.unwrap().contains("<script>"));

        let renamed = app.graphql_as(&member, "mutation($name: String!) { updateMyProfile(displayName: $name) { displayName } }", json!({ "name": "<script>alert(1)</script>黄" })).await;
        renamed.data();
        let named = certificate(&app, &member).await;
        assert_ne!(named["code"], issued["code"], "a changed name is a new certificate");
        assert_eq!(named["holderName"], "<script>alert(1)</script>黄");
        let html = app.http().get(app.url(named["url"].as_str().unwrap())).send().await.unwrap().text().await.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;黄"), "{html}");
        assert_eq!(verify(&app, named["code"].as_str().unwrap()).await["holderMaskedName"], format!("<{}", "*".repeat(25)).as_str());
    }

    async fn a_certificate_needs_a_signed_in_caller_and_may_state_no_hours(app: TestApp) {
        app.graphql(CERTIFICATE, json!({})).await.expect_error("UNAUTHENTICATED", None);
        let newcomer = app.volunteer().await;
        let issued = certificate(&app, &newcomer).await;
        assert_eq!((issued["totalMinutes"].clone(), issued["byTeam"].clone()), (json!(0), json!([])));
        assert_eq!((issued["firstServiceDate"].clone(), issued["lastServiceDate"].clone()), (Value::Null, Value::Null));
        assert_eq!(certificate(&app, &newcomer).await["code"], issued["code"]);
    }

    async fn a_certificate_whose_hours_are_withdrawn_is_revoked_and_an_older_one_is_superseded(app: TestApp) {
        let team = app.team("撤销证书队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let first = app.approved_minutes(&team, &member, 120, &days_ago(10)).await;
        let second = app.approved_minutes(&team, &member, 60, &days_ago(5)).await;
        let issue = || async { app.graphql_as(&member, ISSUE_STANDING, json!({})).await.data()["issueServiceCertificate"].clone() };
        let standing = |code: Value| {
            let app = &app;
            async move { app.graphql(STANDING, json!({ "code": code })).await.data()["verifyCertificate"].clone() }
        };
        let older = issue().await;
        assert_eq!((older["status"].clone(), older["revokedAt"].clone()), (json!("CURRENT"), Value::Null));
        app.approved_minutes(&team, &member, 30, &days_ago(1)).await;
        let newer = issue().await;
        assert_eq!(newer["totalMinutes"], 210);
        // A newer certificate supersedes the older one, whose hours all still stand.
        let was = standing(older["code"].clone()).await;
        assert_eq!((was["valid"].clone(), was["status"].clone(), was["revokedAt"].clone()), (json!(true), json!("SUPERSEDED"), Value::Null));
        assert_eq!(standing(newer["code"].clone()).await["status"], "CURRENT");

        // Approved for fewer minutes than both counted: both are revoked, at that moment.
        let reduced = app.graphql_as(&team.leader, REVIEW, json!({ "id": second, "decision": "APPROVE", "minutes": 45 })).await;
        assert_eq!(reduced.data()["reviewServiceRecord"]["minutes"], 45);
        for code in [older["code"].clone(), newer["code"].clone()] {
            let revoked = standing(code).await;
            assert_eq!((revoked["valid"].clone(), revoked["status"].clone()), (json!(false), json!("REVOKED")), "{revoked}");
            assert!(revoked["revokedAt"].is_string(), "{revoked}");
        }
        let page = app.http().get(app.url(&format!("/certificates/{}", newer["code"].as_str().unwrap()))).send().await.unwrap();
        let html = page.text().await.unwrap();
        assert!(html.contains("已撤销") && html.contains("REVOKED"), "{html}");

        // Asking again issues a new certificate stating the hours as they stand.
        let fresh = issue().await;
        assert_ne!(fresh["code"], newer["code"]);
        assert_eq!((fresh["totalMinutes"].clone(), fresh["status"].clone()), (json!(195), json!("CURRENT")));
        assert_eq!(issue().await["code"], fresh["code"], "a revoked certificate is not handed out again");

        // Hours approved after a certificate was issued are not on it: withdrawing them leaves
        // it standing.
        let later = app.approved_minutes(&team, &member, 20, &days_ago(2)).await;
        app.graphql_as(&team.leader, REVIEW, json!({ "id": later, "decision": "REJECT", "reason": "重复登记" })).await.data();
        let kept = standing(fresh["code"].clone()).await;
        assert_eq!((kept["valid"].clone(), kept["status"].clone()), (json!(true), json!("CURRENT")));

        // A rejected record the certificate counted revokes it.
        app.graphql_as(&team.leader, REVIEW, json!({ "id": first, "decision": "REJECT", "reason": "未到岗" })).await.data();
        let gone = standing(fresh["code"].clone()).await;
        assert_eq!((gone["valid"].clone(), gone["status"].clone(), gone["totalMinutes"].clone()), (json!(false), json!("REVOKED"), json!(195)));
        // Unknown codes have no status.
        let unknown = standing(json!("FH-ABCDEFGHJKMNPQRS0")).await;
        assert_eq!((unknown["valid"].clone(), unknown["status"].clone()), (json!(false), Value::Null));
    }
}
