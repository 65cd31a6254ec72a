//! Leaderboards: volunteers ranked by approved minutes in the city, an area (with its subtree)
//! or a team, and teams ranked in an area and kind, per period. Ranks come from the rank store
//! (Redis, or in-process); while it is unavailable or rebuilding they come from the database —
//! slower, still correct. An outbox written with every tally change carries updates to the
//! store, so an update survives a Redis outage and is applied once Redis is back.

mod database;
mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, TimeZone as _, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub use store::{RankStore, ScoreUpdate};

use crate::deps::Deps;
use crate::entity::{leaderboard_outbox, tallies};
use crate::error::{Error, Result};
use crate::ids::{AreaId, TeamId, VolunteerId};
use crate::kinds::TeamKind;
use crate::tallies::{
    KIND_MEMBER, KIND_ROOT_TREE, KIND_TEAM, KIND_TREE, KIND_VOLUNTEER, Period, today,
};
use crate::workers;

pub const MAX_ENTRIES: usize = 100;

/// Whose minutes are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    City,
    Area(AreaId),
    Team(TeamId),
}

/// One ranked line: standard competition ranking (1, 2, 2, 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked<T> {
    pub rank: i64,
    pub subject: T,
    pub minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub entries: Vec<Ranked<VolunteerId>>,
    pub viewer: Option<Ranked<VolunteerId>>,
    pub total: u64,
}

/// Where answers come from right now (shown on /readyz).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Store,
    Database,
}

pub struct Leaderboards {
    deps: Deps,
    store: RankStore,
    /// Set while the store failed or is not built: answers come from the database meanwhile.
    degraded: AtomicBool,
}

/// Ranks a list already in score order: equal minutes share a rank.
fn competition_ranks<T>(rows: Vec<(T, i64)>, first_rank: i64) -> Vec<Ranked<T>> {
    let mut out: Vec<Ranked<T>> = Vec::with_capacity(rows.len());
    for (index, (subject, minutes)) in rows.into_iter().enumerate() {
        let rank = match out.last() {
            Some(previous) if previous.minutes == minutes => previous.rank,
            _ => first_rank + index as i64,
        };
        out.push(Ranked {
            rank,
            subject,
            minutes,
        });
    }
    out
}

fn volunteer_key(area_or_team: &str, id: i64, period: Period, key: &str) -> String {
    format!("v:{area_or_team}:{id}:{}:{key}", period.code())
}

/// Teams ranked in an area (and kind): by their own minutes (`t:`), or, rolled up, teams
/// without a parent by their whole tree's minutes (`r:`).
fn team_key(
    area: AreaId,
    kind: Option<TeamKind>,
    roll_up: bool,
    period: Period,
    key: &str,
) -> String {
    let kind = kind
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|| "all".to_owned());
    let board = if roll_up { "r" } else { "t" };
    format!("{board}:{}:{kind}:{}:{key}", area.0, period.code())
}

/// When a period's set may go: two periods after its own (the current and previous are kept).
fn expiry(period: Period, day: NaiveDate) -> Option<i64> {
    let days = match period {
        Period::AllTime => return None,
        Period::Week => 21,
        Period::Month => 93,
        Period::Year => 2 * 366 + 31,
    };
    Some(
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?)
            .timestamp()
            + days * 86_400,
    )
}

impl Leaderboards {
    pub fn new(deps: Deps, store: RankStore) -> Self {
        Self {
            deps,
            store,
            degraded: AtomicBool::new(true),
        }
    }

    pub fn source(&self) -> Source {
        if self.degraded.load(Ordering::Acquire) {
            Source::Database
        } else {
            Source::Store
        }
    }

    fn root(&self) -> Result<AreaId> {
        self.deps
            .areas
            .children(None)
            .first()
            .map(|area| area.id)
            .ok_or_else(|| Error::internal("the area tree is empty"))
    }

    fn ancestors(&self, area: AreaId) -> Vec<AreaId> {
        let mut out = Vec::new();
        let mut current = Some(area);
        while let Some(id) = current {
            out.push(id);
            current = self.deps.areas.get(id).and_then(|node| node.parent_id);
        }
        out
    }

    fn store_key(&self, scope: Scope, period: Period) -> Result<String> {
        let key = period.current_key(self.deps.timezone);
        Ok(match scope {
            Scope::City => volunteer_key("area", self.root()?.0, period, &key),
            Scope::Area(area) => volunteer_key("area", area.0, period, &key),
            Scope::Team(team) => volunteer_key("team", team.0, period, &key),
        })
    }

    async fn board_in_store(
        &self,
        scope: Scope,
        period: Period,
        first: usize,
        viewer: Option<VolunteerId>,
    ) -> Result<Board> {
        let key = self.store_key(scope, period)?;
        let (top, total, standing) = self.store.board(&key, first, viewer.map(|v| v.0)).await?;
        let entries = competition_ranks(top, 1)
            .into_iter()
            .map(|r| Ranked {
                rank: r.rank,
                subject: VolunteerId(r.subject),
                minutes: r.minutes,
            })
            .collect();
        let viewer = viewer
            .zip(standing)
            .map(|(volunteer, (minutes, above))| Ranked {
                rank: above as i64 + 1,
                subject: volunteer,
                minutes,
            });
        Ok(Board {
            entries,
            viewer,
            total,
        })
    }

    /// The board of `scope` for the current `period`, with the viewer's own line wherever it is.
    pub async fn leaderboard(
        &self,
        scope: Scope,
        period: Period,
        first: usize,
        viewer: Option<VolunteerId>,
    ) -> Result<Board> {
        if !(1..=MAX_ENTRIES).contains(&first) {
            return Err(Error::invalid("first", "must-be-from-1-to-100"));
        }
        if let Scope::Area(area) = scope
            && self.deps.areas.get(area).is_none()
        {
            return Err(Error::invalid("scope.areaId", "no-such-area"));
        }
        if self.source() == Source::Store {
            match self.board_in_store(scope, period, first, viewer).await {
                Ok(board) => return Ok(board),
                Err(error) => self.fall_back(&error),
            }
        }
        database::volunteer_board(&self.deps, scope, period, first, viewer).await
    }

    /// Teams ranked within an area (whole subtree; the city when absent) and kind. Rolled up
    /// (`roll_up`), only teams without a parent are ranked, each with its sub-teams' minutes
    /// (however deep) included.
    pub async fn team_leaderboard(
        &self,
        area: Option<AreaId>,
        kind: Option<TeamKind>,
        roll_up: bool,
        period: Period,
        first: usize,
    ) -> Result<Vec<Ranked<TeamId>>> {
        if !(1..=MAX_ENTRIES).contains(&first) {
            return Err(Error::invalid("first", "must-be-from-1-to-100"));
        }
        let area = match area {
            Some(area) if self.deps.areas.get(area).is_none() => {
                return Err(Error::invalid("areaId", "no-such-area"));
            }
            Some(area) => area,
            None => self.root()?,
        };
        if self.source() == Source::Store {
            let key = team_key(
                area,
                kind,
                roll_up,
                period,
                &period.current_key(self.deps.timezone),
            );
            match self.store.top(&key, first).await {
                Ok(rows) => {
                    return Ok(competition_ranks(rows, 1)
                        .into_iter()
                        .map(|r| Ranked {
                            rank: r.rank,
                            subject: TeamId(r.subject),
                            minutes: r.minutes,
                        })
                        .collect());
                }
                Err(error) => self.fall_back(&error),
            }
        }
        database::team_board(&self.deps, area, kind, roll_up, period, first).await
    }

    fn fall_back(&self, error: &Error) {
        if !self.degraded.swap(true, Ordering::AcqRel) {
            tracing::warn!(%error, "leaderboard store unavailable; answering from the database");
        }
    }

    /// The store updates that bring every set touched by (volunteer, team, day) to the tallies.
    async fn updates_for(
        &self,
        volunteer: i64,
        team: i64,
        day: NaiveDate,
    ) -> Result<Vec<ScoreUpdate>> {
        let keep_from = today(self.deps.timezone);
        let trees: Vec<i64> = crate::tallies::chain(&self.deps.store.db, TeamId(team))
            .await?
            .iter()
            .map(|node| node.id)
            .collect();
        let mut out = Vec::new();
        for period in Period::ALL {
            let key = period.key(day);
            if !period.is_kept(&key, keep_from) {
                continue; // an old period: nobody asks for it any more
            }
            let rows = tallies::Entity::find()
                .filter(tallies::Column::Period.eq(period.code()))
                .filter(tallies::Column::PeriodKey.eq(&key))
                .filter(
                    sea_orm::Condition::any()
                        .add(
                            sea_orm::Condition::all()
                                .add(tallies::Column::Kind.eq(KIND_VOLUNTEER))
                                .add(tallies::Column::VolunteerId.eq(volunteer)),
                        )
                        .add(
                            sea_orm::Condition::all()
                                .add(tallies::Column::Kind.eq(KIND_MEMBER))
                                .add(tallies::Column::VolunteerId.eq(volunteer))
                                .add(tallies::Column::TeamId.eq(team)),
                        )
                        .add(
                            sea_orm::Condition::all()
                                .add(tallies::Column::Kind.eq(KIND_TEAM))
                                .add(tallies::Column::TeamId.eq(team)),
                        )
                        .add(
                            sea_orm::Condition::all()
                                .add(tallies::Column::Kind.is_in([KIND_TREE, KIND_ROOT_TREE]))
                                .add(tallies::Column::TeamId.is_in(trees.iter().copied())),
                        ),
                )
                .all(&self.deps.store.db)
                .await?;
            for row in rows {
                out.extend(self.updates_for_row(&row, period, day));
            }
        }
        Ok(out)
    }

    fn updates_for_row(
        &self,
        row: &tallies::Model,
        period: Period,
        day: NaiveDate,
    ) -> Vec<ScoreUpdate> {
        let update = |key: String, member: i64| ScoreUpdate {
            key,
            member,
            score: row.minutes,
            version: row.version,
            expire_at: expiry(period, day),
        };
        match row.kind.as_str() {
            KIND_VOLUNTEER => self
                .ancestors(AreaId(row.area_id))
                .into_iter()
                .map(|area| {
                    update(
                        volunteer_key("area", area.0, period, &row.period_key),
                        row.volunteer_id,
                    )
                })
                .collect(),
            KIND_MEMBER => vec![update(
                volunteer_key("team", row.team_id, period, &row.period_key),
                row.volunteer_id,
            )],
            KIND_TEAM | KIND_ROOT_TREE => {
                let roll_up = row.kind == KIND_ROOT_TREE;
                let kind = <TeamKind as sea_orm::ActiveEnum>::try_from_value(&row.team_kind).ok();
                let key = |area, kind| team_key(area, kind, roll_up, period, &row.period_key);
                self.ancestors(AreaId(row.area_id))
                    .into_iter()
                    .flat_map(|area| {
                        [
                            update(key(area, None), row.team_id),
                            update(key(area, kind), row.team_id),
                        ]
                    })
                    .collect()
            }
            // A sub-team's tree is read from its tally (`Team.serviceMinutes`), never ranked.
            _ => Vec::new(),
        }
    }

    /// Carries queued tally changes to the store; returns how many it carried. Several nodes may
    /// run this at once: updates are absolute and versioned, so doing one twice is harmless.
    pub async fn sync_once(&self) -> Result<usize> {
        if !self.store.is_built().await? {
            if !self.store.claim_rebuild(600).await? {
                // Another node is rebuilding; answer from the database until it is done.
                return Err(Error::Unavailable(
                    "leaderboard store (rebuilding elsewhere)",
                ));
            }
            let rebuilt = self.rebuild().await;
            self.store.release_rebuild().await?;
            rebuilt?;
        }
        let now = chrono::Utc::now();
        let rows = leaderboard_outbox::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(leaderboard_outbox::Column::RetryAt.is_null())
                    .add(leaderboard_outbox::Column::RetryAt.lte(now)),
            )
            .order_by_asc(leaderboard_outbox::Column::Id)
            .limit(200)
            .all(&self.deps.store.db)
            .await?;
        if rows.is_empty() {
            self.recovered();
            return Ok(0);
        }
        let mut carried: Vec<i64> = rows.iter().map(|row| row.id).collect();
        if rows
            .iter()
            .any(|row| row.volunteer_id == 0 && row.team_id == 0)
        {
            // A rebuild was asked for (a team changed kind). It reads the tallies after every
            // queued change committed, so it covers the whole batch.
            self.rebuild().await?;
        } else {
            // Each row on its own: one that fails is set aside, the others are carried.
            let mut updates = Vec::new();
            for row in &rows {
                let found = workers::isolated(self.updates_for(
                    row.volunteer_id,
                    row.team_id,
                    row.service_date,
                ))
                .await;
                match found {
                    Ok(found) => updates.extend(found),
                    Err(error) if workers::is_outage(&error) => return Err(error),
                    Err(error) => {
                        self.set_aside(row, &error).await?;
                        carried.retain(|id| *id != row.id);
                    }
                }
            }
            self.store.apply(&updates).await?;
        }
        leaderboard_outbox::Entity::delete_many()
            .filter(leaderboard_outbox::Column::Id.is_in(carried))
            .exec(&self.deps.store.db)
            .await?;
        Ok(rows.len())
    }

    /// Leaves a failed outbox row alone until its retry time, which grows with each failure.
    async fn set_aside(&self, row: &leaderboard_outbox::Model, error: &Error) -> Result<()> {
        let attempts = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
        let delay = workers::retry_delay(attempts);
        let retry_at = chrono::Utc::now()
            + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::minutes(15));
        tracing::warn!(
            id = row.id, volunteer = row.volunteer_id, team = row.team_id, attempts, %error,
            retry_in_s = delay.as_secs(), "leaderboard outbox row failed; set aside"
        );
        leaderboard_outbox::Entity::update_many()
            .col_expr(
                leaderboard_outbox::Column::Attempts,
                sea_orm::sea_query::ExprTrait::add(
                    sea_orm::sea_query::Expr::col(leaderboard_outbox::Column::Attempts),
                    1,
                ),
            )
            .col_expr(
                leaderboard_outbox::Column::RetryAt,
                sea_orm::sea_query::Expr::value(retry_at),
            )
            .filter(leaderboard_outbox::Column::Id.eq(row.id))
            .exec(&self.deps.store.db)
            .await?;
        Ok(())
    }

    fn recovered(&self) {
        if self.degraded.swap(false, Ordering::AcqRel) {
            tracing::info!("leaderboard store in sync; answering from it again");
        }
    }

    /// Recomputes every set of the current and previous periods (and all time) from the tallies.
    pub async fn rebuild(&self) -> Result<u64> {
        self.degraded.store(true, Ordering::Release);
        self.store.set_built(false).await?;
        self.store.clear().await?;
        let day = today(self.deps.timezone);
        let mut written = 0u64;
        for period in Period::ALL {
            for key in period.kept_keys(day) {
                let mut after = 0i64;
                loop {
                    let rows = tallies::Entity::find()
                        .filter(tallies::Column::Period.eq(period.code()))
                        .filter(tallies::Column::PeriodKey.eq(&key))
                        .filter(tallies::Column::Id.gt(after))
                        .order_by_asc(tallies::Column::Id)
                        .limit(10_000)
                        .all(&self.deps.store.db)
                        .await?;
                    let Some(last) = rows.last() else { break };
                    after = last.id;
                    let updates: Vec<ScoreUpdate> = rows
                        .iter()
                        .flat_map(|row| self.updates_for_row(row, period, day))
                        .collect();
                    self.store.apply(&updates).await?;
                    written += rows.len() as u64;
                }
            }
        }
        self.store.set_built(true).await?;
        Ok(written)
    }

    /// Keeps the store in step with the tallies until the process ends: wakes on every committed
    /// change (and at least every `every`), backs off while the store is unreachable.
    pub async fn run(self: Arc<Self>, every: Duration) {
        loop {
            let wake = self.deps.tally_changed.notified();
            match self.sync_once().await {
                Ok(carried) if carried > 0 => continue,
                Ok(_) => {}
                Err(error) => {
                    self.fall_back(&error);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            let _ = tokio::time::timeout(every, wake).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_minutes_share_a_rank_and_the_next_rank_skips() {
        let ranked = competition_ranks(vec![("a", 50), ("b", 40), ("c", 40), ("d", 10)], 1);
        let ranks: Vec<i64> = ranked.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [1, 2, 2, 4]);
    }
}
