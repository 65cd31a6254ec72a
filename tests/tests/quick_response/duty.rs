//! Duty: declared with `goOnDuty` (at most 12 h), ended with `goOffDuty`; positions taken only on
//! duty and at most one per 15 s.

use chrono::{Duration, Utc};
use feihong_tests::{TestApp, on_every_backend};
use serde_json::json;

use crate::support::{CENTRE, GO_ON_DUTY, go_on_duty};

const REPORT: &str = "mutation($p: PositionInput!) { reportPosition(position: $p) }";
const MY_DUTY: &str = "{ myDuty { onDuty until declared alertsMuted } }";

on_every_backend! {
    async fn positions_are_taken_on_duty_at_most_every_fifteen_seconds_and_refused_off_duty(app: TestApp) {
        let volunteer = app.volunteer().await;
        let here = json!({ "p": { "lat": CENTRE.0, "lng": CENTRE.1 } });
        app.graphql_as(&volunteer, REPORT, here.clone()).await.expect_error("CONFLICT", None);
        assert_eq!(app.graphql_as(&volunteer, MY_DUTY, json!({})).await.data()["myDuty"]["onDuty"], false);

        go_on_duty(&app, &volunteer, CENTRE).await;
        let duty = app.graphql_as(&volunteer, MY_DUTY, json!({})).await;
        assert_eq!(duty.data()["myDuty"]["declared"], true);
        // The position given with goOnDuty was the first: another within 15 s is refused.
        let soon = app.graphql_as(&volunteer, REPORT, here.clone()).await;
        soon.expect_error("RATE_LIMITED", None);

        let off = app.graphql_as(&volunteer, "mutation { goOffDuty { onDuty } }", json!({})).await;
        assert_eq!(off.data()["goOffDuty"]["onDuty"], false);
        app.graphql_as(&volunteer, REPORT, here).await.expect_error("CONFLICT", None);
    }

    async fn a_duty_lasts_at_most_twelve_hours_and_ends_in_the_future(app: TestApp) {
        let volunteer = app.volunteer().await;
        let p = json!({ "lat": CENTRE.0, "lng": CENTRE.1 });
        for until in [
            Utc::now() + Duration::hours(13),
            Utc::now() - Duration::minutes(1),
        ] {
            let answer = app
                .graphql_as(&volunteer, GO_ON_DUTY, json!({ "until": until.to_rfc3339(), "p": p }))
                .await;
            answer.expect_error("BAD_USER_INPUT", Some("until"));
        }
        let far = app
            .graphql_as(&volunteer, GO_ON_DUTY, json!({ "until": "9999-12-31T23:59:59Z", "p": p }))
            .await;
        far.expect_error("BAD_USER_INPUT", Some("until"));
        let nowhere = app
            .graphql_as(&volunteer, GO_ON_DUTY, json!({ "until": (Utc::now() + Duration::hours(1)).to_rfc3339(), "p": { "lat": 91.0, "lng": 0.0 } }))
            .await;
        nowhere.expect_error("BAD_USER_INPUT", Some("position.lat"));
        let anonymous = app
            .graphql(GO_ON_DUTY, json!({ "until": (Utc::now() + Duration::hours(1)).to_rfc3339(), "p": p }))
            .await;
        anonymous.expect_error("UNAUTHENTICATED", None);
    }
}
