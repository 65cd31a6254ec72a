//! `updateMyProfile(areaId:)`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use feihong_tests::{TestApp, on_every_backend};
use serde_json::json;

const MOVE: &str = "mutation($area: ID) { updateMyProfile(areaId: $area) { id area { code } } }";
const RENAME: &str =
    "mutation { updateMyProfile(displayName: \"新名字\") { displayName area { code } } }";

on_every_backend! {
    async fn a_volunteer_moves_their_home_area(app: TestApp) {
        let who = app.register("13700000101", "搬家").await;
        let area = app.area_id("440605").await;
        let moved = app.graphql_as(&who, MOVE, json!({ "area": area })).await;
        assert_eq!(moved.data()["updateMyProfile"]["area"]["code"], "440605");
        let me = app.graphql_as(&who, "{ me { area { code } } }", json!({})).await;
        assert_eq!(me.data()["me"]["area"]["code"], "440605");
    }

    async fn the_area_is_optional_and_stays_when_not_given(app: TestApp) {
        let who = app.register("13700000102", "不搬").await;
        let renamed = app.graphql_as(&who, RENAME, json!({})).await;
        assert_eq!(renamed.data()["updateMyProfile"]["area"]["code"], "440604");
        assert_eq!(renamed.data()["updateMyProfile"]["displayName"], "新名字");
        let unchanged = app.graphql_as(&who, MOVE, json!({ "area": null })).await;
        assert_eq!(unchanged.data()["updateMyProfile"]["area"]["code"], "440604");
    }

    async fn an_unknown_or_malformed_area_is_refused(app: TestApp) {
        let who = app.register("13700000103", "乱填").await;
        let nowhere = URL_SAFE_NO_PAD.encode("Area:999999");
        for area in ["not-an-id".to_owned(), nowhere] {
            let answer = app.graphql_as(&who, MOVE, json!({ "area": area })).await;
            answer.expect_error("BAD_USER_INPUT", Some("areaId"));
        }
        let me = app.graphql_as(&who, "{ me { area { code } } }", json!({})).await;
        assert_eq!(me.data()["me"]["area"]["code"], "440604");
    }

    async fn only_a_signed_in_volunteer_moves(app: TestApp) {
        let area = app.area_id("440605").await;
        app.graphql(MOVE, json!({ "area": area })).await.expect_error("UNAUTHENTICATED", None);
    }
}
