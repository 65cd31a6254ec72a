//! Automatic persisted queries (Apollo's protocol: a hash instead of the document) and trusted
//! documents (only a manifest's documents run), through the HTTP API and the WebSocket.

use std::sync::Arc;

use feihong_api::config::{TrustedDocuments, document_hash};
use feihong_tests::{Backend, Response, TestApp, on_every_backend};
use serde_json::{Value, json};

const POLICY: &str = "query Policy { privacyPolicy { version url } }";
const TYPENAME: &str = "{ __typename }";
const MY_UPDATES: &str = "subscription { mySignUpUpdates { kind message } }";

/// POSTs `body` as is (the suite's client only sends `query` and `variables`).
async fn post(app: &TestApp, body: Value) -> Response {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .header("x-test-client", "10.0.0.1")
        .header("accept-language", "en")
        .json(&body)
        .send()
        .await
        .expect("server answers");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("JSON body");
    Response { status, body }
}

fn extension(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn by_hash(app: &TestApp, document: &str) -> Response {
    post(
        app,
        json!({ "extensions": extension(&document_hash(document)) }),
    )
    .await
}

async fn with_hash(app: &TestApp, document: &str) -> Response {
    let body = json!({ "query": document, "extensions": extension(&document_hash(document)) });
    post(app, body).await
}

/// A document whose brackets nest deeper than any limit allows.
fn hostile() -> String {
    format!("{}{}", "{ a ".repeat(60), "}".repeat(60))
}

fn expect_not_found(answer: &Response) {
    answer.expect_error("PERSISTED_QUERY_NOT_FOUND", None);
    assert_eq!(
        answer.error_message(),
        "PersistedQueryNotFound",
        "{}",
        answer.body
    );
}

/// A server that runs only `documents`.
async fn trusted_app(backend: Backend, test: &str, documents: &[&str]) -> Option<TestApp> {
    let manifest: serde_json::Map<String, Value> = documents
        .iter()
        .map(|document| (document_hash(document), json!(document)))
        .collect();
    let trusted = TrustedDocuments::parse(&Value::Object(manifest).to_string()).expect("manifest");
    TestApp::spawn_configured(backend, test, |config| {
        config.persisted.trusted = Some(Arc::new(trusted));
    })
    .await
}

on_every_backend! {
    async fn a_hash_is_unknown_until_sent_with_its_document_then_runs_alone(app: TestApp) {
        expect_not_found(&by_hash(&app, POLICY).await);
        let registered = with_hash(&app, POLICY).await;
        let version = registered.data()["privacyPolicy"]["version"].clone();
        assert!(version.is_string(), "{}", registered.body);
        let again = by_hash(&app, POLICY).await;
        assert_eq!(again.data()["privacyPolicy"]["version"], version);
        // Any case of hex names the same document.
        let upper = document_hash(POLICY).to_uppercase();
        let answer = post(&app, json!({ "extensions": extension(&upper) })).await;
        assert_eq!(answer.data()["privacyPolicy"]["version"], version);
    }

    async fn a_document_sent_with_another_documents_hash_is_refused_and_not_kept(app: TestApp) {
        let wrong = document_hash(TYPENAME);
        let answer = post(&app, json!({ "query": POLICY, "extensions": extension(&wrong) })).await;
        answer.expect_error("BAD_USER_INPUT", None);
        assert!(answer.error_message().contains("SHA-256"), "{}", answer.body);
        assert!(answer.body.get("data").is_none(), "{}", answer.body);
        expect_not_found(&by_hash(&app, TYPENAME).await);
        let malformed = json!({ "persistedQuery": { "version": 2, "sha256Hash": wrong } });
        post(&app, json!({ "extensions": malformed })).await.expect_error("BAD_USER_INPUT", None);
        let short = json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } });
        post(&app, json!({ "extensions": short })).await.expect_error("BAD_USER_INPUT", None);
    }

    async fn a_hostile_document_is_refused_when_registered_and_never_kept(app: TestApp) {
        let hostile = hostile();
        let answer = with_hash(&app, &hostile).await;
        answer.expect_error("BAD_USER_INPUT", None);
        assert!(answer.error_message().contains("nests"), "{}", answer.body);
        expect_not_found(&by_hash(&app, &hostile).await);
    }

    async fn a_document_registered_on_one_node_runs_by_hash_on_another(app: TestApp) {
        let other_node = app.spawn_sibling().await;
        with_hash(&app, POLICY).await.data();
        let answer = by_hash(&other_node, POLICY).await;
        if let Some(url) = &app.config.redis_url {
            // Every node shares the documents through Redis, each kept for a week at most.
            assert!(answer.data()["privacyPolicy"]["version"].is_string(), "{}", answer.body);
            let key = format!("{}apq:{}", app.config.redis_prefix, document_hash(POLICY));
            let mut redis = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
            let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut redis).unwrap();
            assert!((1..=7 * 86_400).contains(&ttl), "TTL of {key}: {ttl}");
        } else {
            // Without Redis each node keeps its own: the client sends the document once more.
            expect_not_found(&answer);
            with_hash(&other_node, POLICY).await.data();
            by_hash(&other_node, POLICY).await.data();
        }
    }
}

mod trusted_documents {
    use super::*;

    async fn only_listed_documents_run(backend: Backend, test: &str) {
        let hostile = hostile();
        let Some(app) = trusted_app(backend, test, &[POLICY, &hostile, MY_UPDATES]).await else {
            return;
        };
        // A listed document, by hash or in full.
        assert!(by_hash(&app, POLICY).await.data()["privacyPolicy"]["version"].is_string());
        let full = app.graphql(POLICY, json!({})).await;
        assert!(full.data()["privacyPolicy"]["url"].is_string());
        // Anything else: an unknown hash, an unlisted document, a registration.
        expect_not_found(&by_hash(&app, TYPENAME).await);
        let unlisted = app.graphql(TYPENAME, json!({})).await;
        unlisted.expect_error("PERSISTED_QUERY_NOT_ALLOWED", None);
        assert!(unlisted.body.get("data").is_none(), "{}", unlisted.body);
        with_hash(&app, TYPENAME)
            .await
            .expect_error("PERSISTED_QUERY_NOT_ALLOWED", None);
        expect_not_found(&by_hash(&app, TYPENAME).await);
        // A listed document still meets every limit.
        let refused = by_hash(&app, &hostile).await;
        refused.expect_error("BAD_USER_INPUT", None);
        assert!(
            refused.error_message().contains("nests"),
            "{}",
            refused.body
        );
    }

    async fn subscriptions_follow_the_manifest(backend: Backend, test: &str) {
        let Some(app) = trusted_app(backend, test, &[MY_UPDATES]).await else {
            return;
        };
        let unlisted = "subscription { mySignUpUpdates { kind } }";
        let mut socket = app
            .subscribe(None, unlisted, json!({}))
            .await
            .expect("connects");
        let refused = socket.next().await.expect("an error");
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED",
            "{refused}"
        );
        // The listed one runs (and, anonymous, is told to sign in).
        let mut socket = app
            .subscribe(None, MY_UPDATES, json!({}))
            .await
            .expect("connects");
        let ran = socket.next().await.expect("an answer");
        assert_eq!(
            ran["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{ran}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_listed_documents_run_on_sqlite() {
        only_listed_documents_run(Backend::Sqlite, module_path!()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_listed_documents_run_on_postgres() {
        only_listed_documents_run(Backend::Postgres, module_path!()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscriptions_follow_the_manifest_on_sqlite() {
        subscriptions_follow_the_manifest(Backend::Sqlite, module_path!()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subscriptions_follow_the_manifest_on_postgres() {
        subscriptions_follow_the_manifest(Backend::Postgres, module_path!()).await;
    }
}
