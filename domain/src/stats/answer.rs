//! `participationStats` from `stats_place_periods`: a range cut into whole years, months, ISO
//! weeks and single days, and the rows of those pieces added up and their sets united. An answer
//! for the city or a district not grouped by town reads the rows united over a district or the
//! city (`spans`); by town, or for a town, the places' own rows.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{Datelike as _, Days, Months, NaiveDate};
use roaring::{MultiOps as _, RoaringTreemap};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};

use super::places::{
    ALL_KINDS, CITY, DAY, DISTRICT, MONTH, PLACE, WEEK, YEAR, add_sums, day_key, month_key,
    week_key, week_start, year_key,
};
use super::sets::Sets;
use super::{Dimension, Figures, RawKey};
use crate::areas::{AreaLevel, AreaTree};
use crate::entity::stats_place_periods;
use crate::error::Result;
use crate::ids::AreaId;

/// Whether these rows can answer: groupings they keep, and an area they are filed by.
pub(super) fn answerable(tree: &AreaTree, area: AreaId, dims: &[Dimension]) -> bool {
    let dims_kept = dims.iter().all(|dim| {
        matches!(
            dim,
            Dimension::District | Dimension::Town | Dimension::TeamKind | Dimension::Month
        )
    });
    let filed = tree.get(area).is_some_and(|node| {
        matches!(
            node.level,
            AreaLevel::City | AreaLevel::District | AreaLevel::Town
        )
    });
    dims_kept && filed
}

/// `from..=to` as (period, key) pieces: whole years, whole months, whole ISO weeks, single days.
/// Grouped by month, a piece must lie in one month: no years, and only weeks that do not
/// straddle two months.
fn pieces(from: NaiveDate, to: NaiveDate, by_month: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut at = from;
    while at <= to {
        let year_end = NaiveDate::from_ymd_opt(at.year(), 12, 31).unwrap_or(at);
        let next_month = at.with_day(1).unwrap_or(at) + Months::new(1);
        let week_end = at + Days::new(6);
        if !by_month && at.ordinal() == 1 && year_end <= to {
            out.push((YEAR, year_key(at)));
            at = year_end + Days::new(1);
        } else if at.day() == 1 && next_month - Days::new(1) <= to {
            out.push((MONTH, month_key(at)));
            at = next_month;
        } else if at == week_start(at)
            && week_end <= to
            && (!by_month || week_end.month() == at.month())
        {
            out.push((WEEK, week_key(at)));
            at = week_end + Days::new(1);
        } else {
            out.push((DAY, day_key(at)));
            at = at + Days::new(1);
        }
    }
    out
}

/// Which rows answer for an area of `level` grouped by `dims`: a district's or the city's
/// united rows unless the answer is by town or for a town.
fn span_for(level: AreaLevel, dims: &[Dimension]) -> &'static str {
    match level {
        _ if dims.contains(&Dimension::Town) => PLACE,
        AreaLevel::City if !dims.contains(&Dimension::District) => CITY,
        AreaLevel::City | AreaLevel::District => DISTRICT,
        _ => PLACE,
    }
}

/// The rows to read: their span, the area's place or district, and for united rows either
/// every kind separately (grouped by kind) or the all-kinds row.
fn rows_filter(tree: &AreaTree, area: AreaId, dims: &[Dimension]) -> Condition {
    let level = tree.get(area).map_or(AreaLevel::City, |node| node.level);
    let span = span_for(level, dims);
    let mut filter = Condition::all().add(stats_place_periods::Column::Span.eq(span));
    filter = match level {
        AreaLevel::District => filter.add(stats_place_periods::Column::DistrictId.eq(area.0)),
        AreaLevel::Town => filter.add(stats_place_periods::Column::TownId.eq(area.0)),
        _ => filter,
    };
    match (span, dims.contains(&Dimension::TeamKind)) {
        (PLACE, _) => filter,
        (_, true) => filter.add(stats_place_periods::Column::TeamKind.ne(ALL_KINDS)),
        (_, false) => filter.add(stats_place_periods::Column::TeamKind.eq(ALL_KINDS)),
    }
}

/// A row without its set: what an answer adds up, and the id its set is kept under (`sets`).
#[derive(FromQueryResult)]
struct Head {
    id: i64,
    district_id: i64,
    town_id: i64,
    team_kind: String,
    period: String,
    period_key: String,
    events_held: i64,
    sign_ups: i64,
    attended: i64,
    no_shows: i64,
    approved_minutes: i64,
    new_volunteers: i64,
}

impl Head {
    fn figures(&self) -> Figures {
        Figures {
            active_volunteers: 0,
            new_volunteers: self.new_volunteers,
            events_held: self.events_held,
            sign_ups: self.sign_ups,
            attended: self.attended,
            no_shows: self.no_shows,
            approved_minutes: self.approved_minutes,
        }
    }
}

/// The month (YYYY-MM) a row's period lies in: a day's or month's key starts with it; a week
/// (read only when it lies in one month) is placed by its Monday.
fn month_of(row: &Head) -> String {
    let monday = (row.period == WEEK)
        .then(|| row.period_key.split_once("-W"))
        .flatten()
        .and_then(|(year, week)| {
            NaiveDate::from_isoywd_opt(year.parse().ok()?, week.parse().ok()?, chrono::Weekday::Mon)
        });
    match monday {
        Some(monday) => month_key(monday),
        None => row.period_key.chars().take(7).collect(),
    }
}

/// A row's group: one value per dimension.
fn key_of(dims: &[Dimension], row: &Head) -> RawKey {
    dims.iter()
        .map(|dim| match dim {
            Dimension::District => row.district_id.to_string(),
            Dimension::Town => row.town_id.to_string(),
            Dimension::TeamKind => row.team_kind.clone(),
            _ => month_of(row),
        })
        .collect()
}

/// The rows of `from..=to`'s pieces that answer for `area` grouped by `dims`, without sets.
async fn heads(
    conn: &impl ConnectionTrait,
    tree: &AreaTree,
    area: AreaId,
    (from, to): (NaiveDate, NaiveDate),
    dims: &[Dimension],
) -> Result<Vec<Head>> {
    let mut wanted: HashMap<&'static str, Vec<String>> = HashMap::new();
    for (period, key) in pieces(from, to, dims.contains(&Dimension::Month)) {
        wanted.entry(period).or_default().push(key);
    }
    // One statement for every kind of piece: a range of at most three years has a few dozen.
    let mut periods = Condition::any();
    for (period, keys) in wanted {
        periods = periods.add(
            Condition::all()
                .add(stats_place_periods::Column::Period.eq(period))
                .add(stats_place_periods::Column::PeriodKey.is_in(keys)),
        );
    }
    Ok(stats_place_periods::Entity::find()
        .select_only()
        .columns(HEAD_COLUMNS)
        .filter(periods)
        .filter(rows_filter(tree, area, dims))
        .into_model::<Head>()
        .all(conn)
        .await?)
}

const HEAD_COLUMNS: [stats_place_periods::Column; 12] = [
    stats_place_periods::Column::Id,
    stats_place_periods::Column::DistrictId,
    stats_place_periods::Column::TownId,
    stats_place_periods::Column::TeamKind,
    stats_place_periods::Column::Period,
    stats_place_periods::Column::PeriodKey,
    stats_place_periods::Column::EventsHeld,
    stats_place_periods::Column::SignUps,
    stats_place_periods::Column::Attended,
    stats_place_periods::Column::NoShows,
    stats_place_periods::Column::ApprovedMinutes,
    stats_place_periods::Column::NewVolunteers,
];

/// Every figure per group and in total. Call only when `answerable`. Each group's sets are
/// united in one pass (Roaring's many-way union, far cheaper than one union per row), and the
/// total is the groups' sets united, with the rows no group takes (registrations, grouped by
/// kind).
pub(super) async fn figures(
    conn: &impl ConnectionTrait,
    sets: &Sets,
    tree: &AreaTree,
    area: AreaId,
    range: (NaiveDate, NaiveDate),
    dims: &[Dimension],
) -> Result<(HashMap<RawKey, Figures>, Figures)> {
    let heads = heads(conn, tree, area, range, dims).await?;
    let ids: Vec<i64> = heads.iter().map(|head| head.id).collect();
    let volunteers = sets.of(conn, &ids).await?;
    let by_kind = dims.contains(&Dimension::TeamKind);
    let mut groups: HashMap<RawKey, (Figures, Vec<&RoaringTreemap>)> = HashMap::new();
    let (mut total, mut ungrouped) = (Figures::default(), Vec::new());
    for head in &heads {
        let set = volunteers.get(&head.id).map(|set| &**set);
        add_sums(&mut total, &head.figures());
        // Registrations have no team kind: grouped by kind, only the totals carry them.
        if by_kind && head.team_kind.is_empty() {
            ungrouped.extend(set);
            continue;
        }
        let (figures, group_sets) = groups.entry(key_of(dims, head)).or_default();
        add_sums(figures, &head.figures());
        group_sets.extend(set);
    }
    let count = |set: &RoaringTreemap| i64::try_from(set.len()).unwrap_or(i64::MAX);
    let mut united: Vec<Cow<'_, RoaringTreemap>> = Vec::with_capacity(groups.len());
    let mut answer = HashMap::with_capacity(groups.len());
    for (key, (mut figures, group_sets)) in groups {
        // A group of one row (a whole month, grouped by month) is counted without a copy.
        let set = match group_sets.as_slice() {
            [one] => Cow::Borrowed(*one),
            many => Cow::Owned(many.iter().copied().union()),
        };
        figures.active_volunteers = count(&set);
        answer.insert(key, figures);
        united.push(set);
    }
    let mut all: Vec<&RoaringTreemap> = united.iter().map(|set| &**set).collect();
    all.extend(ungrouped);
    total.active_volunteers = count(&all.into_iter().union());
    Ok((answer, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_range_splits_into_whole_years_months_weeks_and_days() {
        let keys = |from, to, by_month| -> Vec<String> {
            pieces(from, to, by_month)
                .into_iter()
                .map(|(period, key)| format!("{period} {key}"))
                .collect()
        };
        // 2024-12-30 is a Monday, starting ISO week 2025-W01.
        assert_eq!(
            keys(day(2024, 12, 29), day(2025, 1, 12), false),
            ["DAY 2024-12-29", "WEEK 2025-W01", "WEEK 2025-W02"]
        );
        // 2026-03-01 is a Sunday, 2026-03-02 a Monday.
        assert_eq!(
            keys(day(2025, 1, 1), day(2026, 3, 10), false),
            [
                "YEAR 2025",
                "MONTH 2026-01",
                "MONTH 2026-02",
                "DAY 2026-03-01",
                "WEEK 2026-W10",
                "DAY 2026-03-09",
                "DAY 2026-03-10"
            ]
        );
        // Grouped by month: no years, and no week straddling two months (2026-03-30 is a Monday).
        assert_eq!(keys(day(2025, 1, 1), day(2025, 12, 31), true).len(), 12);
        assert_eq!(
            keys(day(2026, 3, 2), day(2026, 4, 5), true),
            [
                "WEEK 2026-W10",
                "WEEK 2026-W11",
                "WEEK 2026-W12",
                "WEEK 2026-W13",
                "DAY 2026-03-30",
                "DAY 2026-03-31",
                "DAY 2026-04-01",
                "DAY 2026-04-02",
                "DAY 2026-04-03",
                "DAY 2026-04-04",
                "DAY 2026-04-05"
            ]
        );
        assert_eq!(
            keys(day(2026, 2, 1), day(2026, 2, 28), false),
            ["MONTH 2026-02"]
        );
    }

    #[test]
    fn districts_and_the_city_answer_from_united_rows_unless_grouped_by_town() {
        use Dimension::{District, Month, TeamKind, Town};
        assert_eq!(span_for(AreaLevel::City, &[]), CITY);
        assert_eq!(span_for(AreaLevel::City, &[Month, TeamKind]), CITY);
        assert_eq!(span_for(AreaLevel::City, &[District]), DISTRICT);
        assert_eq!(span_for(AreaLevel::City, &[District, Town]), PLACE);
        assert_eq!(span_for(AreaLevel::District, &[Month]), DISTRICT);
        assert_eq!(
            span_for(AreaLevel::District, &[District, TeamKind]),
            DISTRICT
        );
        assert_eq!(span_for(AreaLevel::District, &[Town]), PLACE);
        assert_eq!(span_for(AreaLevel::Town, &[Month]), PLACE);
    }
}
