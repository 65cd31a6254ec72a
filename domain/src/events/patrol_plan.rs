//! Planning a patrol schedule: its checked values and the occurrences it generates, as pure
//! functions of the request, the city's time zone and the time now.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{Location, SchedulePatrols, check_capacity};
use crate::dates;
use crate::deps::text;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Weekday {
    Monday = 1,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    const ALL: [Self; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    pub(super) fn number(self) -> u32 {
        self as u32
    }

    pub(super) fn from_number(n: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|day| day.number() == n)
    }
}

/// A new schedule's checked values and the occurrences still to come.
#[derive(Debug)]
pub(super) struct PatrolPlan {
    pub title: String,
    /// The chosen weekdays, in order, each once.
    pub weekdays: Vec<Weekday>,
    pub location: Location,
    /// (start, end) of every occurrence that starts after the time the plan was made.
    pub upcoming: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Checks a new schedule and lays out its occurrences: a title, at least one weekday, a local
/// start time as HH:MM, 15 minutes to 12 hours long, a capacity, dates in the planning window,
/// a range of at most one year that has not ended by today (in `timezone`), and a location.
/// Only occurrences starting after `now` are planned.
pub(super) fn plan_patrols(
    input: &SchedulePatrols,
    timezone: Tz,
    now: DateTime<Utc>,
) -> Result<PatrolPlan> {
    let title = text(&input.title, "title", 1, 120, false)?;
    if input.weekdays.is_empty() {
        return Err(Error::invalid("weekdays", "must-name-at-least-one-day"));
    }
    let start = parse_start_time(&input.start_time)?;
    if !(15..=720).contains(&input.duration_minutes) {
        return Err(Error::invalid("durationMinutes", "must-be-from-15-to-720"));
    }
    check_capacity(input.capacity)?;
    let today = now.with_timezone(&timezone).date_naive();
    dates::check_planned_day(input.from, today, "from")?;
    dates::check_planned_day(input.until, today, "until")?;
    if input.until < input.from {
        return Err(Error::invalid("until", "must-not-be-before-from"));
    }
    if input.until < today {
        return Err(Error::invalid("until", "must-not-be-in-past"));
    }
    if input
        .from
        .checked_add_months(chrono::Months::new(12))
        .is_none_or(|limit| input.until > limit)
    {
        return Err(Error::invalid("until", "schedule-spans-at-most-one-year"));
    }
    let location = input.location.parse("location")?;
    let mut weekdays = input.weekdays.clone();
    weekdays.sort();
    weekdays.dedup();
    let duration = Duration::minutes(i64::from(input.duration_minutes));
    let upcoming = occurrences(
        timezone,
        &weekdays,
        start,
        duration,
        input.from,
        input.until,
    )
    .into_iter()
    .filter(|(starts, _)| *starts > now)
    .collect();
    Ok(PatrolPlan {
        title,
        weekdays,
        location,
        upcoming,
    })
}

fn parse_start_time(raw: &str) -> Result<NaiveTime> {
    let valid = raw.len() == 5 && raw.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(raw, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| Error::invalid("startTime", "must-be-local-time-hh-mm"))
}

/// The (start, end) of every occurrence, in UTC. A local time that does not exist on a day (a
/// daylight-saving gap) moves to the first instant after it.
fn occurrences(
    timezone: Tz,
    weekdays: &[Weekday],
    start: NaiveTime,
    duration: Duration,
    from: NaiveDate,
    until: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= until {
        if weekdays
            .iter()
            .any(|w| w.number() == day.weekday().number_from_monday())
        {
            let local = day.and_time(start);
            let starts = timezone
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    timezone
                        .from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })
                .map(|at| at.with_timezone(&Utc));
            if let Some(starts) = starts {
                out.push((starts, starts + duration));
            }
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn occurrences_fall_on_the_chosen_weekdays_at_local_time() {
        let start = NaiveTime::from_hms_opt(19, 30, 0).unwrap();
        let list = occurrences(
            chrono_tz::Asia::Shanghai,
            &[Weekday::Monday, Weekday::Friday],
            start,
            Duration::minutes(120),
            date("2026-12-01"),
            date("2026-12-14"),
        );
        let starts: Vec<String> = list.iter().map(|(s, _)| s.to_rfc3339()).collect();
        // 2026-12-04 is a Friday; 19:30 in Shanghai is 11:30 UTC.
        assert_eq!(
            starts,
            [
                "2026-12-04T11:30:00+00:00",
                "2026-12-07T11:30:00+00:00",
                "2026-12-11T11:30:00+00:00",
                "2026-12-14T11:30:00+00:00"
            ]
        );
        assert!(list.iter().all(|(s, e)| *e - *s == Duration::minutes(120)));
    }

    #[test]
    fn a_local_time_in_a_daylight_saving_gap_moves_forward() {
        let start = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        // 2026-03-08: clocks in New York jump from 02:00 to 03:00.
        let list = occurrences(
            chrono_tz::America::New_York,
            &[Weekday::Sunday],
            start,
            Duration::minutes(60),
            date("2026-03-08"),
            date("2026-03-08"),
        );
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].0.to_rfc3339(), "2026-03-08T07:30:00+00:00");
    }

    #[test]
    fn start_times_must_be_hh_mm() {
        assert!(parse_start_time("19:30").is_ok());
        for bad in ["7:30", "24:00", "19:60", "1930", "19:30:00"] {
            assert!(parse_start_time(bad).is_err(), "{bad}");
        }
    }

    fn patrols(weekdays: &[Weekday], from: &str, until: &str) -> SchedulePatrols {
        SchedulePatrols {
            team_id: crate::ids::TeamId(1),
            title: " 夜巡 ".into(),
            weekdays: weekdays.to_vec(),
            start_time: "19:30".into(),
            duration_minutes: 120,
            from: date(from),
            until: date(until),
            capacity: 10,
            location: crate::events::LocationInput {
                address: "祖庙路".into(),
                lat: 23.03,
                lng: 113.11,
                radius_m: None,
            },
            visibility: crate::kinds::Visibility::Public,
        }
    }

    /// Monday 2026-12-07, 20:00 in Shanghai.
    fn monday_evening() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
    }

    fn refused_field(input: &SchedulePatrols) -> String {
        match plan_patrols(input, chrono_tz::Asia::Shanghai, monday_evening()) {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[test]
    fn a_plan_holds_the_occurrences_still_to_come_on_each_chosen_day_once() {
        let input = patrols(
            &[Weekday::Friday, Weekday::Monday, Weekday::Monday],
            "2026-12-01",
            "2026-12-14",
        );
        let plan = plan_patrols(&input, chrono_tz::Asia::Shanghai, monday_evening()).unwrap();
        assert_eq!(plan.title, "夜巡");
        assert_eq!(plan.weekdays, [Weekday::Monday, Weekday::Friday]);
        assert_eq!(plan.location.radius_m, 200);
        // This evening's patrol started at 19:30 (11:30 UTC): only the later ones are planned.
        let starts: Vec<String> = plan.upcoming.iter().map(|(s, _)| s.to_rfc3339()).collect();
        assert_eq!(
            starts,
            ["2026-12-11T11:30:00+00:00", "2026-12-14T11:30:00+00:00"]
        );
    }

    #[test]
    fn a_plan_refuses_naming_the_schedule_s_own_fields() {
        let ok = || patrols(&[Weekday::Monday], "2026-12-07", "2027-01-31");
        let cases: [(SchedulePatrols, &str); 8] = [
            (patrols(&[], "2026-12-07", "2027-01-31"), "weekdays"),
            (
                SchedulePatrols {
                    start_time: "7:30".into(),
                    ..ok()
                },
                "startTime",
            ),
            (
                SchedulePatrols {
                    duration_minutes: 14,
                    ..ok()
                },
                "durationMinutes",
            ),
            (
                SchedulePatrols {
                    capacity: 0,
                    ..ok()
                },
                "capacity",
            ),
            (
                patrols(&[Weekday::Monday], "2026-12-07", "2026-12-06"),
                "until",
            ),
            (
                patrols(&[Weekday::Monday], "2026-11-01", "2026-12-06"),
                "until",
            ),
            (
                patrols(&[Weekday::Monday], "2026-12-07", "2027-12-08"),
                "until",
            ),
            (
                SchedulePatrols {
                    location: crate::events::LocationInput {
                        radius_m: Some(5),
                        ..ok().location
                    },
                    ..ok()
                },
                "location.radiusM",
            ),
        ];
        assert!(plan_patrols(&ok(), chrono_tz::Asia::Shanghai, monday_evening()).is_ok());
        for (input, field) in cases {
            assert_eq!(refused_field(&input), field);
        }
    }
}
