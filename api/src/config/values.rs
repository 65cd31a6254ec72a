//! The value parsers: each checks one setting as clap reads it, so a malformed value stops
//! start-up before anything runs; [`setting_error`] names its variable. A blank URL is left
//! for `Settings::into_config` to treat as unset (an empty variable in a compose file).

use std::fmt::Display;
use std::net::SocketAddr;
use std::str::FromStr;

use chrono_tz::Tz;
use secrecy::SecretString;

use super::{ConfigError, problem};

pub(super) fn database_url(raw: &str) -> Result<SecretString, String> {
    let known = ["postgres://", "postgresql://", "sqlite:"];
    if raw.trim().is_empty() || known.iter().any(|scheme| raw.starts_with(scheme)) {
        Ok(SecretString::from(raw))
    } else {
        Err("must start with postgres://, postgresql:// or sqlite:".to_owned())
    }
}

/// `FEIHONG_DATA_KEY`: base64 of exactly 32 bytes; blank means unset. The message never
/// repeats the value.
pub(super) fn data_key(raw: &str) -> Result<SecretString, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || super::secret::decode_data_key(trimmed).is_some() {
        Ok(SecretString::from(trimmed))
    } else {
        Err("must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`)".to_owned())
    }
}

pub(super) fn redis_url(raw: &str) -> Result<String, String> {
    let known = ["redis://", "rediss://", "unix://"];
    if raw.trim().is_empty() || known.iter().any(|scheme| raw.starts_with(scheme)) {
        Ok(raw.to_owned())
    } else {
        Err("must start with redis://, rediss:// or unix://".to_owned())
    }
}

pub(super) fn bind(raw: &str) -> Result<SocketAddr, String> {
    raw.parse()
        .map_err(|_| format!("not an address:port: {raw:?}"))
}

pub(super) fn timezone(raw: &str) -> Result<Tz, String> {
    raw.parse()
        .map_err(|_| format!("unknown time zone {raw:?}"))
}

pub(super) fn boolean(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// A whole number from `min` to `max`.
pub(super) fn count<T>(
    min: T,
    max: T,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static,
{
    move |raw| {
        raw.trim()
            .parse::<T>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| format!("expected a number from {min} to {max}"))
    }
}

/// A value clap refused, as the one line start-up prints: the variable the setting is read
/// from and what is wrong with it (never the value of a hidden one). `None` for any other
/// error (help, version, an unknown flag), which clap reports itself.
pub fn setting_error(error: &clap::Error, command: &clap::Command) -> Option<ConfigError> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let context = |kind| error.get(kind);
    let Some(ContextValue::String(arg)) = context(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    let setting = command
        .get_arguments()
        .find(|setting| setting.get_long() == Some(long))?;
    let name = setting.get_env()?.to_string_lossy();
    let what = match error.kind() {
        ErrorKind::ValueValidation => std::error::Error::source(error)?.to_string(),
        ErrorKind::InvalidValue => {
            let Some(ContextValue::Strings(valid)) = context(ContextKind::ValidValue) else {
                return None;
            };
            let given = match context(ContextKind::InvalidValue) {
                Some(ContextValue::String(given)) => given.as_str(),
                _ => "",
            };
            format!("expected {}, got {given:?}", valid.join(" or "))
        }
        _ => return None,
    };
    Some(problem(&name, what))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: super::super::Settings,
    }

    #[test]
    fn a_malformed_setting_is_one_line_naming_its_variable() {
        for (arg, line) in [
            (
                "--bind=nowhere",
                "FEIHONG_BIND: not an address:port: \"nowhere\"",
            ),
            (
                "--timezone=Mars/Olympus_Mons",
                "FEIHONG_TIMEZONE: unknown time zone \"Mars/Olympus_Mons\"",
            ),
            (
                "--env=staging",
                "FEIHONG_ENV: expected development or production, got \"staging\"",
            ),
            (
                "--database-url=mysql://root:hunter2@db",
                "DATABASE_URL: must start with postgres://, postgresql:// or sqlite:",
            ),
            (
                "--redis-url=http://cache",
                "REDIS_URL: must start with redis://, rediss:// or unix://",
            ),
            (
                "--db-max-connections=lots",
                "FEIHONG_DB_MAX_CONNECTIONS: expected a number from 1 to 500",
            ),
            (
                "--db-max-connections=501",
                "FEIHONG_DB_MAX_CONNECTIONS: expected a number from 1 to 500",
            ),
            (
                "--introspection=maybe",
                "FEIHONG_INTROSPECTION: expected true or false, got \"maybe\"",
            ),
            (
                "--cost-budget=99",
                "FEIHONG_COST_BUDGET: expected a number from 100 to 100000000",
            ),
            (
                "--anonymous-cost-budget=x",
                "FEIHONG_ANONYMOUS_COST_BUDGET: expected a number from 100 to 100000000",
            ),
            (
                "--ws-connections-per-address=0",
                "FEIHONG_WS_CONNECTIONS_PER_ADDRESS: expected a number from 1 to 100000",
            ),
        ] {
            let error = Cli::try_parse_from(["feihong", arg]).err().unwrap();
            let error = setting_error(&error, &Cli::command()).unwrap();
            assert_eq!(error.to_string(), line, "{arg}");
        }
    }

    #[test]
    fn other_command_line_mistakes_are_left_to_clap() {
        for args in [&["feihong", "--help"][..], &["feihong", "--no-such-flag"]] {
            let error = Cli::try_parse_from(args).err().unwrap();
            assert!(setting_error(&error, &Cli::command()).is_none(), "{args:?}");
        }
    }
}
