//! What every service shares: the store, the area tree and the city's time zone.

use std::sync::Arc;

use chrono_tz::Tz;

use crate::areas::AreaTree;
use crate::store::Store;
use crate::text::Text;

#[derive(Clone)]
pub struct Deps {
    pub store: Arc<Store>,
    pub areas: Arc<AreaTree>,
    pub timezone: Tz,
    /// Woken after a committed tally change, so leaderboards follow within moments.
    pub tally_changed: Arc<tokio::sync::Notify>,
}

/// Checks a free-text field (team names, event titles and descriptions, addresses, reasons):
/// trimmed, `min..=max` characters, no control characters except newlines where `multiline`, no
/// bidirectional controls, and not made only of invisible characters (`values::check_readable`).
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
                Text::new("must-not-be-empty")
            } else {
                Text::new("must-be-at-least-n-characters").arg("min", min)
            },
        ));
    }
    if chars > max {
        return Err(crate::Error::invalid(
            field,
            Text::new("must-be-at-most-n-characters").arg("max", max),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')))
    {
        return Err(crate::Error::invalid(
            field,
            "must-not-contain-control-characters",
        ));
    }
    crate::values::check_readable(trimmed, field)?;
    Ok(trimmed.to_owned())
}

/// Drops sub-second precision. Stored times are whole seconds, so every backend compares and
/// orders them alike (SQLite keeps times as text) and cursors built from them match exactly.
pub fn whole_seconds(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_refuses_bidirectional_controls_and_invisible_only_values() {
        for raw in ["=1+2\u{202E}txt.exe", "巡逻\u{2067}队", "\u{200F}Team"] {
            let error = text(raw, "name", 1, 80, false).unwrap_err();
            assert!(
                error.to_string().contains("bidirectional"),
                "{raw:?}: {error}"
            );
        }
        for raw in ["\u{200B}", "\u{3164}\u{3164}", "\u{FEFF}"] {
            assert!(text(raw, "title", 1, 120, false).is_err(), "{raw:?}");
        }
        // An optional field may still be empty, and ordinary text passes.
        assert_eq!(text("  ", "description", 0, 10, true).unwrap(), "");
        assert_eq!(
            text("祖庙 patrol\nline two", "description", 0, 100, true).unwrap(),
            "祖庙 patrol\nline two"
        );
    }
}
