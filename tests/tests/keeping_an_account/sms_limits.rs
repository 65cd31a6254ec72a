//! The limits on asking for SMS codes, the same for known and unknown phones (lowered here).

use std::time::Duration;

use feihong_domain::throttle::Limit;
use feihong_tests::Backend;
use serde_json::json;

use super::gateway::spawn_with_gateway;
use super::sms::REQUEST;

async fn limits_hold_for_known_and_unknown_phones_on(backend: Backend) {
    let Some((app, _gateway)) = spawn_with_gateway(backend, "sms_limits", |config| {
        config.sms.limits.per_phone = Limit {
            max: 1,
            window: Duration::from_millis(300),
        };
        config.sms.limits.per_phone_daily = Limit {
            max: 3,
            window: Duration::from_secs(3600),
        };
        config.sms.limits.per_address_daily = Limit {
            max: 6,
            window: Duration::from_secs(3600),
        };
    })
    .await
    else {
        return;
    };
    app.register("13700000301", "限额").await;
    let ask = |phone: &'static str, from: &'static str| {
        let app = &app;
        async move {
            app.graphql_from(
                None,
                from,
                REQUEST,
                json!({ "phone": phone, "purpose": "LOGIN" }),
            )
            .await
        }
    };
    for phone in ["13700000301", "13700000399"] {
        // One per phone per window.
        ask(phone, "10.0.1.1").await.data();
        let again = ask(phone, "10.0.1.1").await;
        again.expect_error("RATE_LIMITED", None);
        assert!(
            again.body["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .unwrap()
                >= 1
        );
        // The daily number per phone, whichever address asks.
        for from in ["10.0.1.2", "10.0.1.3"] {
            tokio::time::sleep(Duration::from_millis(350)).await;
            ask(phone, from).await.data();
        }
        tokio::time::sleep(Duration::from_millis(350)).await;
        ask(phone, "10.0.1.4")
            .await
            .expect_error("RATE_LIMITED", None);
    }
    // The daily number per address, whatever the phones.
    let phones = [
        "13700000311",
        "13700000312",
        "13700000313",
        "13700000314",
        "13700000315",
        "13700000316",
    ];
    for phone in phones {
        ask(phone, "10.0.2.1").await.data();
    }
    ask("13700000317", "10.0.2.1")
        .await
        .expect_error("RATE_LIMITED", None);
    ask("13700000317", "10.0.2.2").await.data();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_code_limits_hold_for_known_and_unknown_phones_on_sqlite() {
    limits_hold_for_known_and_unknown_phones_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_code_limits_hold_for_known_and_unknown_phones_on_postgres() {
    limits_hold_for_known_and_unknown_phones_on(Backend::Postgres).await;
}
