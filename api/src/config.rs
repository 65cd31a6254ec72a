//! Configuration, layered: built-in defaults, then environment variables, then command-line flags
//! (clap reads both). Values are parsed here once; a missing or malformed setting becomes one
//! error line naming the variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use clap::Args;
use feihong_domain::budget::Budgets;
use feihong_domain::throttle::{Backoff, Limit, LoginLimits};

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
    /// How many proxies of ours append to that header: the client is the value the outermost
    /// of them added, this many from the end (default 1: the last value).
    #[arg(long, env = "FEIHONG_TRUSTED_PROXY_HOPS", global = true)]
    pub trusted_proxy_hops: Option<String>,
    /// Accounts one client address may register per hour.
    #[arg(long, env = "FEIHONG_REGISTRATIONS_PER_ADDRESS", global = true)]
    pub registrations_per_address: Option<String>,
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
const DEFAULT_COST_BUDGET: usize = 100_000;
/// Anonymous callers per client address per minute: higher, because carrier NAT and campus
/// networks put many phones (registering, signing in, browsing public events) behind one address.
const DEFAULT_ANONYMOUS_COST_BUDGET: usize = 300_000;
/// WebSocket connections per client address on one node: an app holds one; NAT shares addresses.
const DEFAULT_WS_CONNECTIONS_PER_ADDRESS: usize = 200;
const SECRET_ENV: &str = "FEIHONG_TOKEN_SECRET";

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
        let count = |name, raw: Option<String>, min, max, default| match raw {
            Some(raw) => parse_count(name, &raw, min, max),
            None => Ok(default),
        };
        let cost_budgets = Budgets {
            per_volunteer: count(
                "FEIHONG_COST_BUDGET",
                self.cost_budget,
                100,
                100_000_000,
                DEFAULT_COST_BUDGET,
            )? as u64,
            per_address: count(
                "FEIHONG_ANONYMOUS_COST_BUDGET",
                self.anonymous_cost_budget,
                100,
                100_000_000,
                DEFAULT_ANONYMOUS_COST_BUDGET,
            )? as u64,
        };
        let ws_connections_per_address = count(
            "FEIHONG_WS_CONNECTIONS_PER_ADDRESS",
            self.ws_connections_per_address,
            1,
            100_000,
            DEFAULT_WS_CONNECTIONS_PER_ADDRESS,
        )?;
        let trusted_proxy_hops = match self.trusted_proxy_hops {
            Some(raw) => parse_count("FEIHONG_TRUSTED_PROXY_HOPS", &raw, 1, 10)?,
            None => 1,
        };
        let registrations_per_hour = match self.registrations_per_address {
            Some(raw) => parse_count("FEIHONG_REGISTRATIONS_PER_ADDRESS", &raw, 1, 1_000_000)?,
            None => DEFAULT_REGISTRATIONS_PER_HOUR,
        };
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
            trusted_proxy_hops,
            login_limits: default_login_limits(),
            registrations_per_address: Limit {
                max: u32::try_from(registrations_per_hour).unwrap_or(u32::MAX),
                window: Duration::from_secs(3600),
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

/// Registrations per client address per hour: a street office or a school signing up its
/// volunteers on one network fits; a script creating accounts by the hundred does not.
const DEFAULT_REGISTRATIONS_PER_HOUR: usize = 30;

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

fn parse_count(
    name: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<usize, ConfigError> {
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| problem(name, format!("expected a number from {min} to {max}")))
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

/// Creates the data folder when missing, readable by its owner only (0700): it holds the
/// database and the token secret. An existing folder is left as the operator made it.
fn ensure_data_dir(dir: &Path) -> Result<(), ConfigError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|error| {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

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
        Cli::try_parse_from(argv).unwrap().settings.into_config()
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

    #[cfg(unix)]
    #[test]
    fn a_data_folder_the_server_creates_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        config(&dir, &[]).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let secret = std::fs::metadata(dir.join(SECRET_FILE)).unwrap();
        assert_eq!(secret.permissions().mode() & 0o777, 0o600);
    }
}
