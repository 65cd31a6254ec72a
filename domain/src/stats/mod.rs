//! Participation statistics for admins: active and new volunteers, events held, sign-ups,
//! attendance, no-shows and approved minutes, by district, town, team kind, team, day, week and
//! month, inside the admin's area. Served from the daily rollups (`rollup`), never from the raw
//! rows. Active-volunteer counts are exact: unions of monthly bitmaps (`active`) where the
//! grouping allows, else distinct over volunteer-days.

mod answer;
mod bounds;
mod place_rebuild;
mod places;
mod rollup;
mod sets;
mod spans;
mod starts;

use std::collections::{BTreeMap, HashMap};

use chrono::{Months, NaiveDate};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Func, SimpleExpr};
use sea_orm::{
    AccessMode, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    IsolationLevel, PaginatorTrait, QueryFilter, QuerySelect, TransactionOptions, TransactionTrait,
};

pub use rollup::local_day;
pub(crate) use rollup::{mark_all_team_days, mark_area_day, mark_team_date, mark_team_day};

use crate::actor::Actor;
use crate::areas::AreaLevel;
use crate::deps::Deps;
use crate::entity::{stats_area_days, stats_team_days, stats_volunteer_days, teams};
use crate::error::{Error, Result};
use crate::ids::AreaId;
use crate::policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    District,
    Town,
    TeamKind,
    Team,
    Day,
    Week,
    Month,
}

impl Dimension {
    fn column(self) -> &'static str {
        match self {
            Self::District => "district_id",
            Self::Town => "town_id",
            Self::TeamKind => "team_kind",
            Self::Team => "team_id",
            Self::Day => "day",
            Self::Week => "week_key",
            Self::Month => "month_key",
        }
    }

    /// Registrations belong to an area and a day, not to a team.
    fn applies_to_registrations(self) -> bool {
        !matches!(self, Self::TeamKind | Self::Team)
    }
}

/// The figures of one group (or of the whole range).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub active_volunteers: i64,
    pub new_volunteers: i64,
    pub events_held: i64,
    pub sign_ups: i64,
    pub attended: i64,
    pub no_shows: i64,
    pub approved_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: Vec<String>,
    pub figures: Figures,
}

#[derive(Debug, Clone)]
pub struct ParticipationStats {
    pub totals: Figures,
    pub rows: Vec<Row>,
}

/// Chinese labels for team kinds, as the admins read them.
pub fn team_kind_label(stored: &str) -> &'static str {
    match stored {
        "KUNG_FU_PATROL" => "功夫巡逻队",
        "ANTI_FRAUD" => "反诈宣传队",
        "CAMPUS_GUARD" => "护校队",
        "COMMUNITY_110" => "社区110",
        "GRID_PATROL" => "网格巡逻队",
        _ => "其他",
    }
}

pub struct Stats {
    deps: Deps,
    /// Decoded sets of place rows, by row id (`sets`).
    sets: sets::Sets,
}

/// A grouping value as read from a rollup row, before it becomes a label.
type RawKey = Vec<String>;

#[derive(FromQueryResult)]
struct Sums {
    events_held: Option<i64>,
    sign_ups: Option<i64>,
    attended: Option<i64>,
    no_shows: Option<i64>,
    approved_minutes: Option<i64>,
}

fn sum(column: &str) -> SimpleExpr {
    Expr::expr(Func::sum(Expr::col(Alias::new(column)))).cast_as(Alias::new("BIGINT"))
}

fn as_text(column: &str) -> SimpleExpr {
    Expr::col(Alias::new(column)).cast_as(Alias::new("TEXT"))
}

/// A consistent, read-only snapshot (REPEATABLE READ on PostgreSQL; a read transaction on SQLite).
pub(crate) fn read_snapshot(db: &sea_orm::DatabaseConnection) -> TransactionOptions {
    if db.get_database_backend() == DbBackend::Postgres {
        TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            ..Default::default()
        }
    } else {
        TransactionOptions::default()
    }
}

impl Stats {
    pub fn new(deps: Deps) -> Self {
        Self {
            deps,
            sets: sets::Sets::new(sets::KEPT_BYTES),
        }
    }

    /// Recomputes the rollups marked dirty since the last call (up to 500); returns how many.
    pub async fn refresh(&self) -> Result<usize> {
        rollup::refresh(&self.deps).await
    }

    /// Rebuilds every place's statistics rows from the daily rollups at once and clears the
    /// place marks (for a database loaded in bulk); returns how many rows it wrote.
    pub async fn rebuild_places(&self) -> Result<u64> {
        place_rebuild::rebuild_all(&self.deps).await
    }

    fn area_condition(&self, area: AreaId, area_column: impl ColumnTrait) -> Condition {
        let root = self.deps.areas.children(None).first().map(|a| a.id);
        if Some(area) == root {
            Condition::all()
        } else {
            Condition::all()
                .add(area_column.is_in(self.deps.areas.subtree(area).into_iter().map(|a| a.0)))
        }
    }

    /// How many values each dimension can take for `area` and `from..=to` (the teams are
    /// counted only when grouping by team).
    async fn cardinalities(
        &self,
        area: AreaId,
        from: NaiveDate,
        to: NaiveDate,
        dims: &[Dimension],
    ) -> Result<bounds::Cardinalities> {
        let subtree = self.deps.areas.subtree(area);
        let at_level = |level: AreaLevel| {
            subtree
                .iter()
                .filter(|id| self.deps.areas.get(**id).is_some_and(|a| a.level == level))
                .count() as u64
        };
        let teams = if dims.contains(&Dimension::Team) {
            teams::Entity::find()
                .filter(self.area_condition(area, teams::Column::AreaId))
                .count(&self.deps.store.db)
                .await?
        } else {
            0
        };
        Ok(bounds::Cardinalities::of_range(
            from,
            to,
            at_level(AreaLevel::District),
            at_level(AreaLevel::Town),
            teams,
        ))
    }

    pub async fn participation(
        &self,
        actor: &Actor,
        area: AreaId,
        from: NaiveDate,
        to: NaiveDate,
        group_by: &[Dimension],
    ) -> Result<ParticipationStats> {
        if self.deps.areas.get(area).is_none() {
            return Err(Error::invalid("areaId", "no-such-area"));
        }
        policy::check_admin_of(actor, &self.deps.areas, area)?;
        crate::dates::check_day(from, "from")?;
        crate::dates::check_day(to, "to")?;
        if to < from {
            return Err(Error::invalid("to", "must-not-be-before-from"));
        }
        if from
            .checked_add_months(Months::new(36))
            .is_none_or(|limit| to >= limit)
        {
            return Err(Error::invalid("to", "range-spans-at-most-3-years"));
        }
        let mut dims: Vec<Dimension> = Vec::new();
        for dim in group_by {
            if !dims.contains(dim) {
                dims.push(*dim);
            }
        }
        if dims.len() > 2 {
            return Err(Error::invalid("groupBy", "at-most-two-dimensions-at-once"));
        }
        bounds::check_rows(&dims, &self.cardinalities(area, from, to, &dims).await?)?;

        // One read transaction: every figure of the answer comes from the same snapshot, even
        // while the rollups are being refreshed.
        let txn = self
            .deps
            .store
            .db
            .begin_with_options(read_snapshot(&self.deps.store.db))
            .await?;
        let (groups, totals) = if answer::answerable(&self.deps.areas, area, &dims) {
            let (groups, totals) =
                answer::figures(&txn, &self.sets, &self.deps.areas, area, (from, to), &dims)
                    .await?;
            (groups.into_iter().collect(), totals)
        } else {
            self.figures_from_daily_rollups(&txn, area, from, to, &dims)
                .await?
        };
        let team_names = self.team_names(&txn, &dims, &groups).await?;
        let mut rows: Vec<Row> = groups
            .into_iter()
            .map(|(raw, figures)| Row {
                key: dims
                    .iter()
                    .zip(raw.iter())
                    .map(|(dim, value)| self.label(*dim, value, &team_names))
                    .collect(),
                figures,
            })
            .collect();
        rows.sort_by(|a, b| a.key.cmp(&b.key));

        Ok(ParticipationStats { totals, rows })
    }

    /// The figures from the daily rollups: for groupings the place rows do not keep (team,
    /// day, week) and areas below towns. Reads in proportion to the range.
    async fn figures_from_daily_rollups(
        &self,
        txn: &impl ConnectionTrait,
        area: AreaId,
        from: NaiveDate,
        to: NaiveDate,
        dims: &[Dimension],
    ) -> Result<(BTreeMap<RawKey, Figures>, Figures)> {
        let team_rows = self.team_sums(txn, area, from, to, dims).await?;
        let active = self.active_volunteers(txn, area, from, to, dims).await?;
        let total_active = self.active_volunteers(txn, area, from, to, &[]).await?;
        let registrations = self.registrations(txn, area, from, to, dims).await?;
        let mut totals = Figures {
            active_volunteers: total_active.into_values().next().unwrap_or(0),
            // Registrations are grouped only by what applies to them: their groups add up.
            new_volunteers: registrations.values().sum(),
            ..Figures::default()
        };
        let mut groups: BTreeMap<RawKey, Figures> = BTreeMap::new();
        for (key, sums) in team_rows {
            let entry = groups.entry(key).or_default();
            entry.events_held = sums.events_held.unwrap_or(0);
            entry.sign_ups = sums.sign_ups.unwrap_or(0);
            entry.attended = sums.attended.unwrap_or(0);
            entry.no_shows = sums.no_shows.unwrap_or(0);
            entry.approved_minutes = sums.approved_minutes.unwrap_or(0);
            // Every rollup row falls in exactly one group: the totals are the groups' sums.
            totals.events_held += entry.events_held;
            totals.sign_ups += entry.sign_ups;
            totals.attended += entry.attended;
            totals.no_shows += entry.no_shows;
            totals.approved_minutes += entry.approved_minutes;
        }
        for (key, count) in active {
            groups.entry(key).or_default().active_volunteers = count;
        }
        if dims.iter().all(|d| d.applies_to_registrations()) {
            for (key, count) in registrations {
                groups.entry(key).or_default().new_volunteers = count;
            }
        }
        Ok((groups, totals))
    }

    async fn team_sums(
        &self,
        conn: &impl ConnectionTrait,
        area: AreaId,
        from: NaiveDate,
        to: NaiveDate,
        dims: &[Dimension],
    ) -> Result<Vec<(RawKey, Sums)>> {
        let mut query = stats_team_days::Entity::find()
            .select_only()
            .filter(stats_team_days::Column::Day.between(from, to))
            .filter(self.area_condition(area, stats_team_days::Column::AreaId));
        query = grouped_by(query, dims);
        for column in [
            "events_held",
            "sign_ups",
            "attended",
            "no_shows",
            "approved_minutes",
        ] {
            query = query.expr_as(sum(column), column);
        }
        let rows = query.into_model::<SumsWithKeys>().all(conn).await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.keys(dims.len()), row.sums))
            .collect())
    }

    async fn active_volunteers(
        &self,
        conn: &impl ConnectionTrait,
        area: AreaId,
        from: NaiveDate,
        to: NaiveDate,
        dims: &[Dimension],
    ) -> Result<HashMap<RawKey, i64>> {
        let mut query = stats_volunteer_days::Entity::find()
            .select_only()
            .filter(stats_volunteer_days::Column::Day.between(from, to))
            .filter(self.area_condition(area, stats_volunteer_days::Column::AreaId));
        query = grouped_by(query, dims);
        query = query.expr_as(
            Expr::col(Alias::new("volunteer_id"))
                .count_distinct()
                .cast_as(Alias::new("BIGINT")),
            "n",
        );
        let rows = query.into_model::<CountWithKeys>().all(conn).await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.keys(dims.len()), row.n.unwrap_or(0)))
            .collect())
    }

    async fn registrations(
        &self,
        conn: &impl ConnectionTrait,
        area: AreaId,
        from: NaiveDate,
        to: NaiveDate,
        dims: &[Dimension],
    ) -> Result<HashMap<RawKey, i64>> {
        let dims: Vec<Dimension> = dims
            .iter()
            .copied()
            .filter(|d| d.applies_to_registrations())
            .collect();
        let mut query = stats_area_days::Entity::find()
            .select_only()
            .filter(stats_area_days::Column::Day.between(from, to))
            .filter(self.area_condition(area, stats_area_days::Column::AreaId));
        query = grouped_by(query, &dims);
        query = query.expr_as(sum("new_volunteers"), "n");
        let rows = query.into_model::<CountWithKeys>().all(conn).await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.keys(dims.len()), row.n.unwrap_or(0)))
            .collect())
    }

    async fn team_names(
        &self,
        conn: &impl ConnectionTrait,
        dims: &[Dimension],
        groups: &BTreeMap<RawKey, Figures>,
    ) -> Result<HashMap<String, String>> {
        let Some(position) = dims.iter().position(|d| *d == Dimension::Team) else {
            return Ok(HashMap::new());
        };
        let ids: Vec<i64> = groups
            .keys()
            .filter_map(|key| key.get(position)?.parse().ok())
            .collect();
        let rows = teams::Entity::find()
            .filter(teams::Column::Id.is_in(ids))
            .all(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|team| (team.id.to_string(), team.name))
            .collect())
    }

    fn label(&self, dim: Dimension, value: &str, team_names: &HashMap<String, String>) -> String {
        let area_name = |raw: &str, fallback: &str| {
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id != 0)
                .and_then(|id| self.deps.areas.get(AreaId(id)))
                .map(|area| area.name.clone())
                .unwrap_or_else(|| fallback.to_owned())
        };
        match dim {
            Dimension::District => area_name(value, "市直属"),
            Dimension::Town => area_name(value, "区直属"),
            Dimension::TeamKind => team_kind_label(value).to_owned(),
            Dimension::Team => team_names
                .get(value)
                .cloned()
                .unwrap_or_else(|| value.to_owned()),
            // Dates come back as text in either database's own format; keep YYYY-MM-DD.
            Dimension::Day => value.chars().take(10).collect(),
            Dimension::Week | Dimension::Month => value.to_owned(),
        }
    }
}

/// Selects each dimension's column as `k0`, `k1` (as text) and groups by it.
fn grouped_by<E: EntityTrait>(
    mut query: sea_orm::Select<E>,
    dims: &[Dimension],
) -> sea_orm::Select<E> {
    for (index, dim) in dims.iter().enumerate() {
        query = query
            .expr_as(as_text(dim.column()), format!("k{index}"))
            .group_by(Expr::col(Alias::new(dim.column())));
    }
    query
}

/// The first `count` grouping keys of a result row.
fn raw_key(k0: &Option<String>, k1: &Option<String>, count: usize) -> RawKey {
    [k0.clone(), k1.clone()]
        .into_iter()
        .take(count)
        .map(Option::unwrap_or_default)
        .collect()
}

/// Rollup sums with up to two grouping keys (`k0`, `k1`), read as text.
struct SumsWithKeys {
    k0: Option<String>,
    k1: Option<String>,
    sums: Sums,
}

impl FromQueryResult for SumsWithKeys {
    fn from_query_result(
        row: &sea_orm::QueryResult,
        pre: &str,
    ) -> std::result::Result<Self, sea_orm::DbErr> {
        Ok(Self {
            k0: row.try_get(pre, "k0").ok(),
            k1: row.try_get(pre, "k1").ok(),
            sums: Sums::from_query_result(row, pre)?,
        })
    }
}

impl SumsWithKeys {
    fn keys(&self, count: usize) -> RawKey {
        raw_key(&self.k0, &self.k1, count)
    }
}

struct CountWithKeys {
    k0: Option<String>,
    k1: Option<String>,
    n: Option<i64>,
}

impl FromQueryResult for CountWithKeys {
    fn from_query_result(
        row: &sea_orm::QueryResult,
        pre: &str,
    ) -> std::result::Result<Self, sea_orm::DbErr> {
        Ok(Self {
            k0: row.try_get(pre, "k0").ok(),
            k1: row.try_get(pre, "k1").ok(),
            n: row.try_get(pre, "n")?,
        })
    }
}

impl CountWithKeys {
    fn keys(&self, count: usize) -> RawKey {
        raw_key(&self.k0, &self.k1, count)
    }
}

/// A dimension by its name in the API (`DISTRICT`, `TOWN`, `TEAM_KIND`, `TEAM`, `DAY`, `WEEK`,
/// `MONTH`), as the CSV export's `groupBy` takes it.
impl std::str::FromStr for Dimension {
    type Err = UnknownDimension;

    fn from_str(name: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match name {
            "DISTRICT" => Self::District,
            "TOWN" => Self::Town,
            "TEAM_KIND" => Self::TeamKind,
            "TEAM" => Self::Team,
            "DAY" => Self::Day,
            "WEEK" => Self::Week,
            "MONTH" => Self::Month,
            _ => return Err(UnknownDimension(name.to_owned())),
        })
    }
}

/// A name that is not one of the dimensions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dimension {0:?}")]
pub struct UnknownDimension(pub String);
