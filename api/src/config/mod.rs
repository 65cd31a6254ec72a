//! Configuration, layered: built-in defaults, then environment variables, then command-line flags
//! (clap reads both). Each value is parsed and checked as clap reads it (the value parsers in
//! `values`); a malformed one becomes one error line naming the variable ([`setting_error`]).
//! [`Settings::into_config`] then settles what depends on other settings or on the disk (the
//! embedded database, the development token secret).

mod persisted;
mod privacy;
mod push;
mod response;
mod secret;
pub mod sms;
mod values;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use clap::{Args, ValueEnum};
use feihong_domain::budget::Budgets;
use feihong_domain::throttle::{Backoff, Limit, LoginLimits};
use secrecy::{ExposeSecret as _, SecretString};
use values::{bind, boolean, count, data_key, database_url, redis_url, timezone};

pub use persisted::{
    PersistedArgs, PersistedConfig, TRUSTED_DOCUMENTS_ENV, TrustedDocuments, document_hash,
    is_sha256_hex,
};
pub use privacy::{PrivacyArgs, default_privacy};
pub use push::{PushConfig, PushSettings, ReminderOffsets};
pub use values::setting_error;

/// The settings every subcommand shares, as given on the command line or in the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: postgres://… for production; default: SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true, value_parser = database_url)]
    pub database_url: Option<SecretString>,
    /// Redis URL (redis://…); without it an in-process implementation stands in.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true, value_parser = redis_url)]
    pub redis_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "FEIHONG_BIND", default_value = "127.0.0.1:8080", global = true, value_parser = bind)]
    pub bind: SocketAddr,
    /// Address for `/metrics` (Prometheus), apart from the API's; unset: no such listener.
    #[arg(long, env = "FEIHONG_METRICS_BIND", global = true, value_parser = bind)]
    pub metrics_bind: Option<SocketAddr>,
    /// The city's time zone: periods (day, week, month, year) are cut in it.
    #[arg(long, env = "FEIHONG_TIMEZONE", default_value = "Asia/Shanghai", global = true, value_parser = timezone)]
    pub timezone: Tz,
    /// Development (GraphiQL, introspection, a generated token secret) or production.
    #[arg(
        long = "env",
        env = "FEIHONG_ENV",
        default_value = "development",
        global = true,
        value_enum
    )]
    pub environment: Environment,
    /// Folder for the embedded database and the development token secret.
    #[arg(
        long,
        env = "FEIHONG_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Largest database pool of this node (default: 8 on SQLite, 16 on PostgreSQL).
    #[arg(long, env = "FEIHONG_DB_MAX_CONNECTIONS", global = true, value_parser = count::<u32>(1, 500))]
    pub db_max_connections: Option<u32>,
    /// Serve introspection (default: on in development, off in production).
    #[arg(long, env = "FEIHONG_INTROSPECTION", global = true, value_parser = boolean)]
    pub introspection: Option<bool>,
    /// Header carrying the client's address when behind a proxy (e.g. X-Forwarded-For).
    #[arg(long, env = "FEIHONG_CLIENT_IP_HEADER", global = true)]
    pub client_ip_header: Option<String>,
    /// Query complexity a signed-in volunteer may spend per minute (see docs/security.md).
    #[arg(long, env = "FEIHONG_COST_BUDGET", global = true, default_value_t = DEFAULT_COST_BUDGET,
        value_parser = count::<u64>(100, 100_000_000))]
    pub cost_budget: u64,
    /// Query complexity anonymous callers from one client address may spend per minute.
    #[arg(long, env = "FEIHONG_ANONYMOUS_COST_BUDGET", global = true,
        default_value_t = DEFAULT_ANONYMOUS_COST_BUDGET, value_parser = count::<u64>(100, 100_000_000))]
    pub anonymous_cost_budget: u64,
    /// WebSocket connections one client address may hold open on this node.
    #[arg(long, env = "FEIHONG_WS_CONNECTIONS_PER_ADDRESS", global = true,
        default_value_t = DEFAULT_WS_CONNECTIONS_PER_ADDRESS, value_parser = count::<usize>(1, 100_000))]
    pub ws_connections_per_address: usize,
    /// How many proxies of ours append to that header: the client is the value the outermost
    /// of them added, this many from the end (default 1: the last value).
    #[arg(long, env = "FEIHONG_TRUSTED_PROXY_HOPS", global = true, default_value_t = 1,
        value_parser = count::<usize>(1, 10))]
    pub trusted_proxy_hops: usize,
    /// Accounts one client address may register per hour.
    #[arg(long, env = "FEIHONG_REGISTRATIONS_PER_ADDRESS", global = true,
        default_value_t = DEFAULT_REGISTRATIONS_PER_HOUR, value_parser = count::<u32>(1, 1_000_000))]
    pub registrations_per_address: u32,
    /// Seals real names and ID numbers at rest: base64 of 32 random bytes. Required in
    /// production; development generates one into the data folder.
    #[arg(long, env = "FEIHONG_DATA_KEY", global = true, hide_env_values = true, value_parser = data_key)]
    pub data_key: Option<SecretString>,
    /// Prefix of every Redis key this deployment writes.
    #[arg(
        long,
        env = "FEIHONG_REDIS_PREFIX",
        default_value = "feihong:",
        global = true
    )]
    pub redis_prefix: String,
    #[command(flatten)]
    pub push: PushSettings,
    #[command(flatten)]
    pub sms: sms::SmsSettings,
    #[command(flatten)]
    pub privacy: PrivacyArgs,
    #[command(flatten)]
    pub persisted: PersistedArgs,
    #[command(flatten)]
    pub response: response::ResponseArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

/// Parsed, validated configuration. `Debug` shows the secrets redacted.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    /// May carry a password.
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub bind: SocketAddr,
    /// Where `/metrics` listens (never on `bind`); None: nowhere.
    pub metrics_bind: Option<SocketAddr>,
    pub timezone: Tz,
    pub data_dir: PathBuf,
    /// Signs access tokens.
    pub token_secret: SecretString,
    /// Seals real names and ID numbers: base64 of 32 bytes (`Config::data_key_bytes`).
    pub data_key: SecretString,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub introspection: bool,
    pub graphiql: bool,
    pub client_ip_header: Option<String>,
    /// Proxies of ours that append to `client_ip_header` (1 = the client is its last value).
    pub trusted_proxy_hops: usize,
    pub login_limits: LoginLimits,
    pub registrations_per_address: Limit,
    pub hashing_concurrency: usize,
    /// How often a node runs its upkeep (closing stale check-ins, purging idempotency keys).
    pub maintenance_interval: Duration,
    /// Query complexity per minute, per signed-in volunteer and per anonymous address.
    pub cost_budgets: Budgets,
    /// WebSocket connections one client address may hold open on one node.
    pub ws_connections_per_address: usize,
    /// Where pushes go (`FEIHONG_PUSH_WEBHOOK_URL`, `FEIHONG_PUSH_WEBHOOK_SECRET`).
    pub push: PushConfig,
    /// How long before a CONFIRMED sign-up's start its reminders come, longest first.
    pub reminders_before: Vec<Duration>,
    /// Who sends SMS one-time codes, and how many may be asked for.
    pub sms: sms::SmsConfig,
    /// The privacy policy in force and how long positions are kept (`docs/privacy.md`).
    pub privacy: feihong_domain::privacy::PrivacySettings,
    /// Automatic persisted queries and trusted documents (`docs/security.md`).
    pub persisted: PersistedConfig,
    /// Quick response: the rings and their wait (`docs/quick-response.md`).
    pub response: feihong_domain::incidents::ResponseSettings,
    /// The key `POST /integrations/incidents` must be signed with; `None`: refused.
    pub dispatch_secret: Option<SecretString>,
}

impl Config {
    /// Whether the database is the embedded SQLite (else PostgreSQL).
    pub fn database_is_sqlite(&self) -> bool {
        self.database_url.expose_secret().starts_with("sqlite:")
    }

    /// The 32 bytes of the data key.
    pub fn data_key_bytes(&self) -> Result<Vec<u8>, ConfigError> {
        secret::decode_data_key(self.data_key.expose_secret())
            .ok_or_else(|| problem(secret::DATA_KEY_ENV, "must be base64 of 32 bytes"))
    }
}

/// A setting that stops start-up; `Display` is the one line printed.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    /// The environment variable of the setting.
    pub name: String,
    pub problem: String,
}

fn problem(name: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name: name.to_owned(),
        problem: problem.into(),
    }
}

/// A volunteer's query complexity per minute: the app's busiest screen costs about 300, so this
/// is a screen every second with room to spare, and 50 of the most complex documents allowed.
const DEFAULT_COST_BUDGET: u64 = 100_000;
/// Anonymous callers per client address per minute: higher, because carrier NAT and campus
/// networks put many phones (registering, signing in, browsing public events) behind one address.
const DEFAULT_ANONYMOUS_COST_BUDGET: u64 = 300_000;
/// WebSocket connections per client address on one node: an app holds one; NAT shares addresses.
const DEFAULT_WS_CONNECTIONS_PER_ADDRESS: usize = 200;
/// Registrations per client address per hour: a street office or a school signing up its
/// volunteers on one network fits; a script creating accounts by the hundred does not.
const DEFAULT_REGISTRATIONS_PER_HOUR: u32 = 30;

impl Settings {
    /// Settles the configuration; in development, creates the data folder and token secret.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let environment = self.environment;
        let database_url = match self
            .database_url
            .filter(|url| !url.expose_secret().trim().is_empty())
        {
            Some(url) => url,
            None => {
                secret::ensure_data_dir(&self.data_dir)?;
                let path = self.data_dir.join("feihong.db");
                SecretString::from(format!("sqlite://{}?mode=rwc", path.display()))
            }
        };
        let default_pool = if database_url.expose_secret().starts_with("sqlite:") {
            8
        } else {
            16
        };
        let token_secret = secret::token_secret(environment, &self.data_dir)?;
        let data_key = secret::data_key(environment, &self.data_dir, self.data_key)?;
        let sms = self.sms.into_config(environment)?;
        let push = self.push.push_config()?;
        let persisted = self.persisted.into_config()?;
        Ok(Config {
            environment,
            database_url,
            db_max_connections: self.db_max_connections.unwrap_or(default_pool),
            redis_url: self.redis_url.filter(|url| !url.trim().is_empty()),
            redis_prefix: self.redis_prefix,
            bind: self.bind,
            metrics_bind: self.metrics_bind,
            timezone: self.timezone,
            data_dir: self.data_dir,
            token_secret,
            data_key,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            introspection: self
                .introspection
                .unwrap_or(environment == Environment::Development),
            graphiql: environment == Environment::Development,
            client_ip_header: self
                .client_ip_header
                .filter(|header| !header.trim().is_empty()),
            trusted_proxy_hops: self.trusted_proxy_hops,
            login_limits: default_login_limits(),
            registrations_per_address: Limit {
                max: self.registrations_per_address,
                window: Duration::from_secs(3600),
            },
            hashing_concurrency: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
            maintenance_interval: Duration::from_secs(60),
            cost_budgets: Budgets {
                per_volunteer: self.cost_budget,
                per_address: self.anonymous_cost_budget,
            },
            ws_connections_per_address: self.ws_connections_per_address,
            push,
            reminders_before: self.push.reminders_before.0,
            sms,
            privacy: self.privacy.into_settings(),
            persisted,
            response: self.response.settings(),
            dispatch_secret: self.response.dispatch_secret,
        })
    }
}

/// The sign-in policy (`docs/security.md`, "Accounts and sessions", says why).
pub fn default_login_limits() -> LoginLimits {
    LoginLimits {
        per_phone_and_address: Limit {
            max: 10,
            window: Duration::from_secs(15 * 60),
        },
        // Many phones share one address behind carrier NAT or a campus network.
        per_address: Limit {
            max: 100,
            window: Duration::from_secs(15 * 60),
        },
        per_phone: Backoff {
            free_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5 * 60),
            memory: Duration::from_secs(24 * 3600),
        },
        known_address_memory: Duration::from_secs(30 * 24 * 3600),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clap::{CommandFactory as _, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    fn config(data_dir: &Path, args: &[&str]) -> Result<Config, ConfigError> {
        let dir = data_dir.display().to_string();
        let mut argv = vec!["feihong", "--data-dir", &dir];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv) {
            Ok(cli) => cli.settings.into_config(),
            Err(error) => Err(setting_error(&error, &Cli::command())
                .unwrap_or_else(|| panic!("not a setting's error: {error}"))),
        }
    }

    #[test]
    fn proxy_hops_and_registrations_have_defaults_and_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let defaults = config(dir.path(), &[]).unwrap();
        assert_eq!(defaults.trusted_proxy_hops, 1);
        assert_eq!(defaults.registrations_per_address.max, 30);
        assert_eq!(defaults.login_limits, default_login_limits());
        let set = config(
            dir.path(),
            &[
                "--trusted-proxy-hops",
                "2",
                "--registrations-per-address",
                "500",
            ],
        )
        .unwrap();
        assert_eq!(set.trusted_proxy_hops, 2);
        assert_eq!(set.registrations_per_address.max, 500);
        for (flag, value, name) in [
            ("--trusted-proxy-hops", "0", "FEIHONG_TRUSTED_PROXY_HOPS"),
            ("--trusted-proxy-hops", "x", "FEIHONG_TRUSTED_PROXY_HOPS"),
            (
                "--registrations-per-address",
                "0",
                "FEIHONG_REGISTRATIONS_PER_ADDRESS",
            ),
        ] {
            let error = config(dir.path(), &[flag, value]).unwrap_err();
            assert_eq!(error.name, name);
        }
    }

    #[test]
    fn the_development_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &[]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert!(config.database_is_sqlite() && config.db_max_connections == 8);
        assert_eq!(config.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.timezone, chrono_tz::Asia::Shanghai);
        assert!(config.introspection && config.graphiql);
        assert_eq!(
            (
                config.cost_budgets.per_volunteer,
                config.cost_budgets.per_address
            ),
            (100_000, 300_000)
        );
        assert_eq!(config.ws_connections_per_address, 200);
        assert_eq!(config.redis_url, None);
        assert_eq!(config.client_ip_header, None);
        assert_eq!(config.metrics_bind, None);
    }

    #[test]
    fn settings_are_read_into_their_types() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(
            dir.path(),
            &[
                "--database-url=postgres://feihong@db/feihong",
                "--redis-url=redis://cache:6379",
                "--bind=0.0.0.0:9000",
                "--timezone=Asia/Urumqi",
                "--introspection=off",
                "--cost-budget= 500 ",
                "--ws-connections-per-address=7",
                "--metrics-bind=10.0.0.5:9100",
            ],
        )
        .unwrap();
        assert!(!config.database_is_sqlite() && config.db_max_connections == 16);
        assert_eq!(config.redis_url.as_deref(), Some("redis://cache:6379"));
        assert_eq!(config.bind.port(), 9000);
        assert_eq!(config.timezone, chrono_tz::Asia::Urumqi);
        assert!(!config.introspection);
        assert_eq!(config.cost_budgets.per_volunteer, 500);
        assert_eq!(config.ws_connections_per_address, 7);
        assert_eq!(config.metrics_bind, Some("10.0.0.5:9100".parse().unwrap()));
    }

    #[test]
    fn blank_urls_and_headers_mean_unset() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(
            dir.path(),
            &["--database-url=", "--redis-url= ", "--client-ip-header="],
        )
        .unwrap();
        assert!(config.database_is_sqlite());
        assert_eq!((config.redis_url, config.client_ip_header), (None, None));
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://feihong:hunter2-db-password@db/feihong";
        let config = config(dir.path(), &["--database-url", url]).unwrap();
        let secret = config.token_secret.expose_secret().to_owned();
        assert!(secret.len() >= 32);
        assert_eq!(config.database_url.expose_secret(), url);
        let shown = format!("{config:?}");
        assert!(
            shown.contains("token_secret") && shown.contains("REDACTED"),
            "{shown}"
        );
        assert!(!shown.contains(&secret), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn production_refuses_to_start_without_a_data_key() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().display().to_string();
        for args in [&[][..], &["--data-key", " "]] {
            let mut argv = vec!["feihong", "--data-dir", &data_dir];
            argv.extend_from_slice(args);
            let settings = Cli::try_parse_from(argv).expect("valid flags").settings;
            // The token secret is checked first (from the environment); then the data key.
            let error = secret::data_key(Environment::Production, dir.path(), settings.data_key)
                .unwrap_err();
            assert_eq!(error.name, "FEIHONG_DATA_KEY", "{error}");
        }
        // Nothing was generated for production to fall back on later.
        assert!(!dir.path().join("data-key").exists());
    }

    #[test]
    fn development_generates_the_data_key_once_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = config(dir.path(), &[]).unwrap();
        let second = config(dir.path(), &[]).unwrap();
        assert_eq!(first.data_key_bytes().unwrap().len(), 32);
        assert_eq!(
            first.data_key.expose_secret(),
            second.data_key.expose_secret()
        );
        assert!(dir.path().join("data-key").exists());
        assert!(!format!("{first:?}").contains(first.data_key.expose_secret()));
    }

    #[test]
    fn a_data_key_that_is_not_32_bytes_of_base64_is_refused_without_repeating_it() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["not-base64!!", "c2hvcnQ=", &"A".repeat(60)] {
            let error = config(dir.path(), &["--data-key", bad]).unwrap_err();
            assert_eq!(error.name, "FEIHONG_DATA_KEY");
            assert!(!error.problem.contains(bad), "{}", error.problem);
        }
        let key = feihong_domain::real_names::cipher::generate_key();
        let config = config(dir.path(), &["--data-key", &key]).unwrap();
        assert_eq!(config.data_key.expose_secret(), key);
    }
}
