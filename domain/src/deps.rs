//! What every service shares: the store, the area tree and the city's time zone.

use std::sync::Arc;

use chrono_tz::Tz;

use crate::areas::AreaTree;
use crate::store::Store;

#[derive(Clone)]
pub struct Deps {
    pub store: Arc<Store>,
    pub areas: Arc<AreaTree>,
    pub timezone: Tz,
    /// Woken after a committed tally change, so leaderboards follow within moments.
    pub tally_changed: Arc<tokio::sync::Notify>,
}

/// Checks a free-text field: trimmed, `min..=max` characters, no control characters except
/// newlines where `multiline`.
pub fn text(
    raw: &str,
    field: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> crate::Result<String> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars < min {
        return Err(crate::Error::invalid(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if chars > max {
        return Err(crate::Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Err(crate::Error::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Drops sub-second precision. Stored times are whole seconds, so every backend compares and
/// orders them alike (SQLite keeps times as text) and cursors built from them match exactly.
pub fn whole_seconds(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}
