//! Every place's rows rebuilt at once from the daily rollups: the rows the statistics worker's
//! `PLACE`, `PLACEW` and `PLACEM` marks build one place and period at a time (`places`), with
//! the same cells, keys and encoded sets, but each place's rollups read once. For a database
//! loaded in bulk (`feihong seed`), where marking every place's day would have the worker
//! rebuild each week and month about once per day in it.
//!
//! A day's set is built by inserting its volunteers, a week's and a month's as the union of its
//! days' sets, a year's as the union of its months'. The worker inserts the week's and month's
//! volunteers one by one instead: the sets are the same, and so are their encodings (a Roaring
//! container's form depends only on its contents after an insert or a union).

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike as _, NaiveDate};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::places::{self, CITY, Cell, DISTRICT, PLACE};
use super::spans::{self, Periods};
use crate::areas::AreaTree;
use crate::deps::Deps;
use crate::entity::{
    stats_area_days, stats_dirty, stats_place_periods, stats_team_days, stats_volunteer_days,
};
use crate::error::Result;

/// Rows per insert statement (12 values each).
const INSERT_BATCH: usize = 2_000;

/// One place's day cells, by (day, index into `kinds`).
#[derive(Default)]
struct PlaceDays {
    kinds: Vec<String>,
    days: HashMap<(NaiveDate, usize), Cell>,
}

impl PlaceDays {
    fn cell(&mut self, day: NaiveDate, kind: &str) -> &mut Cell {
        let index = match self.kinds.iter().position(|known| known == kind) {
            Some(index) => index,
            None => {
                self.kinds.push(kind.to_owned());
                self.kinds.len() - 1
            }
        };
        self.days.entry((day, index)).or_default()
    }
}

/// Replaces every place's rows, and the rows united over each district and the city, with rows
/// rebuilt from the daily rollups, and clears the marks they cover (one transaction); returns how
/// many rows it wrote. Places come in district order, so one district's cells are held at a time.
pub(super) async fn rebuild_all(deps: &Deps) -> Result<u64> {
    let txn = deps.store.write().await?;
    let conn = &*txn;
    let mut marks = vec![places::PLACE_DAY, places::PLACE_WEEK, places::PLACE_MONTH];
    marks.extend(spans::MARKS);
    stats_dirty::Entity::delete_many()
        .filter(stats_dirty::Column::Kind.is_in(marks))
        .exec(conn)
        .await?;
    stats_place_periods::Entity::delete_many()
        .exec(conn)
        .await?;
    let mut written = 0;
    let (mut district, mut city) = (None, Periods::new());
    let mut in_district = Periods::new();
    for at in every_place(conn, &deps.areas).await? {
        if let Some(done) = district.filter(|&done| done != at.0) {
            let united = std::mem::take(&mut in_district);
            written += write_united(conn, DISTRICT, (done, 0), united, Some(&mut city)).await?;
        }
        district = Some(at.0);
        let mut rows = Vec::new();
        for ((period, key), cells) in periods_of(read_days(conn, at).await?) {
            spans::merge(
                in_district.entry((period, key.clone())).or_default(),
                &cells,
            );
            rows.extend(places::rows_of(PLACE, at, period, &key, cells)?);
        }
        written += insert(conn, rows).await?;
    }
    if let Some(done) = district {
        written += write_united(conn, DISTRICT, (done, 0), in_district, Some(&mut city)).await?;
    }
    written += write_united(conn, CITY, (0, 0), city, None).await?;
    txn.commit().await?;
    Ok(written)
}

/// Writes a span's united rows (with their all-kinds cells), adding its cells by kind into
/// `city` first when given.
async fn write_united(
    conn: &impl ConnectionTrait,
    span: &str,
    at: (i64, i64),
    periods: Periods,
    mut city: Option<&mut Periods>,
) -> Result<u64> {
    let mut rows = Vec::new();
    for ((period, key), cells) in periods {
        if let Some(city) = city.as_deref_mut() {
            spans::merge(city.entry((period, key.clone())).or_default(), &cells);
        }
        let cells = spans::with_all_kinds(cells);
        rows.extend(places::rows_of(span, at, period, &key, cells)?);
    }
    insert(conn, rows).await
}

/// Inserts `rows` in batches; returns how many.
async fn insert(
    conn: &impl ConnectionTrait,
    mut rows: Vec<stats_place_periods::ActiveModel>,
) -> Result<u64> {
    let written = rows.len() as u64;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().saturating_sub(INSERT_BATCH));
        stats_place_periods::Entity::insert_many(rest)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(written)
}

/// Every (district, town) with daily rollups, as the worker files it.
async fn every_place(conn: &impl ConnectionTrait, tree: &AreaTree) -> Result<BTreeSet<(i64, i64)>> {
    let mut pairs: Vec<(i64, i64)> = stats_team_days::Entity::find()
        .select_only()
        .columns([
            stats_team_days::Column::DistrictId,
            stats_team_days::Column::TownId,
        ])
        .distinct()
        .into_tuple()
        .all(conn)
        .await?;
    pairs.extend(
        stats_volunteer_days::Entity::find()
            .select_only()
            .columns([
                stats_volunteer_days::Column::DistrictId,
                stats_volunteer_days::Column::TownId,
            ])
            .distinct()
            .into_tuple::<(i64, i64)>()
            .all(conn)
            .await?,
    );
    pairs.extend(
        stats_area_days::Entity::find()
            .select_only()
            .columns([
                stats_area_days::Column::DistrictId,
                stats_area_days::Column::TownId,
            ])
            .distinct()
            .into_tuple::<(i64, i64)>()
            .all(conn)
            .await?,
    );
    Ok(pairs
        .into_iter()
        .map(|(district, town)| places::place_of(tree, places::place_id(district, town)))
        .collect())
}

/// One place's figures and sets by day and team kind, from its daily rollups.
async fn read_days(conn: &impl ConnectionTrait, (district, town): (i64, i64)) -> Result<PlaceDays> {
    let mut place = PlaceDays::default();
    let teams: Vec<(NaiveDate, String, i32, i32, i32, i32, i64)> = stats_team_days::Entity::find()
        .select_only()
        .columns([
            stats_team_days::Column::Day,
            stats_team_days::Column::TeamKind,
            stats_team_days::Column::EventsHeld,
            stats_team_days::Column::SignUps,
            stats_team_days::Column::Attended,
            stats_team_days::Column::NoShows,
            stats_team_days::Column::ApprovedMinutes,
        ])
        .filter(stats_team_days::Column::DistrictId.eq(district))
        .filter(stats_team_days::Column::TownId.eq(town))
        .into_tuple()
        .all(conn)
        .await?;
    for (day, kind, events_held, sign_ups, attended, no_shows, minutes) in teams {
        let f = &mut place.cell(day, &kind).figures;
        f.events_held += i64::from(events_held);
        f.sign_ups += i64::from(sign_ups);
        f.attended += i64::from(attended);
        f.no_shows += i64::from(no_shows);
        f.approved_minutes += minutes;
    }
    let active: Vec<(NaiveDate, String, i64)> = stats_volunteer_days::Entity::find()
        .select_only()
        .columns([
            stats_volunteer_days::Column::Day,
            stats_volunteer_days::Column::TeamKind,
            stats_volunteer_days::Column::VolunteerId,
        ])
        .filter(stats_volunteer_days::Column::DistrictId.eq(district))
        .filter(stats_volunteer_days::Column::TownId.eq(town))
        .into_tuple()
        .all(conn)
        .await?;
    for (day, kind, volunteer) in active {
        let id = u64::try_from(volunteer).map_err(crate::error::Error::internal)?;
        place.cell(day, &kind).volunteers.insert(id);
    }
    let joined: Vec<(NaiveDate, i32)> = stats_area_days::Entity::find()
        .select_only()
        .columns([
            stats_area_days::Column::Day,
            stats_area_days::Column::NewVolunteers,
        ])
        .filter(stats_area_days::Column::DistrictId.eq(district))
        .filter(stats_area_days::Column::TownId.eq(town))
        .into_tuple()
        .all(conn)
        .await?;
    for (day, count) in joined {
        place.cell(day, "").figures.new_volunteers += i64::from(count);
    }
    Ok(place)
}

/// A place's cells of every day, ISO week, month and year.
fn periods_of(place: PlaceDays) -> Periods {
    let mut out = Periods::new();
    let mut months: HashMap<(NaiveDate, usize), Cell> = HashMap::new();
    for ((day, kind), cell) in place.days {
        let name = &place.kinds[kind];
        let monday = places::week_start(day);
        let first = day.with_day(1).unwrap_or(day);
        unite(
            &mut out,
            (places::WEEK, places::week_key(monday)),
            name,
            &cell,
        );
        months
            .entry((first, kind))
            .or_default()
            .add(&cell.figures, &cell.volunteers);
        out.entry((places::DAY, places::day_key(day)))
            .or_default()
            .insert(name.clone(), cell);
    }
    for ((first, kind), cell) in months {
        let name = &place.kinds[kind];
        unite(
            &mut out,
            (places::YEAR, places::year_key(first)),
            name,
            &cell,
        );
        out.entry((places::MONTH, places::month_key(first)))
            .or_default()
            .insert(name.clone(), cell);
    }
    out
}

/// Adds `cell` into `periods`' cell of `key` and team kind `kind`.
fn unite(periods: &mut Periods, key: (&'static str, String), kind: &str, cell: &Cell) {
    periods
        .entry(key)
        .or_default()
        .entry(kind.to_owned())
        .or_default()
        .add(&cell.figures, &cell.volunteers);
}
