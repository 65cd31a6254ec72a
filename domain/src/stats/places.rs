//! Statistics per place, team kind and period: what answers `participationStats` in a few rows.
//!
//! For each place (district, town), team kind and day, ISO week, month and year, `stats_place_periods`
//! holds the rollup sums of the place's teams of that kind, and the set of volunteers with
//! approved service there as a Roaring bitmap (registrations: rows with an empty kind). A
//! question grouped by district, town, team kind and/or month splits its range into whole years,
//! whole months, whole ISO weeks (grouped by month: no years, no weeks across two months) and
//! single days,
//! and adds the rows up and unites their sets: a city-wide three years is a few years, months
//! and weeks and at most a dozen days, about 230 rows each, whatever the number of teams,
//! records or volunteer-days. Unions of sets are exact, so distinct counts are too.
//!
//! The statistics worker keeps the rows: recomputing a (team, day) or (area, day) marks its
//! place's day (`PLACE`); that day's rows are rebuilt from its daily rollups and mark the week
//! (`PLACEW`) and the month (`PLACEM`), whose rows are rebuilt from their daily rollups (one
//! place: an index range), and the year's as the sum and union of its months.

use std::collections::HashMap;

use chrono::{Datelike as _, Days, Months, NaiveDate};
use roaring::RoaringTreemap;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};

use super::Figures;
use crate::areas::{AreaLevel, AreaTree};
use crate::entity::{stats_area_days, stats_place_periods, stats_team_days, stats_volunteer_days};
use crate::error::{Error, Result};
use crate::ids::AreaId;
use crate::tallies::Period;

/// Marks (in `stats_dirty`) for a place's day, its ISO week, and its month and year.
pub(crate) const PLACE_DAY: &str = "PLACE";
pub(crate) const PLACE_WEEK: &str = "PLACEW";
pub(crate) const PLACE_MONTH: &str = "PLACEM";

/// What a row covers (`span`): a place's own teams, a district's places, the whole city.
pub(super) const PLACE: &str = "PLACE";
pub(super) const DISTRICT: &str = "DISTRICT";
pub(super) const CITY: &str = "CITY";
/// The team kind of a united row's cell for every kind and the registrations together.
pub(super) const ALL_KINDS: &str = "*";

pub(super) const DAY: &str = "DAY";
pub(super) const WEEK: &str = "WEEK";
pub(super) const MONTH: &str = "MONTH";
pub(super) const YEAR: &str = "YEAR";

/// The id a (district, town) pair is marked under: the town, else the district, else 0 (teams
/// of the whole city).
pub(crate) fn place_id(district: i64, town: i64) -> i64 {
    if town != 0 { town } else { district }
}

pub(super) fn place_of(tree: &AreaTree, place: i64) -> (i64, i64) {
    match tree
        .get(AreaId(place))
        .map(|area| (area.level, area.parent_id))
    {
        Some((AreaLevel::Town, parent)) => (parent.map_or(0, |p| p.0), place),
        Some((AreaLevel::District, _)) => (place, 0),
        _ => (0, 0),
    }
}

pub(super) fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

pub(super) fn week_key(day: NaiveDate) -> String {
    Period::Week.key(day)
}

pub(super) fn month_key(day: NaiveDate) -> String {
    Period::Month.key(day)
}

/// The Monday starting the ISO week of `day`.
pub(crate) fn week_start(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        .unwrap_or(day)
}

pub(super) fn year_key(day: NaiveDate) -> String {
    day.year().to_string()
}

fn encode(set: &RoaringTreemap) -> Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(set.serialized_size());
    set.serialize_into(&mut bytes).map_err(Error::internal)?;
    Ok(bytes)
}

pub(super) fn decode(bytes: &[u8]) -> Result<RoaringTreemap> {
    RoaringTreemap::deserialize_from(bytes).map_err(Error::internal)
}

/// Cells by team kind.
pub(super) type Cells = HashMap<String, Cell>;

/// One place's figures for one team kind in one period.
#[derive(Default)]
pub(super) struct Cell {
    pub(super) figures: Figures,
    pub(super) volunteers: RoaringTreemap,
}

impl Cell {
    pub(super) fn add(&mut self, other: &Figures, volunteers: &RoaringTreemap) {
        add_sums(&mut self.figures, other);
        self.volunteers |= volunteers;
    }
}

/// Adds `more`'s sums into `into` (active volunteers are counted from united sets, not added).
pub(super) fn add_sums(into: &mut Figures, more: &Figures) {
    into.events_held += more.events_held;
    into.sign_ups += more.sign_ups;
    into.attended += more.attended;
    into.no_shows += more.no_shows;
    into.approved_minutes += more.approved_minutes;
    into.new_volunteers += more.new_volunteers;
}

pub(super) fn figures_of(row: &stats_place_periods::Model) -> Figures {
    Figures {
        active_volunteers: 0,
        new_volunteers: row.new_volunteers,
        events_held: row.events_held,
        sign_ups: row.sign_ups,
        attended: row.attended,
        no_shows: row.no_shows,
        approved_minutes: row.approved_minutes,
    }
}

/// Replaces the rows of one span, place and period with `cells` (by team kind).
pub(super) async fn store(
    conn: &impl ConnectionTrait,
    span: &str,
    at: (i64, i64),
    period: &str,
    key: &str,
    cells: HashMap<String, Cell>,
) -> Result<()> {
    stats_place_periods::Entity::delete_many()
        .filter(stats_place_periods::Column::Span.eq(span))
        .filter(stats_place_periods::Column::Period.eq(period))
        .filter(stats_place_periods::Column::PeriodKey.eq(key))
        .filter(stats_place_periods::Column::DistrictId.eq(at.0))
        .filter(stats_place_periods::Column::TownId.eq(at.1))
        .exec(conn)
        .await?;
    let rows = rows_of(span, at, period, key, cells)?;
    if !rows.is_empty() {
        stats_place_periods::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The rows of one span, place and period, one per team kind of `cells`, as they are stored.
pub(super) fn rows_of(
    span: &str,
    (district, town): (i64, i64),
    period: &str,
    key: &str,
    cells: HashMap<String, Cell>,
) -> Result<Vec<stats_place_periods::ActiveModel>> {
    let mut rows = Vec::with_capacity(cells.len());
    for (kind, cell) in cells {
        let f = cell.figures;
        rows.push(stats_place_periods::ActiveModel {
            span: Set(span.to_owned()),
            district_id: Set(district),
            town_id: Set(town),
            team_kind: Set(kind),
            period: Set(period.to_owned()),
            period_key: Set(key.to_owned()),
            events_held: Set(f.events_held),
            sign_ups: Set(f.sign_ups),
            attended: Set(f.attended),
            no_shows: Set(f.no_shows),
            approved_minutes: Set(f.approved_minutes),
            new_volunteers: Set(f.new_volunteers),
            volunteers: Set(encode(&cell.volunteers)?),
            ..Default::default()
        });
    }
    Ok(rows)
}

/// One place's figures by team kind over `first..=last`, from the daily rollups.
async fn cells_from_days(
    conn: &impl ConnectionTrait,
    (district, town): (i64, i64),
    first: NaiveDate,
    last: NaiveDate,
) -> Result<HashMap<String, Cell>> {
    let mut cells: HashMap<String, Cell> = HashMap::new();
    let teams = stats_team_days::Entity::find()
        .filter(stats_team_days::Column::DistrictId.eq(district))
        .filter(stats_team_days::Column::TownId.eq(town))
        .filter(stats_team_days::Column::Day.between(first, last))
        .all(conn)
        .await?;
    for row in teams {
        let f = &mut cells.entry(row.team_kind).or_default().figures;
        f.events_held += i64::from(row.events_held);
        f.sign_ups += i64::from(row.sign_ups);
        f.attended += i64::from(row.attended);
        f.no_shows += i64::from(row.no_shows);
        f.approved_minutes += row.approved_minutes;
    }
    let active: Vec<(String, i64)> = stats_volunteer_days::Entity::find()
        .select_only()
        .column(stats_volunteer_days::Column::TeamKind)
        .column(stats_volunteer_days::Column::VolunteerId)
        .filter(stats_volunteer_days::Column::DistrictId.eq(district))
        .filter(stats_volunteer_days::Column::TownId.eq(town))
        .filter(stats_volunteer_days::Column::Day.between(first, last))
        .into_tuple()
        .all(conn)
        .await?;
    for (kind, volunteer) in active {
        let id = u64::try_from(volunteer).map_err(Error::internal)?;
        cells.entry(kind).or_default().volunteers.insert(id);
    }
    let joined: Vec<i32> = stats_area_days::Entity::find()
        .select_only()
        .column(stats_area_days::Column::NewVolunteers)
        .filter(stats_area_days::Column::DistrictId.eq(district))
        .filter(stats_area_days::Column::TownId.eq(town))
        .filter(stats_area_days::Column::Day.between(first, last))
        .into_tuple()
        .all(conn)
        .await?;
    if !joined.is_empty() {
        cells
            .entry(String::new())
            .or_default()
            .figures
            .new_volunteers = joined.into_iter().map(i64::from).sum();
    }
    Ok(cells)
}

/// Rebuilds one place's rows of `day`.
pub(crate) async fn rebuild_day(
    conn: &impl ConnectionTrait,
    tree: &AreaTree,
    place: i64,
    day: NaiveDate,
) -> Result<()> {
    let at = place_of(tree, place);
    let cells = cells_from_days(conn, at, day, day).await?;
    store(conn, PLACE, at, DAY, &day_key(day), cells).await
}

/// Rebuilds one place's rows of the ISO week starting `monday`.
pub(crate) async fn rebuild_week(
    conn: &impl ConnectionTrait,
    tree: &AreaTree,
    place: i64,
    monday: NaiveDate,
) -> Result<()> {
    let at = place_of(tree, place);
    let sunday = monday
        .checked_add_days(Days::new(6))
        .ok_or_else(|| Error::internal(format!("no week starts on {monday}")))?;
    let cells = cells_from_days(conn, at, monday, sunday).await?;
    store(conn, PLACE, at, WEEK, &week_key(monday), cells).await
}

/// Rebuilds one place's rows of the month starting `month`, and of its year (the sum and union
/// of the year's months).
pub(crate) async fn rebuild_month(
    conn: &impl ConnectionTrait,
    tree: &AreaTree,
    place: i64,
    month: NaiveDate,
) -> Result<()> {
    let at = place_of(tree, place);
    let last = month
        .checked_add_months(Months::new(1))
        .and_then(|next| next.checked_sub_days(Days::new(1)))
        .ok_or_else(|| Error::internal(format!("no month starts on {month}")))?;
    let cells = cells_from_days(conn, at, month, last).await?;
    store(conn, PLACE, at, MONTH, &month_key(month), cells).await?;
    let months = stats_place_periods::Entity::find()
        .filter(stats_place_periods::Column::Span.eq(PLACE))
        .filter(stats_place_periods::Column::Period.eq(MONTH))
        .filter(stats_place_periods::Column::PeriodKey.starts_with(format!("{}-", year_key(month))))
        .filter(stats_place_periods::Column::DistrictId.eq(at.0))
        .filter(stats_place_periods::Column::TownId.eq(at.1))
        .all(conn)
        .await?;
    let mut year: HashMap<String, Cell> = HashMap::new();
    for row in months {
        let volunteers = decode(&row.volunteers)?;
        let figures = figures_of(&row);
        year.entry(row.team_kind)
            .or_default()
            .add(&figures, &volunteers);
    }
    store(conn, PLACE, at, YEAR, &year_key(month), year).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_survive_encoding() {
        let set: RoaringTreemap = [1u64, 5, 1_680_000, 5_000_000_000].into_iter().collect();
        assert_eq!(decode(&encode(&set).unwrap()).unwrap(), set);
    }
}
