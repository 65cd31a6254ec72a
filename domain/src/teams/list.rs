//! Reading teams: filtered lists, by area subtree, kind and name.

use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Team, Teams};
use crate::areas::AreaTree;
use crate::deps::text;
use crate::entity::teams;
use crate::error::{Error, Result};
use crate::ids::{AreaId, TeamId};
use crate::kinds::TeamKind;
use crate::page::{Cursor, Page, PageRequest};

#[derive(Default)]
pub struct TeamFilter {
    pub area_id: Option<AreaId>,
    pub kind: Option<TeamKind>,
    pub name_contains: Option<String>,
}

/// A `TeamFilter` whose values passed their checks (`TeamFilter::check`); a name to look for is
/// trimmed, and dropped when blank.
pub struct CheckedTeamFilter(TeamFilter);

impl TeamFilter {
    /// Checks the filter's values; errors name the filter's own fields (`areaId`, `nameContains`).
    pub fn check(self, areas: &AreaTree) -> Result<CheckedTeamFilter> {
        if let Some(area) = self.area_id
            && areas.get(area).is_none()
        {
            return Err(Error::invalid("areaId", "no-such-area"));
        }
        let name_contains = match self.name_contains.as_deref().map(str::trim) {
            Some(needle) if !needle.is_empty() => Some(text(needle, "nameContains", 1, 80, false)?),
            _ => None,
        };
        Ok(CheckedTeamFilter(Self {
            name_contains,
            ..self
        }))
    }
}

/// Escapes LIKE wildcards so a search for `50%` finds just that.
fn like_pattern(needle: &str) -> String {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Teams {
    /// Teams matching the filter, in creation order. An area covers its whole subtree.
    pub async fn teams(&self, filter: CheckedTeamFilter, page: PageRequest) -> Result<Page<Team>> {
        let CheckedTeamFilter(filter) = filter;
        let mut condition = Condition::all();
        if let Some(area) = filter.area_id {
            condition = condition.add(
                teams::Column::AreaId.is_in(self.deps.areas.subtree(area).into_iter().map(|a| a.0)),
            );
        }
        if let Some(kind) = filter.kind {
            condition = condition.add(teams::Column::Kind.eq(kind));
        }
        if let Some(needle) = filter.name_contains {
            // Case-insensitive on every backend (PostgreSQL's LIKE is case-sensitive, SQLite's is not).
            let lowered = Expr::expr(Func::lower(Expr::col(teams::Column::Name)));
            let pattern = LikeExpr::new(like_pattern(&needle.to_lowercase())).escape('\\');
            condition = condition.add(lowered.like(pattern));
        }
        let db = &self.deps.store.db;
        let total = teams::Entity::find()
            .filter(condition.clone())
            .count(db)
            .await?;
        let mut query = teams::Entity::find()
            .filter(condition)
            .order_by_asc(teams::Column::Id);
        if let Some(after) = page.after_id()? {
            query = query.filter(teams::Column::Id.gt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok(Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id)).map(Team::from))
    }
}

impl Teams {
    /// The team's direct sub-teams, oldest first, a page at a time (`parent_team_id` is
    /// indexed).
    pub async fn sub_teams(&self, parent: TeamId, page: PageRequest) -> Result<Page<Team>> {
        let db = &self.deps.store.db;
        let base = teams::Entity::find().filter(teams::Column::ParentTeamId.eq(parent.0));
        let total = base.clone().count(db).await?;
        let mut query = base.order_by_asc(teams::Column::Id);
        if let Some(after) = page.after_id()? {
            query = query.filter(teams::Column::Id.gt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok(Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id)).map(Team::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> AreaTree {
        crate::areas::test_tree()
    }

    fn field_of(error: Error) -> String {
        match error {
            Error::InvalidInput { field, .. } => field,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[test]
    fn a_team_filter_names_its_own_fields() {
        let unknown_area = TeamFilter {
            area_id: Some(AreaId(99)),
            ..Default::default()
        };
        assert_eq!(
            field_of(unknown_area.check(&tree()).err().unwrap()),
            "areaId"
        );
        let long_name = TeamFilter {
            name_contains: Some("x".repeat(81)),
            ..Default::default()
        };
        assert_eq!(
            field_of(long_name.check(&tree()).err().unwrap()),
            "nameContains"
        );
    }

    #[test]
    fn a_blank_name_filter_is_no_filter_and_a_name_is_trimmed() {
        let blank = TeamFilter {
            name_contains: Some("   ".into()),
            ..Default::default()
        };
        assert_eq!(blank.check(&tree()).ok().unwrap().0.name_contains, None);
        let padded = TeamFilter {
            area_id: Some(AreaId(1)),
            name_contains: Some(" 巡逻 ".into()),
            ..Default::default()
        };
        let checked = padded.check(&tree()).ok().unwrap().0;
        assert_eq!(checked.name_contains.as_deref(), Some("巡逻"));
        assert_eq!(checked.area_id, Some(AreaId(1)));
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
