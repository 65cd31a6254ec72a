//! Keeping the rollups up to date. Every write that changes what a (team, day) or (area, day)
//! counts marks it dirty in the same transaction; a worker recomputes each dirty rollup from
//! its raw rows (one team's one day: a handful of rows) and clears the mark unless it was
//! marked again meanwhile. A rollup is therefore always a function of the raw rows, with no
//! running deltas to drift. Recomputed days in turn mark the place rows built from them
//! (`places`).

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

use crate::areas::{AreaLevel, AreaTree};
use crate::deps::Deps;
use crate::entity::{
    attendances, events, service_records, sign_ups, stats_area_days, stats_dirty, stats_team_days,
    stats_volunteer_days, teams, volunteers,
};
use crate::error::{Error, Result};
use crate::ids::AreaId;
use crate::kinds::{EventStatus, RecordStatus, SignUpStatus};
use crate::store::{DirtyDay, WriteTxn};
use crate::tallies::Period;
use crate::workers;

use super::{places, spans, starts};

const TEAM_DAY: &str = "TEAM";
const AREA_DAY: &str = "AREA";

/// The local day of an instant in the city's time zone.
pub fn local_day(at: DateTime<Utc>, timezone: Tz) -> NaiveDate {
    at.with_timezone(&timezone).date_naive()
}

/// The UTC instants bounding a local day; an error for the last day chrono knows (a mark that
/// can only come from a forged row: every date a client sends is bounded first).
fn day_bounds(day: NaiveDate, timezone: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|midnight| timezone.from_local_datetime(&midnight).earliest())
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()))
    };
    let next = day
        .succ_opt()
        .ok_or_else(|| Error::internal(format!("no day follows {day}")))?;
    Ok((start(day), start(next)))
}

/// Where an area sits for grouping: (district, town); 0 where it has none.
pub fn placement(tree: &AreaTree, area: AreaId) -> (i64, i64) {
    let Some(node) = tree.get(area) else {
        return (0, 0);
    };
    let parent = node.parent_id;
    match node.level {
        AreaLevel::City => (0, 0),
        AreaLevel::District => (area.0, 0),
        AreaLevel::Town => (parent.map_or(0, |p| p.0), area.0),
        AreaLevel::Community => {
            let district = parent
                .and_then(|p| tree.get(p))
                .and_then(|town| town.parent_id);
            (district.map_or(0, |d| d.0), parent.map_or(0, |p| p.0))
        }
    }
}

/// Marks the team's statistics of the local day containing `at` for recomputation.
pub(crate) fn mark_team_day(txn: &WriteTxn<'_>, timezone: Tz, team: i64, at: DateTime<Utc>) {
    mark_team_date(txn, team, local_day(at, timezone));
}

pub(crate) fn mark_team_date(txn: &WriteTxn<'_>, team: i64, day: NaiveDate) {
    txn.mark_dirty(DirtyDay {
        kind: TEAM_DAY,
        ref_id: team,
        day,
    });
}

/// Marks the area's statistics of the local day containing `at` (a registration) for
/// recomputation.
pub(crate) fn mark_area_day(txn: &WriteTxn<'_>, timezone: Tz, area: i64, at: DateTime<Utc>) {
    txn.mark_dirty(DirtyDay {
        kind: AREA_DAY,
        ref_id: area,
        day: local_day(at, timezone),
    });
}

/// Every day a team has statistics for, to recompute after the team changed kind.
pub(crate) async fn mark_all_team_days(txn: &WriteTxn<'_>, team: i64) -> Result<()> {
    let days: Vec<NaiveDate> = stats_team_days::Entity::find()
        .select_only()
        .column(stats_team_days::Column::Day)
        .filter(stats_team_days::Column::TeamId.eq(team))
        .into_tuple()
        .all(&**txn)
        .await?;
    for day in days {
        mark_team_date(txn, team, day);
    }
    Ok(())
}

fn keys(day: NaiveDate) -> (String, String) {
    (Period::Week.key(day), Period::Month.key(day))
}

/// Where a team's day is filed, if it has a rollup row: (district, town).
async fn team_day_place(
    conn: &impl ConnectionTrait,
    team_id: i64,
    day: NaiveDate,
) -> Result<Option<(i64, i64)>> {
    Ok(stats_team_days::Entity::find()
        .select_only()
        .column(stats_team_days::Column::DistrictId)
        .column(stats_team_days::Column::TownId)
        .filter(stats_team_days::Column::TeamId.eq(team_id))
        .filter(stats_team_days::Column::Day.eq(day))
        .into_tuple()
        .one(conn)
        .await?)
}

/// Marks a place's day for its `stats_place_periods` rows.
fn mark_place_day(txn: &WriteTxn<'_>, (district, town): (i64, i64), day: NaiveDate) {
    txn.mark_dirty(DirtyDay {
        kind: places::PLACE_DAY,
        ref_id: places::place_id(district, town),
        day,
    });
}

/// Recomputes a team's day, and marks that day of its place (before and after, should the team
/// have moved) for the place rows.
async fn recompute_team_day(
    txn: &WriteTxn<'_>,
    deps: &Deps,
    team_id: i64,
    day: NaiveDate,
) -> Result<()> {
    let before = team_day_place(&**txn, team_id, day).await?;
    let now = Utc::now();
    write_team_day(&**txn, deps, team_id, day, now).await?;
    let (_, day_end) = day_bounds(day, deps.timezone)?;
    starts::arm_next_start(&**txn, team_id, day, day_end, now).await?;
    let after = team_day_place(&**txn, team_id, day).await?;
    for place in [before, after].into_iter().flatten() {
        mark_place_day(txn, place, day);
    }
    Ok(())
}

/// What a team's day adds up to, from its raw rows.
#[derive(Debug, PartialEq, Eq)]
struct TeamDay {
    events_held: i32,
    sign_ups: i32,
    attended: i32,
    no_shows: i32,
    approved_minutes: i64,
    /// The volunteers credited approved minutes that day, each once, in order.
    volunteers: Vec<i64>,
}

/// Adds up a team's day: how many events it `held`, their sign-ups (confirmed, waitlisted or
/// no-show), no-shows and attendances, and the (volunteer, minutes) of its approved records.
/// None when it neither held an event nor had minutes approved: a day without a rollup row.
fn team_day(
    held: usize,
    sign_ups: u64,
    no_shows: u64,
    attended: u64,
    served: &[(i64, i32)],
) -> Option<TeamDay> {
    if held == 0 && served.is_empty() {
        return None;
    }
    let mut volunteers: Vec<i64> = served
        .iter()
        .filter(|(_, minutes)| *minutes > 0)
        .map(|(volunteer, _)| *volunteer)
        .collect();
    volunteers.sort_unstable();
    volunteers.dedup();
    Some(TeamDay {
        events_held: held as i32,
        sign_ups: sign_ups as i32,
        attended: attended as i32,
        no_shows: no_shows as i32,
        approved_minutes: served.iter().map(|(_, m)| i64::from(*m)).sum(),
        volunteers,
    })
}

/// Rewrites a team's day from its raw rows: its `stats_team_days` row and one
/// `stats_volunteer_days` row per volunteer credited that day.
async fn write_team_day(
    conn: &impl ConnectionTrait,
    deps: &Deps,
    team_id: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    stats_team_days::Entity::delete_many()
        .filter(stats_team_days::Column::TeamId.eq(team_id))
        .filter(stats_team_days::Column::Day.eq(day))
        .exec(conn)
        .await?;
    stats_volunteer_days::Entity::delete_many()
        .filter(stats_volunteer_days::Column::TeamId.eq(team_id))
        .filter(stats_volunteer_days::Column::Day.eq(day))
        .exec(conn)
        .await?;
    let Some(team) = teams::Entity::find_by_id(team_id).one(conn).await? else {
        return Ok(());
    };
    match read_team_day(conn, deps.timezone, team_id, day, now).await? {
        Some(figures) => insert_team_day(conn, &deps.areas, &team, day, figures).await,
        None => Ok(()),
    }
}

/// Reads a team's day from the raw rows: events held (published or completed, started by
/// `now`), their sign-ups and attendance, approved minutes.
async fn read_team_day(
    conn: &impl ConnectionTrait,
    timezone: Tz,
    team_id: i64,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<TeamDay>> {
    let (from, to) = day_bounds(day, timezone)?;
    let held: Vec<i64> = events::Entity::find()
        .select_only()
        .column(events::Column::Id)
        .filter(events::Column::TeamId.eq(team_id))
        .filter(events::Column::StartsAt.gte(from))
        .filter(events::Column::StartsAt.lt(to))
        .filter(events::Column::StartsAt.lte(now))
        .filter(events::Column::Status.is_in([EventStatus::Published, EventStatus::Completed]))
        .into_tuple()
        .all(conn)
        .await?;
    let of_held = || sign_ups::Column::EventId.is_in(held.iter().copied());
    let sign_up_count = sign_ups::Entity::find()
        .filter(of_held())
        .filter(sign_ups::Column::Status.is_in([
            SignUpStatus::Confirmed,
            SignUpStatus::Waitlisted,
            SignUpStatus::NoShow,
        ]))
        .count(conn)
        .await?;
    let no_shows = sign_ups::Entity::find()
        .filter(of_held())
        .filter(sign_ups::Column::Status.eq(SignUpStatus::NoShow))
        .count(conn)
        .await?;
    let attended = attendances::Entity::find()
        .filter(attendances::Column::EventId.is_in(held.iter().copied()))
        .count(conn)
        .await?;
    let served: Vec<(i64, i32)> = service_records::Entity::find()
        .select_only()
        .column(service_records::Column::VolunteerId)
        .column(service_records::Column::Minutes)
        .filter(service_records::Column::TeamId.eq(team_id))
        .filter(service_records::Column::ServiceDate.eq(day))
        .filter(service_records::Column::Status.eq(RecordStatus::Approved))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(team_day(
        held.len(),
        sign_up_count,
        no_shows,
        attended,
        &served,
    ))
}

async fn insert_team_day(
    conn: &impl ConnectionTrait,
    areas: &AreaTree,
    team: &teams::Model,
    day: NaiveDate,
    figures: TeamDay,
) -> Result<()> {
    let (district, town) = placement(areas, AreaId(team.area_id));
    let (week, month) = keys(day);
    let kind = <crate::kinds::TeamKind as sea_orm::ActiveEnum>::to_value(&team.kind);
    stats_team_days::Entity::insert(stats_team_days::ActiveModel {
        day: Set(day),
        week_key: Set(week.clone()),
        month_key: Set(month.clone()),
        area_id: Set(team.area_id),
        district_id: Set(district),
        town_id: Set(town),
        team_id: Set(team.id),
        team_kind: Set(kind.clone()),
        events_held: Set(figures.events_held),
        sign_ups: Set(figures.sign_ups),
        attended: Set(figures.attended),
        no_shows: Set(figures.no_shows),
        approved_minutes: Set(figures.approved_minutes),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    let rows: Vec<_> = figures
        .volunteers
        .into_iter()
        .map(|volunteer| stats_volunteer_days::ActiveModel {
            day: Set(day),
            week_key: Set(week.clone()),
            month_key: Set(month.clone()),
            area_id: Set(team.area_id),
            district_id: Set(district),
            town_id: Set(town),
            team_id: Set(team.id),
            volunteer_id: Set(volunteer),
            team_kind: Set(kind.clone()),
            ..Default::default()
        })
        .collect();
    if !rows.is_empty() {
        stats_volunteer_days::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

async fn recompute_area_day(
    txn: &WriteTxn<'_>,
    deps: &Deps,
    area_id: i64,
    day: NaiveDate,
) -> Result<()> {
    mark_place_day(txn, placement(&deps.areas, AreaId(area_id)), day);
    let conn = &**txn;
    stats_area_days::Entity::delete_many()
        .filter(stats_area_days::Column::AreaId.eq(area_id))
        .filter(stats_area_days::Column::Day.eq(day))
        .exec(conn)
        .await?;
    let (from, to) = day_bounds(day, deps.timezone)?;
    let joined = volunteers::Entity::find()
        .filter(volunteers::Column::AreaId.eq(area_id))
        .filter(volunteers::Column::CreatedAt.gte(from))
        .filter(volunteers::Column::CreatedAt.lt(to))
        .count(conn)
        .await?;
    if joined == 0 {
        return Ok(());
    }
    let (district, town) = placement(&deps.areas, AreaId(area_id));
    let (week, month) = keys(day);
    stats_area_days::Entity::insert(stats_area_days::ActiveModel {
        day: Set(day),
        week_key: Set(week),
        month_key: Set(month),
        area_id: Set(area_id),
        district_id: Set(district),
        town_id: Set(town),
        new_volunteers: Set(joined as i32),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Recomputes up to 500 dirty rollups whose time has come; returns how many it tried. Each mark
/// is recomputed on its own: one that fails (an error or a panic) is logged and set aside with a
/// growing delay (`workers::retry_delay`) while the others go on. Only the database being away
/// stops the round.
pub async fn refresh(deps: &Deps) -> Result<usize> {
    let now = Utc::now();
    let dirty = stats_dirty::Entity::find()
        .filter(
            Condition::any()
                .add(stats_dirty::Column::RetryAt.is_null())
                .add(stats_dirty::Column::RetryAt.lte(now)),
        )
        .order_by_asc(stats_dirty::Column::Id)
        .limit(500)
        .all(&deps.store.db)
        .await?;
    for mark in &dirty {
        match workers::isolated(recompute_mark(deps, mark)).await {
            Ok(()) => {}
            Err(error) if workers::is_outage(&error) => return Err(error),
            Err(error) => set_aside(deps, mark, &error).await?,
        }
    }
    Ok(dirty.len())
}

/// Leaves a failed mark alone until its retry time, which grows with each failure.
async fn set_aside(deps: &Deps, mark: &stats_dirty::Model, error: &Error) -> Result<()> {
    let attempts = u32::try_from(mark.attempts).unwrap_or(0).saturating_add(1);
    let delay = workers::retry_delay(attempts);
    let retry_at = Utc::now() + Duration::from_std(delay).unwrap_or(Duration::minutes(15));
    tracing::warn!(
        kind = %mark.kind, ref_id = mark.ref_id, day = %mark.day, attempts, %error,
        retry_in_s = delay.as_secs(), "statistics mark failed; set aside"
    );
    stats_dirty::Entity::update_many()
        .col_expr(
            stats_dirty::Column::Attempts,
            Expr::col(stats_dirty::Column::Attempts).add(1),
        )
        .col_expr(stats_dirty::Column::RetryAt, Expr::value(retry_at))
        .filter(stats_dirty::Column::Id.eq(mark.id))
        .exec(&deps.store.db)
        .await?;
    Ok(())
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Recomputes one mark's rollup and clears the mark, in one transaction.
async fn recompute_mark(deps: &Deps, mark: &stats_dirty::Model) -> Result<()> {
    let txn = deps.store.write().await?;
    // Hold the mark while recomputing. A write that marks it again waits, and lands after this
    // recompute read the rows, so the mark stays for another round; another node's worker finds
    // it changed or gone and skips it.
    let held = stats_dirty::Entity::update_many()
        .col_expr(
            stats_dirty::Column::Generation,
            Expr::col(stats_dirty::Column::Generation),
        )
        .filter(stats_dirty::Column::Id.eq(mark.id))
        .filter(stats_dirty::Column::Generation.eq(mark.generation))
        .exec(&*txn)
        .await?;
    if held.rows_affected != 1 {
        return Ok(());
    }
    match mark.kind.as_str() {
        TEAM_DAY | starts::TEAM_DAY_AT_START => {
            recompute_team_day(&txn, deps, mark.ref_id, mark.day).await?
        }
        // A place's day now, its week and month (and year) through marks of their own: however
        // many days of a month change, its month is rebuilt about once per round.
        places::PLACE_DAY => {
            places::rebuild_day(&*txn, &deps.areas, mark.ref_id, mark.day).await?;
            let district = places::place_of(&deps.areas, mark.ref_id).0;
            for (kind, ref_id, day) in [
                (
                    places::PLACE_WEEK,
                    mark.ref_id,
                    places::week_start(mark.day),
                ),
                (places::PLACE_MONTH, mark.ref_id, first_of_month(mark.day)),
                (spans::DISTRICT_DAY, district, mark.day),
            ] {
                txn.mark_dirty(DirtyDay { kind, ref_id, day });
            }
        }
        places::PLACE_WEEK => {
            places::rebuild_week(&*txn, &deps.areas, mark.ref_id, mark.day).await?;
            txn.mark_dirty(DirtyDay {
                kind: spans::DISTRICT_WEEK,
                ref_id: places::place_of(&deps.areas, mark.ref_id).0,
                day: mark.day,
            });
        }
        places::PLACE_MONTH => {
            places::rebuild_month(&*txn, &deps.areas, mark.ref_id, mark.day).await?;
            txn.mark_dirty(DirtyDay {
                kind: spans::DISTRICT_MONTH,
                ref_id: places::place_of(&deps.areas, mark.ref_id).0,
                day: mark.day,
            });
        }
        kind if spans::MARKS.contains(&kind) => spans::recompute(&txn, mark).await?,
        _ => recompute_area_day(&txn, deps, mark.ref_id, mark.day).await?,
    }
    stats_dirty::Entity::delete_many()
        .filter(stats_dirty::Column::Id.eq(mark.id))
        .filter(stats_dirty::Column::Generation.eq(mark.generation))
        .exec(&*txn)
        .await?;
    txn.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_without_events_or_approved_minutes_has_no_row() {
        assert_eq!(team_day(0, 0, 0, 0, &[]), None);
    }

    #[test]
    fn a_team_s_day_sums_its_minutes_and_lists_each_credited_volunteer_once() {
        let served = [(7, 60), (3, 30), (7, 45)];
        assert_eq!(
            team_day(0, 0, 0, 0, &served),
            Some(TeamDay {
                events_held: 0,
                sign_ups: 0,
                attended: 0,
                no_shows: 0,
                approved_minutes: 135,
                volunteers: vec![3, 7],
            })
        );
        let day = team_day(2, 12, 1, 9, &[]).unwrap();
        assert_eq!(
            (day.events_held, day.sign_ups, day.no_shows, day.attended),
            (2, 12, 1, 9)
        );
        assert!(day.volunteers.is_empty());
    }

    #[test]
    fn a_local_day_is_cut_in_the_city_s_time_zone() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let (from, to) = day_bounds(day, chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(to - from, Duration::hours(24));
        assert_eq!(local_day(from, chrono_tz::Asia::Shanghai), day);
        assert!(day_bounds(NaiveDate::MAX, chrono_tz::Asia::Shanghai).is_err());
    }
}
