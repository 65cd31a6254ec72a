//! GraphQL over HTTP: `application/graphql-response+json` for clients that ask for it, with 4xx
//! answers (and no `data`) for documents that never ran; `application/json` as before.

use feihong_tests::{TestApp, on_every_backend};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(
    app: &TestApp,
    accept: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, String, Value) {
    let mut request = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("server answers");
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, media, response.json().await.expect("json body"))
}

on_every_backend! {
    async fn clients_asking_for_graphql_response_json_get_4xx_for_documents_that_never_ran(app: TestApp) {
        let accept = Some("application/graphql-response+json, application/json;q=0.9");
        let broken = [
            ("{ areas { code }", json!({})),
            ("{ areas { nonsense } }", json!({})),
            ("query($n: Int) { events(first: $n) { totalCount } }", json!({ "n": "ten" })),
            ("query($n: Int!) { events(first: $n) { totalCount } }", json!({})),
        ];
        for (query, variables) in broken {
            let (status, media, body) = post(&app, accept, query, variables).await;
            assert_eq!(status, 400, "{query}: {body}");
            assert!(media.starts_with(GRAPHQL_RESPONSE), "{media}");
            assert!(body.get("data").is_none(), "{query}: {body}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        }
        // An operation that ran is 200, errors and all.
        let (status, media, body) = post(&app, accept, "{ node(id: \"nope\") { id } areas { code } }", json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert!(media.starts_with(GRAPHQL_RESPONSE));
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(body["data"]["areas"][0]["code"], "440600");
    }

    async fn clients_asking_for_json_keep_200_answers(app: TestApp) {
        for accept in [None, Some("application/json"), Some("*/*"), Some("application/graphql-response+json;q=0, application/json")] {
            let (status, media, body) = post(&app, accept, "{ areas { nonsense } }", json!({})).await;
            assert_eq!(status, 200, "{accept:?}: {body}");
            assert!(media.starts_with("application/json"), "{accept:?}: {media}");
            assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
            let (status, _, body) = post(&app, accept, "{ areas { code } }", json!({})).await;
            assert_eq!(status, 200);
            assert_eq!(body["data"]["areas"][0]["code"], "440600");
        }
    }
}
