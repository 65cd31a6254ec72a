//! Configuration, layered: built-in defaults, then environment variables, then command-line flags
//! (clap reads both). Values are parsed here once; a missing or malformed setting becomes one
//! error line naming the variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use clap::Args;
use feihong_domain::budget::Budgets;
use feihong_domain::throttle::Limit;

/// The settings every subcommand shares, as given on the command line or in the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: postgres://… for production; default: SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Redis URL (redis://…); without it an in-process implementation stands in.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Address to listen on.
    #[arg(
        long,
        env = "FEIHONG_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,
    /// The city's time zone: periods (day, week, month, year) are cut in it.
    #[arg(
        long,
        env = "FEIHONG_TIMEZONE",
        default_value = "Asia/Shanghai",
        global = true
    )]
    pub timezone: String,
    /// `development` or `production`.
    #[arg(
        long = "env",
        env = "FEIHONG_ENV",
        default_value = "development",
        global = true
    )]
    pub environment: String,
    /// Folder for the embedded database and the development token secret.
    #[arg(
        long,
        env = "FEIHONG_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Largest database pool of this node.
    #[arg(long, env = "FEIHONG_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<String>,
    /// Serve introspection (default: on in development, off in production).
    #[arg(long, env = "FEIHONG_INTROSPECTION", global = true)]
    pub introspection: Option<String>,
    /// Header carrying the client's address when behind a proxy (e.g. X-Forwarded-For).
    #[arg(long, env = "FEIHONG_CLIENT_IP_HEADER", global = true)]
    pub client_ip_header: Option<String>,
    /// Query complexity a signed-in volunteer may spend per minute (see docs/security.md).
    #[arg(long, env = "FEIHONG_COST_BUDGET", global = true)]
    pub cost_budget: Option<String>,
    /// Query complexity anonymous callers from one client address may spend per minute.
    #[arg(long, env = "FEIHONG_ANONYMOUS_COST_BUDGET", global = true)]
    pub anonymous_cost_budget: Option<String>,
    /// WebSocket connections one client address may hold open on this node.
    #[arg(long, env = "FEIHONG_WS_CONNECTIONS_PER_ADDRESS", global = true)]
    pub ws_connections_per_address: Option<String>,
    /// Prefix of every Redis key this deployment writes.
    #[arg(
        long,
        env = "FEIHONG_REDIS_PREFIX",
        default_value = "feihong:",
        global = true
    )]
    pub redis_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Parsed, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: String,
    pub db_max_connections: u32,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub bind: SocketAddr,
    pub timezone: Tz,
    pub data_dir: PathBuf,
    pub token_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub introspection: bool,
    pub graphiql: bool,
    pub client_ip_header: Option<String>,
    pub login_failures_per_phone: Limit,
    pub login_failures_per_address: Limit,
    pub hashing_concurrency: usize,
    /// How often a node runs its upkeep (closing stale check-ins, purging idempotency keys).
    pub maintenance_interval: Duration,
    /// Query complexity per minute, per signed-in volunteer and per anonymous address.
    pub cost_budgets: Budgets,
    /// WebSocket connections one client address may hold open on one node.
    pub ws_connections_per_address: usize,
}

/// A setting that stops start-up; `Display` is the one line printed.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

fn problem(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        problem: problem.into(),
    }
}

const SECRET_FILE: &str = "token-secret";

/// A volunteer's query complexity per minute: the app's busiest screen costs about 300, so this
/// is a screen every second with room to spare, and 50 of the most complex documents allowed.
const DEFAULT_COST_BUDGET: u64 = 100_000;
/// Anonymous callers per client address per minute: higher, because carrier NAT and campus
/// networks put many phones (registering, signing in, browsing public events) behind one address.
const DEFAULT_ANONYMOUS_COST_BUDGET: u64 = 300_000;
/// WebSocket connections per client address on one node: an app holds one; NAT shares addresses.
const DEFAULT_WS_CONNECTIONS_PER_ADDRESS: u64 = 200;
const SECRET_ENV: &str = "FEIHONG_TOKEN_SECRET";

/// A whole number in `range`, or `default` when the setting is absent.
fn parse_number(
    name: &'static str,
    raw: Option<String>,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = raw.filter(|raw| !raw.trim().is_empty()) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            problem(
                name,
                format!(
                    "expected a number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

fn parse_bool(name: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(problem(
            name,
            format!("expected true or false, got {other:?}"),
        )),
    }
}

impl Settings {
    /// Validates every setting; in development, creates the data folder and token secret.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let environment = match self.environment.as_str() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(problem(
                    "FEIHONG_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let bind = self.bind.parse::<SocketAddr>().map_err(|_| {
            problem(
                "FEIHONG_BIND",
                format!("not an address:port: {:?}", self.bind),
            )
        })?;
        let timezone = self.timezone.parse::<Tz>().map_err(|_| {
            problem(
                "FEIHONG_TIMEZONE",
                format!("unknown time zone {:?}", self.timezone),
            )
        })?;
        let database_url = match self.database_url.filter(|url| !url.trim().is_empty()) {
            Some(url) => check_database_url(url)?,
            None => {
                ensure_data_dir(&self.data_dir)?;
                format!(
                    "sqlite://{}?mode=rwc",
                    self.data_dir.join("feihong.db").display()
                )
            }
        };
        let default_pool = if database_url.starts_with("sqlite:") {
            8
        } else {
            16
        };
        let db_max_connections = match self.db_max_connections {
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| {
                    problem(
                        "FEIHONG_DB_MAX_CONNECTIONS",
                        "expected a number from 1 to 500",
                    )
                })?,
            None => default_pool,
        };
        let redis_url = self.redis_url.filter(|url| !url.trim().is_empty());
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("unix://"))
        {
            return Err(problem(
                "REDIS_URL",
                "must start with redis://, rediss:// or unix://",
            ));
        }
        let introspection = match self.introspection {
            Some(raw) => parse_bool("FEIHONG_INTROSPECTION", &raw)?,
            None => environment == Environment::Development,
        };
        let cost_budgets = Budgets {
            per_volunteer: parse_number(
                "FEIHONG_COST_BUDGET",
                self.cost_budget,
                100..=100_000_000,
                DEFAULT_COST_BUDGET,
            )?,
            per_address: parse_number(
                "FEIHONG_ANONYMOUS_COST_BUDGET",
                self.anonymous_cost_budget,
                100..=100_000_000,
                DEFAULT_ANONYMOUS_COST_BUDGET,
            )?,
        };
        let ws_connections_per_address = parse_number(
            "FEIHONG_WS_CONNECTIONS_PER_ADDRESS",
            self.ws_connections_per_address,
            1..=100_000,
            DEFAULT_WS_CONNECTIONS_PER_ADDRESS,
        )? as usize;
        let token_secret = token_secret(environment, &self.data_dir)?;
        Ok(Config {
            environment,
            database_url,
            db_max_connections,
            redis_url,
            redis_prefix: self.redis_prefix,
            bind,
            timezone,
            data_dir: self.data_dir,
            token_secret,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            introspection,
            graphiql: environment == Environment::Development,
            client_ip_header: self
                .client_ip_header
                .filter(|header| !header.trim().is_empty()),
            login_failures_per_phone: Limit {
                max_failures: 10,
                window: Duration::from_secs(15 * 60),
            },
            // Many phones share one address behind carrier NAT or a campus network.
            login_failures_per_address: Limit {
                max_failures: 100,
                window: Duration::from_secs(15 * 60),
            },
            hashing_concurrency: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
            maintenance_interval: Duration::from_secs(60),
            cost_budgets,
            ws_connections_per_address,
        })
    }
}

fn check_database_url(url: String) -> Result<String, ConfigError> {
    if url.starts_with("postgres://")
        || url.starts_with("postgresql://")
        || url.starts_with("sqlite:")
    {
        Ok(url)
    } else {
        Err(problem(
            "DATABASE_URL",
            "must start with postgres://, postgresql:// or sqlite:",
        ))
    }
}

fn ensure_data_dir(dir: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|error| {
        problem(
            "FEIHONG_DATA_DIR",
            format!("cannot create {}: {error}", dir.display()),
        )
    })
}

/// Production takes the secret from the environment only. Development generates one on first
/// start and keeps it in the data folder, so sessions survive restarts.
fn token_secret(environment: Environment, data_dir: &Path) -> Result<Vec<u8>, ConfigError> {
    if let Ok(secret) = std::env::var(SECRET_ENV)
        && !secret.is_empty()
    {
        if secret.len() < 32 {
            return Err(problem(SECRET_ENV, "must be at least 32 characters"));
        }
        return Ok(secret.into_bytes());
    }
    if environment == Environment::Production {
        return Err(problem(
            SECRET_ENV,
            "is required when FEIHONG_ENV=production",
        ));
    }
    ensure_data_dir(data_dir)?;
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing.trim().len() >= 32 => {
            return Ok(existing.trim().as_bytes().to_vec());
        }
        Ok(_) => {
            return Err(problem(
                SECRET_ENV,
                format!("{} is too short; delete it", path.display()),
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(problem(
                SECRET_ENV,
                format!("cannot read {}: {error}", path.display()),
            ));
        }
    }
    let secret = feihong_domain::tokens::random_token();
    write_private_file(&path, &secret).map_err(|error| {
        problem(
            SECRET_ENV,
            format!("cannot write {}: {error}", path.display()),
        )
    })?;
    Ok(secret.into_bytes())
}

fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
