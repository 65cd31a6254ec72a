//! Leaderboards answered straight from the tallies: used while the rank store is unavailable or
//! rebuilding, and as the reference the store is tested against. Each query is an index range
//! on (kind, period, key[, area | team], minutes).

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use super::{Board, Ranked, Scope, competition_ranks};
use crate::deps::Deps;
use crate::entity::tallies;
use crate::error::Result;
use crate::ids::{AreaId, TeamId, VolunteerId};
use crate::kinds::TeamKind;
use crate::tallies::{KIND_MEMBER, KIND_ROOT_TREE, KIND_TEAM, KIND_VOLUNTEER, Period};

fn in_area(deps: &Deps, area: AreaId) -> Condition {
    let root = deps.areas.children(None).first().map(|a| a.id);
    if Some(area) == root {
        Condition::all()
    } else {
        Condition::all()
            .add(tallies::Column::AreaId.is_in(deps.areas.subtree(area).into_iter().map(|a| a.0)))
    }
}

fn scope_condition(deps: &Deps, scope: Scope, period: Period) -> Condition {
    let base = Condition::all()
        .add(tallies::Column::Period.eq(period.code()))
        .add(tallies::Column::PeriodKey.eq(period.current_key(deps.timezone)))
        .add(tallies::Column::Minutes.gt(0));
    match scope {
        Scope::City => base.add(tallies::Column::Kind.eq(KIND_VOLUNTEER)),
        Scope::Area(area) => base
            .add(tallies::Column::Kind.eq(KIND_VOLUNTEER))
            .add(in_area(deps, area)),
        Scope::Team(team) => base
            .add(tallies::Column::Kind.eq(KIND_MEMBER))
            .add(tallies::Column::TeamId.eq(team.0)),
    }
}

pub(super) async fn volunteer_board(
    deps: &Deps,
    scope: Scope,
    period: Period,
    first: usize,
    viewer: Option<VolunteerId>,
) -> Result<Board> {
    // One snapshot, so the lines, the total and the viewer's rank agree.
    let db = &deps
        .store
        .db
        .begin_with_options(crate::stats::read_snapshot(&deps.store.db))
        .await?;
    let condition = scope_condition(deps, scope, period);
    let rows: Vec<(i64, i64)> = tallies::Entity::find()
        .select_only()
        .column(tallies::Column::VolunteerId)
        .column(tallies::Column::Minutes)
        .filter(condition.clone())
        .order_by_desc(tallies::Column::Minutes)
        .order_by_desc(tallies::Column::VolunteerId)
        .limit(first as u64)
        .into_tuple()
        .all(db)
        .await?;
    let entries = competition_ranks(rows, 1)
        .into_iter()
        .map(|r| Ranked {
            rank: r.rank,
            subject: VolunteerId(r.subject),
            minutes: r.minutes,
        })
        .collect();
    let total = tallies::Entity::find()
        .filter(condition.clone())
        .count(db)
        .await?;
    let viewer = match viewer {
        Some(volunteer) => {
            let own: Option<i64> = tallies::Entity::find()
                .select_only()
                .column(tallies::Column::Minutes)
                .filter(condition.clone())
                .filter(tallies::Column::VolunteerId.eq(volunteer.0))
                .into_tuple()
                .one(db)
                .await?;
            match own {
                Some(minutes) => {
                    let above = tallies::Entity::find()
                        .filter(condition)
                        .filter(tallies::Column::Minutes.gt(minutes))
                        .count(db)
                        .await?;
                    Some(Ranked {
                        rank: above as i64 + 1,
                        subject: volunteer,
                        minutes,
                    })
                }
                None => None,
            }
        }
        None => None,
    };
    Ok(Board {
        entries,
        viewer,
        total,
    })
}

pub(super) async fn team_board(
    deps: &Deps,
    area: AreaId,
    kind: Option<TeamKind>,
    roll_up: bool,
    period: Period,
    first: usize,
) -> Result<Vec<Ranked<TeamId>>> {
    let tally = if roll_up { KIND_ROOT_TREE } else { KIND_TEAM };
    let mut condition = Condition::all()
        .add(tallies::Column::Kind.eq(tally))
        .add(tallies::Column::Period.eq(period.code()))
        .add(tallies::Column::PeriodKey.eq(period.current_key(deps.timezone)))
        .add(tallies::Column::Minutes.gt(0))
        .add(in_area(deps, area));
    if let Some(kind) = kind {
        condition = condition
            .add(tallies::Column::TeamKind.eq(<TeamKind as sea_orm::ActiveEnum>::to_value(&kind)));
    }
    let rows: Vec<(i64, i64)> = tallies::Entity::find()
        .select_only()
        .column(tallies::Column::TeamId)
        .column(tallies::Column::Minutes)
        .filter(condition)
        .order_by_desc(tallies::Column::Minutes)
        .order_by_desc(tallies::Column::TeamId)
        .limit(first as u64)
        .into_tuple()
        .all(&deps.store.db)
        .await?;
    Ok(competition_ranks(rows, 1)
        .into_iter()
        .map(|r| Ranked {
            rank: r.rank,
            subject: TeamId(r.subject),
            minutes: r.minutes,
        })
        .collect())
}
