//! Starting and stopping a real server per test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use feihong_api::config::{Config, Environment};
use feihong_api::{app, http};
use feihong_domain::budget::Budgets;
use feihong_domain::throttle::Limit;
use sea_orm::ConnectionTrait as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use crate::client::{self, Response, Session};

pub const TEST_PASSWORD: &str = "patrol-at-dusk-2026";
pub const TOKEN_SECRET: &[u8] = b"feihong-test-secret-0123456789abcdef";
/// The data key of every test server: base64 of `feihong-test-data-key-0123456789`.
/// The name of the server runtime's threads: the benchmark tells the server's CPU from its load
/// driver's by it (Linux keeps 15 bytes of a thread's name).
pub const SERVER_THREAD_NAME: &str = "feihong-server";
pub const TEST_DATA_KEY: &str = "ZmVpaG9uZy10ZXN0LWRhdGEta2V5LTAxMjM0NTY3ODk=";

/// What a started server reports: the address its metrics listener took, if it has one.
type Ready = Option<SocketAddr>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

pub struct TestApp {
    pub address: SocketAddr,
    /// Where `/metrics` listens: set only when the config has a `metrics_bind`.
    pub metrics_address: Option<SocketAddr>,
    pub backend: Backend,
    pub config: Config,
    http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    data_dir: Option<tempfile::TempDir>,
    pg: Option<PgDatabase>,
    /// Whether this server owns the database (siblings share their first node's).
    owns_database: bool,
}

fn services_required() -> bool {
    std::env::var("FEIHONG_REQUIRE_SERVICES").is_ok_and(|value| value == "1")
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// `postgres://host/db?x` with the database replaced.
fn with_database(url: &str, database: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

async fn create_pg_database(admin_url: &str) -> PgDatabase {
    let name = format!("feihong_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(admin_url)
        .await
        .unwrap_or_else(|error| panic!("cannot reach TEST_DATABASE_URL: {error}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    PgDatabase {
        admin_url: admin_url.to_owned(),
        name,
    }
}

fn drop_pg_database(database: &PgDatabase) {
    let (admin_url, name) = (database.admin_url.clone(), database.name.clone());
    // Drop runs outside any runtime the test may still be using: use a private one.
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async move {
            let admin = sea_orm::Database::connect(&admin_url).await.ok()?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .ok()?;
            admin.close().await.ok()
        })
    })
    .join();
}

/// Deletes this test's Redis keys (they share the developer's Redis).
fn forget_redis_keys(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connection)
        .unwrap_or_default();
    for key in keys {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&key).query(&mut connection);
    }
}

fn base_config(
    data_dir: PathBuf,
    database_url: String,
    redis_url: Option<String>,
    backend: Backend,
) -> Config {
    Config {
        environment: Environment::Development,
        database_url: database_url.into(),
        // Tests share one PostgreSQL with 100 connections: keep each server's pool small.
        db_max_connections: if backend == Backend::Postgres { 4 } else { 8 },
        redis_url,
        redis_prefix: format!("feihong-test-{}:", uuid::Uuid::new_v4().simple()),
        bind: "127.0.0.1:0".parse().expect("loopback"),
        metrics_bind: None,
        timezone: chrono_tz::Asia::Shanghai,
        data_dir,
        token_secret: std::str::from_utf8(TOKEN_SECRET)
            .expect("the test secret is text")
            .into(),
        // A fixed test key: tests read the sealed columns and compare with this key's output.
        data_key: TEST_DATA_KEY.into(),
        access_token_ttl: Duration::from_secs(15 * 60),
        refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
        introspection: true,
        graphiql: true,
        client_ip_header: Some("x-test-client".to_owned()),
        trusted_proxy_hops: 1,
        login_limits: feihong_api::config::default_login_limits(),
        // Tests register hundreds of accounts from 10.0.0.1; `account_limits` lowers this.
        registrations_per_address: Limit {
            max: 100_000,
            window: Duration::from_secs(3600),
        },
        hashing_concurrency: 2,
        maintenance_interval: Duration::from_millis(500),
        // Tests send thousands of requests as one volunteer or from one address; the budget
        // tests set their own.
        cost_budgets: Budgets {
            per_volunteer: 100_000_000,
            per_address: 100_000_000,
        },
        ws_connections_per_address: 200,
        push: feihong_api::config::PushConfig::Log,
        reminders_before: vec![
            Duration::from_secs(24 * 3600),
            Duration::from_secs(2 * 3600),
        ],
        sms: Default::default(),
        privacy: feihong_api::config::default_privacy(),
        persisted: Default::default(),
        response: Default::default(),
        dispatch_secret: None,
    }
}

impl TestApp {
    /// A server on a fresh database, or `None` (after saying so) when the backend's services are
    /// not configured. With FEIHONG_REQUIRE_SERVICES=1 a missing service fails the test.
    pub async fn spawn(backend: Backend, test: &str) -> Option<Self> {
        Self::spawn_configured(backend, test, |_| {}).await
    }

    pub async fn spawn_configured(
        backend: Backend,
        test: &str,
        configure: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        let data_dir = tempfile::tempdir().expect("temporary folder");
        let (database_url, redis_url, pg) = match backend {
            Backend::Sqlite => {
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.path().join("feihong.db").display()
                );
                (url, None, None)
            }
            Backend::Postgres => {
                let Some(admin_url) = env_url("TEST_DATABASE_URL") else {
                    assert!(
                        !services_required(),
                        "{test}: TEST_DATABASE_URL is not set and FEIHONG_REQUIRE_SERVICES=1"
                    );
                    eprintln!("SKIPPED {test} on PostgreSQL: TEST_DATABASE_URL is not set");
                    return None;
                };
                let redis_url = env_url("TEST_REDIS_URL");
                if redis_url.is_none() {
                    assert!(
                        !services_required(),
                        "{test}: TEST_REDIS_URL is not set and FEIHONG_REQUIRE_SERVICES=1"
                    );
                }
                let database = create_pg_database(&admin_url).await;
                (
                    with_database(&admin_url, &database.name),
                    redis_url,
                    Some(database),
                )
            }
        };
        let mut config = base_config(data_dir.path().to_owned(), database_url, redis_url, backend);
        configure(&mut config);
        Some(Self::start(config, backend, Some(data_dir), pg, true).await)
    }

    /// A server on an existing PostgreSQL database and Redis key prefix, which it does not own:
    /// nothing is dropped or deleted when it stops (the benchmark's `--reuse-database`).
    pub async fn attach(
        database_url: &str,
        redis_prefix: &str,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temporary folder");
        let mut config = base_config(
            data_dir.path().to_owned(),
            database_url.to_owned(),
            env_url("TEST_REDIS_URL"),
            Backend::Postgres,
        );
        config.redis_prefix = redis_prefix.to_owned();
        configure(&mut config);
        Self::start(config, Backend::Postgres, Some(data_dir), None, false).await
    }

    /// A second API node on the same database and Redis: what a load balancer would spread over.
    pub async fn spawn_sibling(&self) -> Self {
        Self::start(self.config.clone(), self.backend, None, None, false).await
    }

    /// Server logs go to the test's output (shown for failing tests); `RUST_LOG` sets the level.
    fn init_logging() {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    }

    async fn start(
        config: Config,
        backend: Backend,
        data_dir: Option<tempfile::TempDir>,
        pg: Option<PgDatabase>,
        owns_database: bool,
    ) -> Self {
        Self::init_logging();
        let listener = std::net::TcpListener::bind(config.bind).expect("bind a free port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let address = listener.local_addr().expect("bound address");
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<Ready, String>>();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let server_config = config.clone();
        // The server gets its own runtime and thread, as in production: the test's runtime only
        // drives the client.
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(SERVER_THREAD_NAME)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                // The server's own binding of the metrics address, as `feihong serve` does.
                let metrics = http::metrics::bind(server_config.metrics_bind).await;
                let started = match metrics {
                    Ok(metrics) => app::build_state(server_config)
                        .await
                        .map(|state| (state, metrics)),
                    Err(error) => Err(error),
                };
                let (state, metrics) = match started {
                    Ok(started) => started,
                    Err(error) => {
                        let _ = ready_tx.send(Err(format!("{error:#}")));
                        return;
                    }
                };
                let metrics_address = metrics
                    .as_ref()
                    .map(|metrics| metrics.local_addr().expect("metrics address"));
                let _ = ready_tx.send(Ok(metrics_address));
                let api = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let shutdown = async move {
                    let _ = shutdown_rx.await;
                };
                let listeners = app::Listeners { api, metrics };
                if let Err(error) = app::serve_state(state, listeners, shutdown).await {
                    eprintln!("test server stopped: {error:#}");
                }
            });
        });
        let metrics_address = match ready_rx.await {
            Ok(Ok(metrics_address)) => metrics_address,
            Ok(Err(error)) => panic!("test server failed to start: {error}"),
            Err(_) => panic!("test server thread died while starting"),
        };
        Self {
            address,
            metrics_address,
            backend,
            config,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("http client"),
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
            data_dir,
            pg,
            owns_database,
        }
    }

    /// A direct connection to the test's database, for checking results against raw rows.
    pub async fn database(&self) -> sea_orm::DatabaseConnection {
        sea_orm::Database::connect(self.config.database_url.expose_secret())
            .await
            .expect("connect to the test database")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// POSTs a GraphQL operation, with a bearer token when given and `from` as client address.
    /// The suite's client reads English (`Accept-Language: en`), so tests can name the words
    /// they expect; `tests/tests/languages.rs` covers the default (Simplified Chinese).
    pub async fn graphql_from(
        &self,
        token: Option<&str>,
        from: &str,
        query: &str,
        variables: Value,
    ) -> Response {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .header("x-test-client", from)
            .header("accept-language", "en")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("server answers");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("JSON body");
        Response { status, body }
    }

    pub async fn graphql(&self, query: &str, variables: Value) -> Response {
        self.graphql_from(None, "10.0.0.1", query, variables).await
    }

    pub async fn graphql_as(&self, session: &Session, query: &str, variables: Value) -> Response {
        self.graphql_from(Some(&session.access_token), "10.0.0.1", query, variables)
            .await
    }

    /// The global ID of the area with this code.
    pub async fn area_id(&self, code: &str) -> String {
        let data = self
            .graphql(
                "{ areas { id code children { id code children { id code } } } }",
                json!({}),
            )
            .await;
        let mut stack = vec![data.data()["areas"].clone()];
        while let Some(value) = stack.pop() {
            let Value::Array(areas) = value else { continue };
            for area in areas {
                if area["code"] == code {
                    return area["id"].as_str().expect("id").to_owned();
                }
                stack.push(area["children"].clone());
            }
        }
        panic!("no area with code {code}")
    }

    /// Registers a volunteer in Chancheng (440604) and returns the session.
    pub async fn register(&self, phone: &str, name: &str) -> Session {
        let area = self.area_id("440604").await;
        let response = self
            .graphql(
                client::REGISTER,
                client::register_variables(phone, TEST_PASSWORD, name, &area),
            )
            .await;
        Session::from_payload(&response.data()["register"], phone)
    }

    /// Makes `phone` an admin of the area with `area_code`, as `feihong create-admin` does, and
    /// signs in as them.
    pub async fn admin(&self, phone: &str, area_code: &str) -> Session {
        let services = app::build_services(&self.config)
            .await
            .expect("services for the operator");
        services
            .accounts
            .create_admin(phone, TEST_PASSWORD, area_code, "管理员")
            .await
            .expect("create admin");
        services.db.clone().close().await.ok();
        self.login(phone).await
    }

    pub async fn login(&self, phone: &str) -> Session {
        let response = self
            .graphql(
                "mutation($phone: String!, $password: String!) { login(phone: $phone, password: $password) { accessToken refreshToken volunteer { id } } }",
                json!({ "phone": phone, "password": TEST_PASSWORD }),
            )
            .await;
        Session::from_payload(&response.data()["login"], phone)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if self.owns_database
            && let Some(database) = &self.pg
        {
            drop_pg_database(database);
        }
        if self.owns_database
            && let Some(url) = &self.config.redis_url
        {
            forget_redis_keys(url, &self.config.redis_prefix);
        }
        drop(self.data_dir.take());
    }
}
