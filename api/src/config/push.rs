//! Push and reminder settings: where pushes go (`FEIHONG_PUSH_WEBHOOK_URL` and
//! `FEIHONG_PUSH_WEBHOOK_SECRET`: a signed webhook to the city's push gateway; unset: the `log`
//! sender), and how long before a sign-up's start its reminders come (`FEIHONG_REMINDERS_BEFORE`).

use std::time::Duration;

use clap::Args;
use secrecy::{ExposeSecret as _, SecretString};

use super::{ConfigError, problem};

/// The shortest webhook secret accepted (HMAC-SHA256 keys should hold at least 256 bits).
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 32;
/// At most this many reminders per sign-up, each from 1 second to 30 days before the start.
pub const MAX_REMINDERS: usize = 5;
const MAX_REMINDER_OFFSET: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, Args)]
pub struct PushSettings {
    /// The push gateway's webhook (https://…); unset: pushes are only logged (development).
    #[arg(long, env = "FEIHONG_PUSH_WEBHOOK_URL", global = true, value_parser = webhook_url)]
    pub push_webhook_url: Option<String>,
    /// Key of the HMAC-SHA256 signature on every webhook push (at least 32 characters).
    #[arg(long, env = "FEIHONG_PUSH_WEBHOOK_SECRET", global = true, hide_env_values = true,
        value_parser = webhook_secret)]
    pub push_webhook_secret: Option<SecretString>,
    /// How long before a CONFIRMED sign-up's start its reminders come: e.g. `24h,2h`, `90m`.
    #[arg(long, env = "FEIHONG_REMINDERS_BEFORE", global = true, default_value = "24h,2h",
        value_parser = reminder_offsets)]
    pub reminders_before: ReminderOffsets,
}

/// Where pushes go.
#[derive(Debug, Clone)]
pub enum PushConfig {
    /// Development: written to the log (kind and device count only).
    Log,
    /// A JSON POST to the push gateway, signed in `X-Feihong-Signature` (docs/security.md).
    Webhook { url: String, secret: SecretString },
}

/// Reminder offsets before the start, longest first, distinct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderOffsets(pub Vec<Duration>);

impl PushSettings {
    pub(super) fn push_config(&self) -> Result<PushConfig, ConfigError> {
        let url = self
            .push_webhook_url
            .clone()
            .filter(|url| !url.trim().is_empty());
        let secret = self
            .push_webhook_secret
            .clone()
            .filter(|secret| !secret.expose_secret().is_empty());
        match (url, secret) {
            (None, None) => Ok(PushConfig::Log),
            (Some(url), Some(secret)) => Ok(PushConfig::Webhook { url, secret }),
            (Some(_), None) => Err(problem(
                "FEIHONG_PUSH_WEBHOOK_SECRET",
                "must be set with FEIHONG_PUSH_WEBHOOK_URL",
            )),
            (None, Some(_)) => Err(problem(
                "FEIHONG_PUSH_WEBHOOK_URL",
                "must be set with FEIHONG_PUSH_WEBHOOK_SECRET",
            )),
        }
    }
}

fn webhook_url(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() || raw.starts_with("https://") || raw.starts_with("http://") {
        Ok(raw.to_owned())
    } else {
        Err("must start with https:// or http://".to_owned())
    }
}

fn webhook_secret(raw: &str) -> Result<SecretString, String> {
    if raw.is_empty() || raw.chars().count() >= MIN_WEBHOOK_SECRET_CHARS {
        Ok(SecretString::from(raw))
    } else {
        Err(format!(
            "must be at least {MIN_WEBHOOK_SECRET_CHARS} characters"
        ))
    }
}

/// `24h,2h`, `90m`, `30s`, `1d`: each from 1 second to 30 days, at most [`MAX_REMINDERS`],
/// distinct; `none` or empty for no reminders.
pub fn reminder_offsets(raw: &str) -> Result<ReminderOffsets, String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case("none") {
        return Ok(ReminderOffsets(Vec::new()));
    }
    let mut offsets = raw
        .split(',')
        .map(|part| offset(part.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    offsets.sort_unstable_by(|a, b| b.cmp(a));
    offsets.dedup();
    if offsets.len() > MAX_REMINDERS {
        return Err(format!("at most {MAX_REMINDERS} reminders"));
    }
    Ok(ReminderOffsets(offsets))
}

fn offset(part: &str) -> Result<Duration, String> {
    let split = part.len().saturating_sub(1);
    let (number, unit) = part.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{part:?}: expected a number and s, m, h or d (24h)"
            ));
        }
    };
    let offset = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds))
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{part:?}: expected a number and s, m, h or d (24h)"))?;
    if offset.is_zero() || offset > MAX_REMINDER_OFFSET {
        return Err(format!("{part:?}: must be from 1 second to 30 days"));
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminder_offsets_are_read_longest_first() {
        assert_eq!(
            reminder_offsets("2h,24h").unwrap(),
            ReminderOffsets(vec![Duration::from_secs(86_400), Duration::from_secs(7200)])
        );
        assert_eq!(
            reminder_offsets("90m, 30s").unwrap(),
            ReminderOffsets(vec![Duration::from_secs(5400), Duration::from_secs(30)])
        );
        assert_eq!(
            reminder_offsets("none").unwrap(),
            ReminderOffsets(Vec::new())
        );
        for bad in ["24", "h", "0h", "31d", "-2h", "2x", "1h,2h,3h,4h,5h,6h"] {
            assert!(reminder_offsets(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_webhook_needs_its_secret_and_a_long_one() {
        assert!(webhook_secret("short").is_err());
        assert!(webhook_secret(&"k".repeat(32)).is_ok());
        let settings = PushSettings {
            push_webhook_url: Some("https://push.example/hook".to_owned()),
            push_webhook_secret: None,
            reminders_before: ReminderOffsets(Vec::new()),
        };
        assert!(settings.push_config().is_err());
    }
}
