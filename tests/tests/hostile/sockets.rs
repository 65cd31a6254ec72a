//! Subscriptions cannot pile up: at most 20 per connection, a bounded number of connections per
//! client address, and nothing new on a connection whose token has expired.

use feihong_tests::subscriptions::Ended;
use feihong_tests::{Backend, EventSpec, TOKEN_SECRET, TestApp, on_every_backend};
use serde_json::{Value, json};

const EVENT_UPDATES: &str =
    "subscription($id: ID!) { eventUpdates(eventId: $id) { id seatsLeft } }";

fn first_message(payload: &Value) -> &str {
    payload["errors"][0]["message"].as_str().unwrap_or_default()
}

on_every_backend! {
    async fn one_connection_holds_at_most_twenty_subscriptions(app: TestApp) {
        let team = app.team("防诈骗宣传队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec::default()).await;
        let mut socket = app
            .subscribe(None, EVENT_UPDATES, json!({ "id": event }))
            .await
            .expect("anonymous subscribers see public events");
        socket.next().await.expect("the event now").get("data").expect("data");
        for n in 2..=20 {
            socket.start(&n.to_string(), EVENT_UPDATES, json!({ "id": event })).await;
            let (id, payload) = socket.next_update().await.expect("the event now");
            assert_eq!(id, n.to_string());
            assert!(payload.get("data").is_some(), "{payload}");
        }
        socket.start("21", EVENT_UPDATES, json!({ "id": event })).await;
        let (id, refused) = socket.next_update().await.expect("a refusal");
        assert_eq!(id, "21");
        assert!(first_message(&refused).contains("at most 20"), "{refused}");
        // Ending one frees its place (the refused one and the ended one are completed first).
        socket.stop("7").await;
        socket.start("22", EVENT_UPDATES, json!({ "id": event })).await;
        loop {
            match socket.next_update().await {
                Ok((id, payload)) => {
                    assert_eq!(id, "22", "{payload}");
                    assert!(payload.get("data").is_some(), "{payload}");
                    break;
                }
                Err(ended) => assert_eq!(ended, Ended::Completed),
            }
        }
    }

    async fn a_connection_whose_token_expired_starts_nothing_new(app: TestApp) {
        let team = app.team("校园护卫队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let event = app
            .event(&team.leader, &team.id, EventSpec { visibility: "TEAM", ..EventSpec::default() })
            .await;
        let token = short_lived_token(&member.volunteer_id);
        let mut socket = app.open_socket_from("10.6.0.1").await.expect("connects");
        let ack = socket.init(json!({ "authorization": format!("Bearer {token}") })).await.expect("ack");
        assert_eq!(ack["type"], "connection_ack");
        // While the token is good, the member follows their team's event.
        socket.start("1", EVENT_UPDATES, json!({ "id": event })).await;
        let (_, seen) = socket.next_update().await.expect("the event now");
        assert_eq!(seen["data"]["eventUpdates"]["id"], event.as_str(), "{seen}");
        // After it lapsed (past the 5 s allowed for clock skew), nothing new starts.
        tokio::time::sleep(std::time::Duration::from_secs(11)).await;
        socket.start("2", EVENT_UPDATES, json!({ "id": event })).await;
        loop {
            match socket.next_update().await {
                Ok((id, refused)) if id == "2" => {
                    assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{refused}");
                    break;
                }
                Ok((id, other)) => assert_eq!(id, "1", "{other}"),
                // The first subscription ends when its token lapses.
                Err(Ended::Completed) => {}
                Err(ended) => panic!("no answer to the new subscription: {ended:?}"),
            }
        }
    }
}

/// An access token for the volunteer with this global id that lapses in a second.
fn short_lived_token(global_id: &str) -> String {
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, global_id)
            .expect("global id");
    let id: i64 = String::from_utf8(decoded)
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    // Good for 4 s (and the 5 s allowed for clock skew): room for a loaded machine to connect.
    let claims = json!({ "sub": id.to_string(), "iat": now, "exp": now + 4, "typ": "access" });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TOKEN_SECRET),
    )
    .unwrap()
}

async fn connections_per_address_are_capped(backend: Backend) {
    let Some(app) = TestApp::spawn_configured(backend, module_path!(), |config| {
        config.ws_connections_per_address = 3;
    })
    .await
    else {
        return;
    };
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut socket = app
            .open_socket_from("10.5.0.1")
            .await
            .expect("within the cap");
        socket.init(json!({})).await.expect("ack");
        open.push(socket);
    }
    assert_eq!(app.open_socket_from("10.5.0.1").await.err(), Some(429));
    // Other addresses are not affected; a closed connection gives its place back.
    let mut other = app
        .open_socket_from("10.5.0.2")
        .await
        .expect("another address");
    other.init(json!({})).await.expect("ack");
    drop(open.pop());
    let mut freed = None;
    for _ in 0..50 {
        if let Ok(socket) = app.open_socket_from("10.5.0.1").await {
            freed = Some(socket);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        freed.is_some(),
        "a closed connection's place was never given back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_capped_on_sqlite() {
    connections_per_address_are_capped(Backend::Sqlite).await;
}
