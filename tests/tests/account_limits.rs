//! Limits on sign-in and registration that hold under races, the client address behind proxies,
//! and the smaller doors around accounts (request ids, free text, database files), through HTTP
//! on SQLite and PostgreSQL (+ Redis).

use std::time::{Duration, Instant};

use feihong_api::config::Config;
use feihong_tests::fixtures::{CREATE_EVENT, CREATE_TEAM, EVENT_LAT, EVENT_LNG};
use feihong_tests::{Backend, Response, TEST_PASSWORD, TestApp, on_every_backend};
use serde_json::{Value, json};

const LOGIN: &str = "mutation($phone: String!, $password: String!) { login(phone: $phone, password: $password) { accessToken } }";
const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }";

/// Declares a test run on both backends with a configuration of its own.
macro_rules! on_every_backend_configured {
    ($(async fn $name:ident($app:ident: TestApp) with $configure:expr; $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: TestApp) $body

                async fn spawn(backend: Backend) -> Option<TestApp> {
                    TestApp::spawn_configured(backend, module_path!(), $configure).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    if let Some(app) = spawn(Backend::Sqlite).await {
                        run(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    if let Some(app) = spawn(Backend::Postgres).await {
                        run(app).await;
                    }
                }
            }
        )*
    };
}

fn login_variables(phone: &str, password: &str) -> Value {
    json!({ "phone": phone, "password": password })
}

fn register_variables(phone: &str, area: &str) -> Value {
    json!({ "input": { "phone": phone, "password": TEST_PASSWORD, "displayName": "志愿者", "areaId": area } })
}

fn retry_after(response: &Response) -> u64 {
    response.expect_error("RATE_LIMITED", None);
    response.body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("retryAfter in {}", response.body))
}

/// What a burst of sign-ins came to.
struct Burst {
    /// Passwords verified: wrong-password answers and the success.
    verified: usize,
    /// Whether the right password was among them (it clears the phone's streak: the owner got
    /// in, so guesses after it start again from the free attempts).
    owner_got_in: bool,
    elapsed: Duration,
}

impl Burst {
    /// At most this many passwords may be verified from addresses the phone never used.
    fn most_verified_from_new_addresses(&self) -> usize {
        let restarts = if self.owner_got_in { FREE_ATTEMPTS } else { 0 };
        most_verified_in(self.elapsed) + restarts
    }
}

/// The per-phone free attempts (`docs/security.md`).
const FREE_ATTEMPTS: usize = 5;

/// Sends the 150 attempts at once: 149 wrong passwords, then the right one; `from` gives each
/// attempt's address.
async fn login_burst(app: &TestApp, phone: &str, from: impl Fn(usize) -> String) -> Burst {
    let started = Instant::now();
    let attempts = (0..150).map(|n| {
        let password = if n == 149 {
            TEST_PASSWORD.to_owned()
        } else {
            format!("guess-number-{n:03}")
        };
        let address = from(n);
        async move {
            app.graphql_from(None, &address, LOGIN, login_variables(phone, &password))
                .await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let elapsed = started.elapsed();
    let mut verified = 0;
    for answer in &answers {
        match answer.body.get("errors") {
            None => verified += 1,
            Some(_) if answer.error_code() == "UNAUTHENTICATED" => verified += 1,
            Some(_) => assert!(retry_after(answer) >= 1),
        }
    }
    let owner_got_in = answers
        .last()
        .is_some_and(|answer| answer.body.get("errors").is_none());
    Burst {
        verified,
        owner_got_in,
        elapsed,
    }
}

/// The `x-request-id` values the server answers a health check carrying `ids` with.
async fn request_ids(app: &TestApp, ids: &[&str]) -> Vec<String> {
    let mut request = app.http().get(app.url("/healthz"));
    for id in ids {
        request = request.header("x-request-id", *id);
    }
    let response = request.send().await.unwrap();
    response
        .headers()
        .get_all("x-request-id")
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect()
}

/// At most this many passwords of one phone may be verified from addresses it never used during
/// a burst lasting `elapsed`: the 5 free attempts, then one per doubling delay (1 s, 2 s, 4 s…).
fn most_verified_in(elapsed: Duration) -> usize {
    let seconds = elapsed.as_secs_f64();
    FREE_ATTEMPTS + (seconds + 1.0).log2().floor() as usize
}

on_every_backend! {
    async fn of_150_simultaneous_logins_for_one_phone_from_one_address_at_most_the_limit_are_verified(app: TestApp) {
        app.register("13500000001", "target").await;
        let burst = login_burst(&app, "13500000001", |_| "10.40.0.1".to_owned()).await;
        assert!(burst.verified <= burst.most_verified_from_new_addresses().min(10), "{} passwords verified in {:?}", burst.verified, burst.elapsed);
        assert!(burst.verified >= 1);
    }

    async fn of_150_simultaneous_logins_for_one_phone_from_150_addresses_at_most_the_limit_are_verified(app: TestApp) {
        app.register("13500000002", "target").await;
        let burst = login_burst(&app, "13500000002", |n| format!("10.41.{}.{}", n / 100, n % 100)).await;
        assert!(burst.verified <= burst.most_verified_from_new_addresses(), "{} passwords verified in {:?} (owner got in: {})", burst.verified, burst.elapsed, burst.owner_got_in);
        assert!(burst.verified >= 1);
    }

    async fn a_taken_phone_is_answered_no_faster_than_a_free_one(app: TestApp) {
        let area = app.area_id("440604").await;
        app.graphql(REGISTER, register_variables("13500000003", &area)).await.data();
        let mut free = Vec::new();
        let mut taken = Vec::new();
        for n in 0..7 {
            let started = Instant::now();
            app.graphql(REGISTER, register_variables(&format!("135000020{n:02}"), &area)).await.data();
            free.push(started.elapsed());
            let started = Instant::now();
            app.graphql(REGISTER, register_variables("13500000003", &area)).await.expect_error("CONFLICT", None);
            taken.push(started.elapsed());
        }
        free.sort();
        taken.sort();
        let (free, taken) = (free[3], taken[3]);
        // Both hash a password; before, a taken phone was answered about ten times faster.
        assert!(taken * 2 >= free, "median: taken {taken:?}, free {free:?}");
    }

    async fn a_client_sent_request_id_is_kept_only_when_it_is_short_and_plain(app: TestApp) {
        let longest = format!("{}z", "a1-".repeat(21));
        for id in ["abc-123", "A", longest.as_str()] {
            assert_eq!(request_ids(&app, &[id]).await, vec![id.to_owned()]);
        }
        let too_long = format!("{longest}x");
        for ids in [&["has space"][..], &["<script>"], &["a\tb"], &["id%0d%0a"], &["abc_123"], &["汉字"], &[too_long.as_str()], &["one", "two"]] {
            let answer = request_ids(&app, ids).await;
            assert_eq!(answer.len(), 1, "{ids:?}: {answer:?}");
            assert!(uuid::Uuid::parse_str(&answer[0]).is_ok(), "{ids:?} gave {answer:?}");
        }
    }

    async fn team_names_and_event_titles_refuse_bidirectional_controls_and_invisible_text(app: TestApp) {
        let admin = app.area_admin("440604").await;
        let leader = app.register("13500000004", "队长").await;
        let area = app.area_id("440604").await;
        for name in ["=1+2\u{202E}txt.exe", "巡逻\u{2066}队", "\u{200B}\u{3164}"] {
            let input = json!({ "input": { "name": name, "kind": "KUNG_FU_PATROL", "areaId": area, "joinPolicy": "OPEN", "leaderId": leader.volunteer_id } });
            app.graphql_as(&admin, CREATE_TEAM, input).await.expect_error("BAD_USER_INPUT", Some("input.name"));
        }
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let starts = chrono::Utc::now() + chrono::Duration::days(1);
        for title in ["夜巡\u{202E}", "\u{FEFF}\u{200D}"] {
            let input = json!({ "input": {
                "teamId": team.id, "kind": "PATROL", "title": title,
                "startsAt": starts.to_rfc3339(), "endsAt": (starts + chrono::Duration::hours(2)).to_rfc3339(), "capacity": 5,
                "location": { "address": "佛山市禅城区祖庙路21号", "lat": EVENT_LAT, "lng": EVENT_LNG, "radiusM": 200 },
                "visibility": "PUBLIC",
            } });
            app.graphql_as(&team.leader, CREATE_EVENT, input).await.expect_error("BAD_USER_INPUT", Some("input.title"));
        }
    }
}

on_every_backend_configured! {
    async fn ten_wrong_passwords_from_one_address_do_not_lock_an_admin_out(app: TestApp) with |config: &mut Config| {
        // Short delays, so the guesser gets its ten tries within the test.
        config.login_limits.per_phone.base_delay = Duration::from_millis(20);
        config.login_limits.per_phone.max_delay = Duration::from_millis(200);
    }; {
        // The admin signs in from 10.0.0.1, which becomes their own network.
        app.admin("13500000005", "440604").await;
        let mut failures = 0;
        while failures < 10 {
            let answer = app.graphql_from(None, "10.43.0.1", LOGIN, login_variables("13500000005", "guess-number-x")).await;
            if answer.error_code() == "RATE_LIMITED" {
                tokio::time::sleep(Duration::from_millis(250)).await;
            } else {
                answer.expect_error("UNAUTHENTICATED", None);
                failures += 1;
            }
        }
        // That address is done for 15 minutes...
        let limited = app.graphql_from(None, "10.43.0.1", LOGIN, login_variables("13500000005", TEST_PASSWORD)).await;
        assert!((800..=900).contains(&retry_after(&limited)));
        // ...but the account is not: from a new network the wait is at most the longest delay,
        let elsewhere = app.graphql_from(None, "10.43.0.2", LOGIN, login_variables("13500000005", "guess-number-y")).await;
        if elsewhere.error_code() == "RATE_LIMITED" {
            assert_eq!(retry_after(&elsewhere), 1);
        } else {
            elsewhere.expect_error("UNAUTHENTICATED", None);
        }
        // and from the admin's own network there is none.
        app.graphql_from(None, "10.0.0.1", LOGIN, login_variables("13500000005", TEST_PASSWORD)).await.data();
    }

    async fn a_client_address_may_register_only_a_few_accounts_an_hour(app: TestApp) with |config: &mut Config| {
        config.registrations_per_address.max = 3;
    }; {
        let area = app.area_id("440604").await;
        let sibling = app.spawn_sibling().await;
        app.graphql_from(None, "10.44.0.1", REGISTER, register_variables("13500003001", &area)).await.data();
        // A taken phone counts too: probing which phones are registered is what is limited.
        app.graphql_from(None, "10.44.0.1", REGISTER, register_variables("13500003001", &area)).await.expect_error("CONFLICT", None);
        app.graphql_from(None, "10.44.0.1", REGISTER, register_variables("13500003002", &area)).await.data();
        let fourth = app.graphql_from(None, "10.44.0.1", REGISTER, register_variables("13500003003", &area)).await;
        assert!((3500..=3600).contains(&retry_after(&fourth)));
        // Another address is not affected.
        app.graphql_from(None, "10.44.0.2", REGISTER, register_variables("13500003003", &area)).await.data();
        // With Redis every node shares the count; without it each node counts alone.
        let on_sibling = sibling.graphql_from(None, "10.44.0.1", REGISTER, register_variables("13500003004", &area)).await;
        if app.config.redis_url.is_some() {
            retry_after(&on_sibling);
        } else {
            on_sibling.data();
        }
    }

    async fn behind_proxies_the_client_is_the_hop_our_outermost_proxy_added(app: TestApp) with |config: &mut Config| {
        config.trusted_proxy_hops = 2;
        config.registrations_per_address.max = 1;
    }; {
        let area = app.area_id("440604").await;
        let register = |lines: &'static [&'static str], phone: &'static str| {
            let mut request = app.http().post(app.url("/graphql")).json(&json!({ "query": REGISTER, "variables": register_variables(phone, &area) }));
            for line in lines {
                request = request.header("x-test-client", *line);
            }
            async move {
                let response = request.send().await.unwrap();
                Response { status: response.status().as_u16(), body: response.json().await.unwrap() }
            }
        };
        // The client forges whole header lines and values; our two proxies append the last two.
        register(&["6.6.6.1", "10.45.0.1, 10.0.0.254"], "13500004001").await.data();
        let forged = register(&["6.6.6.2, 7.7.7.7", "10.45.0.1", "10.0.0.254"], "13500004002").await;
        retry_after(&forged);
        register(&["6.6.6.1", "10.45.0.2, 10.0.0.254"], "13500004003").await.data();
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_database_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(app) = TestApp::spawn(Backend::Sqlite, "database_files").await else {
        return;
    };
    app.register("13500000006", "owner").await;
    for name in ["feihong.db", "feihong.db-wal", "feihong.db-shm"] {
        let path = app.config.data_dir.join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", path.display());
    }
}
