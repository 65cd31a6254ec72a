//! Periods and the calendar in the city's time zone, and global IDs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Datelike, NaiveDate, Utc};
use feihong_tests::{Session, TeamFixture};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Period {
    AllTime,
    Year,
    Month,
    Week,
}

pub(crate) const PERIODS: [Period; 4] =
    [Period::AllTime, Period::Year, Period::Month, Period::Week];

impl Period {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::AllTime => "ALL_TIME",
            Self::Year => "YEAR",
            Self::Month => "MONTH",
            Self::Week => "WEEK",
        }
    }

    /// Whether `day` lies in the current period of `today`.
    pub(crate) fn contains(self, day: NaiveDate, today: NaiveDate) -> bool {
        match self {
            Self::AllTime => true,
            Self::Year => day.year() == today.year(),
            Self::Month => (day.year(), day.month()) == (today.year(), today.month()),
            Self::Week => day.iso_week() == today.iso_week(),
        }
    }
}

pub(crate) fn shanghai_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// Today and the days around period boundaries, in Asia/Shanghai.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Calendar {
    pub(crate) today: NaiveDate,
    pub(crate) first_of_month: NaiveDate,
    pub(crate) last_of_previous_month: NaiveDate,
    pub(crate) previous_weeks_sunday: NaiveDate,
}

impl Calendar {
    pub(crate) fn now() -> Self {
        let today = shanghai_today();
        let first_of_month = today.with_day(1).expect("the 1st exists");
        Self {
            today,
            first_of_month,
            last_of_previous_month: first_of_month.pred_opt().expect("a day before"),
            previous_weeks_sunday: today
                - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()) + 1),
        }
    }

    pub(crate) fn boundary_days(&self) -> [NaiveDate; 4] {
        [
            self.last_of_previous_month,
            self.first_of_month,
            self.previous_weeks_sunday,
            self.today,
        ]
    }
}

pub(crate) fn ymd(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The number inside a global ID of `tag` (`Volunteer:12` → 12); -1 when it is not one.
pub(crate) fn number_in(id: &Value, tag: &str) -> i64 {
    id.as_str()
        .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.strip_prefix(&format!("{tag}:"))?.parse().ok())
        .unwrap_or(-1)
}

pub(crate) fn volunteer_number(session: &Session) -> i64 {
    number_in(&json!(session.volunteer_id), "Volunteer")
}

pub(crate) fn team_number(team: &TeamFixture) -> i64 {
    number_in(&json!(team.id), "Team")
}
