//! Tallies of team trees: a brigade with its sub-teams (and theirs, however deep). Each team
//! has a tree tally per period holding its own approved minutes and all its descendants':
//! `ROOT_TREE` for a team without a parent (what the rolled-up team leaderboard ranks), `TREE`
//! for a sub-team. A review that changes approved minutes in a team adds the difference to the
//! tree tallies of the team and of each ancestor, in the same transaction as its other tallies,
//! so a tree tally always equals the sum of its subtree's TEAM tallies. A team's parent is set
//! when it is created and never changes, so no minutes ever move between trees.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{Period, Tallies, TallyRow, add, kind_code};
use crate::entity::{tallies, teams};
use crate::error::Result;
use crate::ids::{AreaId, TeamId};
use crate::kinds::TeamKind;

pub const KIND_TREE: &str = "TREE";
pub const KIND_ROOT_TREE: &str = "ROOT_TREE";

/// Far deeper than any real brigade; only stops a walk up a corrupted, cyclic parent chain.
const MAX_DEPTH: usize = 16;

/// A team on the way from one team up to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeNode {
    pub id: i64,
    pub area: AreaId,
    pub kind: TeamKind,
    /// Has no parent: its tree tally is a `ROOT_TREE`.
    pub root: bool,
}

/// The tree tally kind of a team.
pub(crate) fn tree_kind(root: bool) -> &'static str {
    if root { KIND_ROOT_TREE } else { KIND_TREE }
}

/// The team and its ancestors, the team first and its root last.
pub(crate) async fn chain(conn: &impl ConnectionTrait, team: TeamId) -> Result<Vec<TreeNode>> {
    let mut out: Vec<TreeNode> = Vec::new();
    let mut next = Some(team.0);
    while let Some(id) = next {
        if out.len() >= MAX_DEPTH || out.iter().any(|node| node.id == id) {
            break;
        }
        let Some(row) = teams::Entity::find_by_id(id).one(conn).await? else {
            break;
        };
        next = row.parent_team_id;
        out.push(TreeNode {
            id: row.id,
            area: AreaId(row.area_id),
            kind: row.kind,
            root: row.parent_team_id.is_none(),
        });
    }
    Ok(out)
}

/// Adds `delta` to the tree tallies of every team in `chain` for the period `key`.
pub(super) async fn add_to_trees(
    conn: &impl ConnectionTrait,
    chain: &[TreeNode],
    period: Period,
    key: &str,
    delta: i64,
) -> Result<()> {
    for node in chain {
        let team_kind = kind_code(node.kind);
        add(
            conn,
            TallyRow {
                kind: tree_kind(node.root),
                volunteer: 0,
                team: node.id,
                area: node.area,
                team_kind: &team_kind,
                period,
                key,
            },
            delta,
        )
        .await?;
    }
    Ok(())
}

impl Tallies {
    /// Approved minutes of each team with all its sub-teams (however deep) in the current
    /// `period`.
    pub async fn tree_minutes(
        &self,
        ids: &[TeamId],
        period: Period,
    ) -> Result<HashMap<TeamId, i64>> {
        let rows: Vec<(i64, i64)> = tallies::Entity::find()
            .select_only()
            .column(tallies::Column::TeamId)
            .column(tallies::Column::Minutes)
            .filter(tallies::Column::Kind.is_in([KIND_TREE, KIND_ROOT_TREE]))
            .filter(tallies::Column::TeamId.is_in(ids.iter().map(|id| id.0)))
            .filter(tallies::Column::VolunteerId.eq(0))
            .filter(tallies::Column::Period.eq(period.code()))
            .filter(tallies::Column::PeriodKey.eq(period.current_key(self.deps.timezone)))
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(team, minutes)| (TeamId(team), minutes))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_without_a_parent_has_a_root_tree_tally() {
        assert_eq!(tree_kind(true), "ROOT_TREE");
        assert_eq!(tree_kind(false), "TREE");
        // Both fit the tallies.kind column (10 characters).
        assert!(KIND_ROOT_TREE.len() <= 10 && KIND_TREE.len() <= 10);
    }
}
