//! Bounds on the dates and instants clients send. chrono represents years up to ±262,143 and
//! panics when arithmetic leaves that range; PostgreSQL refuses timestamps before 4713 BC. A
//! date from a client is therefore checked against a sane window at the edge of the domain,
//! before any arithmetic or query sees it, and refused as input that names its argument.
//!
//! Two windows: every date and instant must lie in [`EARLIEST`, `LATEST`] (years 2000–2100;
//! nothing this service records lies outside), and what is planned ahead (events, patrol
//! schedules) lies within [`PLAN_AHEAD_DAYS`] of today, as `check_times` has always required of
//! events.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::error::{Error, Result};
use crate::text::Text;

/// The first day any date may name.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(day) => day,
    None => panic!("2000-01-01 is a date"),
};

/// The last day any date may name.
pub const LATEST: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(day) => day,
    None => panic!("2100-12-31 is a date"),
};

/// Events and patrol schedules are planned at most this many days ahead ("within two years").
pub const PLAN_AHEAD_DAYS: i64 = 731;

fn out_of_range(field: &str) -> Error {
    Error::invalid(
        field,
        Text::new("must-be-between-dates")
            .arg("earliest", EARLIEST.format("%Y-%m-%d"))
            .arg("latest", LATEST.format("%Y-%m-%d")),
    )
}

/// `day`, when it lies in the window every date must lie in; `field` names it otherwise.
pub fn check_day(day: NaiveDate, field: &str) -> Result<NaiveDate> {
    if (EARLIEST..=LATEST).contains(&day) {
        Ok(day)
    } else {
        Err(out_of_range(field))
    }
}

/// `at`, when its UTC day lies in the window every date must lie in.
pub fn check_instant(at: DateTime<Utc>, field: &str) -> Result<DateTime<Utc>> {
    check_day(at.date_naive(), field).map(|_| at)
}

/// Like [`check_instant`], for an optional argument.
pub fn check_optional_instant(
    at: Option<DateTime<Utc>>,
    field: &str,
) -> Result<Option<DateTime<Utc>>> {
    at.map(|at| check_instant(at, field)).transpose()
}

/// `day`, when it is no more than two years after `today` (and in the window of every date).
pub fn check_planned_day(day: NaiveDate, today: NaiveDate, field: &str) -> Result<NaiveDate> {
    check_day(day, field)?;
    let limit = today
        .checked_add_signed(Duration::days(PLAN_AHEAD_DAYS))
        .unwrap_or(LATEST);
    if day > limit {
        return Err(Error::invalid(field, "must-be-within-two-years"));
    }
    Ok(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn field_of(error: Error) -> String {
        match error {
            Error::InvalidInput { field, .. } => field,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn days_outside_the_window_are_refused_naming_the_argument() {
        assert_eq!(
            check_day(day("2026-05-01"), "from").unwrap(),
            day("2026-05-01")
        );
        assert!(check_day(EARLIEST, "from").is_ok());
        assert!(check_day(LATEST, "from").is_ok());
        for bad in ["+262141-12-31", "1999-12-31", "2101-01-01", "-9999-01-01"] {
            assert_eq!(field_of(check_day(day(bad), "from").unwrap_err()), "from");
        }
        assert_eq!(field_of(check_day(NaiveDate::MAX, "to").unwrap_err()), "to");
        assert_eq!(field_of(check_day(NaiveDate::MIN, "to").unwrap_err()), "to");
    }

    #[test]
    fn instants_outside_the_window_are_refused() {
        let far: DateTime<Utc> = "-9999-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            field_of(check_instant(far, "startsAfter").unwrap_err()),
            "startsAfter"
        );
        assert!(check_instant(DateTime::<Utc>::MAX_UTC, "at").is_err());
        assert!(check_instant(DateTime::<Utc>::MIN_UTC, "at").is_err());
        let now = Utc::now();
        assert_eq!(check_instant(now, "at").unwrap(), now);
        assert_eq!(check_optional_instant(None, "at").unwrap(), None);
        assert!(check_optional_instant(Some(far), "at").is_err());
    }

    #[test]
    fn plans_reach_at_most_two_years_ahead() {
        let today = day("2026-05-01");
        assert!(check_planned_day(day("2028-05-01"), today, "from").is_ok());
        assert!(check_planned_day(day("2028-05-02"), today, "from").is_err());
        assert!(check_planned_day(day("+262141-12-31"), today, "from").is_err());
        // Near the end of the window the limit is the window's end, never an overflow.
        assert!(check_planned_day(LATEST, LATEST, "from").is_ok());
        assert!(check_planned_day(LATEST, NaiveDate::MAX, "from").is_ok());
    }
}
