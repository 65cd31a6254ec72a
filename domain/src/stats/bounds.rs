//! How many rows an answer can have, known before any figure is read: a grouping of the whole
//! city's teams by day over three years would be millions of rows, so the request is refused
//! up front, naming what to narrow.

use chrono::{Datelike as _, NaiveDate};

use super::Dimension;
use crate::error::{Error, Result};
use crate::text::Text;

/// The most rows one answer (and one CSV export) may have.
pub const MAX_ROWS: u64 = 10_000;

/// How many distinct values each dimension can take for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cardinalities {
    pub districts: u64,
    pub towns: u64,
    pub teams: u64,
    pub days: u64,
    pub weeks: u64,
    pub months: u64,
}

impl Cardinalities {
    /// The calendar dimensions of `from..=to`, with the area's and team counts given.
    pub fn of_range(
        from: NaiveDate,
        to: NaiveDate,
        districts: u64,
        towns: u64,
        teams: u64,
    ) -> Self {
        let days = (to - from).num_days().max(0) as u64 + 1;
        let month_number = |day: NaiveDate| i64::from(day.year()) * 12 + i64::from(day.month0());
        let months = (month_number(to) - month_number(from)).max(0) as u64 + 1;
        Self {
            districts,
            towns,
            teams,
            days,
            // A range of n days touches at most n / 7 + 2 ISO weeks.
            weeks: days / 7 + 2,
            months,
        }
    }

    fn of(&self, dim: Dimension) -> u64 {
        match dim {
            // Teams and volunteers placed above a district or town form a group of their own.
            Dimension::District => self.districts + 1,
            Dimension::Town => self.towns + 1,
            Dimension::TeamKind => 6,
            Dimension::Team => self.teams,
            Dimension::Day => self.days,
            Dimension::Week => self.weeks,
            Dimension::Month => self.months,
        }
    }
}

/// The most rows grouping by `dims` can give.
pub fn most_rows(dims: &[Dimension], cardinalities: &Cardinalities) -> u64 {
    dims.iter().fold(1u64, |rows, dim| {
        rows.saturating_mul(cardinalities.of(*dim))
    })
}

/// Refuses groupings that could exceed [`MAX_ROWS`].
pub fn check_rows(dims: &[Dimension], cardinalities: &Cardinalities) -> Result<()> {
    let rows = most_rows(dims, cardinalities);
    if rows <= MAX_ROWS {
        Ok(())
    } else {
        Err(Error::invalid(
            "groupBy",
            Text::new("grouping-gives-too-many-rows")
                .arg("rows", rows)
                .arg("max", MAX_ROWS),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn city_over(from: &str, to: &str) -> Cardinalities {
        Cardinalities::of_range(date(from), date(to), 5, 32, 8_500)
    }

    #[test]
    fn calendar_dimensions_count_the_range_inclusively() {
        let one_day = city_over("2026-03-01", "2026-03-01");
        assert_eq!((one_day.days, one_day.months), (1, 1));
        let quarter = city_over("2026-01-15", "2026-03-14");
        assert_eq!((quarter.days, quarter.months), (59, 3));
        let years = city_over("2024-01-01", "2026-12-31");
        assert_eq!((years.days, years.months), (1_096, 36));
        assert!(years.weeks >= 157);
    }

    #[test]
    fn the_dashboards_groupings_are_answered() {
        let years = city_over("2024-01-01", "2026-12-31");
        for dims in [
            vec![],
            vec![Dimension::District, Dimension::Month],
            vec![Dimension::TeamKind, Dimension::Month],
            vec![Dimension::Town, Dimension::Month],
            vec![Dimension::Team],
            vec![Dimension::Day, Dimension::District],
        ] {
            assert!(check_rows(&dims, &years).is_ok(), "{dims:?}");
        }
    }

    #[test]
    fn the_citys_teams_by_day_or_month_are_refused_until_narrowed() {
        let years = city_over("2024-01-01", "2026-12-31");
        let error = check_rows(&[Dimension::Team, Dimension::Day], &years).unwrap_err();
        assert!(matches!(error, Error::InvalidInput { ref field, .. } if field == "groupBy"));
        assert!(check_rows(&[Dimension::Team, Dimension::Month], &years).is_err());
        // A district's 300 teams over a month, by day, fit.
        let district_month =
            Cardinalities::of_range(date("2026-05-01"), date("2026-05-31"), 1, 7, 300);
        assert!(check_rows(&[Dimension::Team, Dimension::Day], &district_month).is_ok());
    }
}
