//! Reading the audit log (`audit` writes it): admins see their area's entries, leaders and
//! deputies their team's.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::actor::Actor;
use crate::dates;
use crate::deps::Deps;
use crate::entity::audit_entries;
use crate::error::{Error, Result};
use crate::ids::{AreaId, AuditEntryId, TeamId, VolunteerId};
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
use crate::teams::Teams;
use crate::text::Text;

/// One audited change, as read back.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub actor_id: Option<VolunteerId>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: i64,
    pub area_id: Option<AreaId>,
    pub team_id: Option<TeamId>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct AuditFilter {
    pub team_id: Option<TeamId>,
    pub area_id: Option<AreaId>,
    /// e.g. `event.cancel`.
    pub action: Option<String>,
    pub actor_id: Option<VolunteerId>,
    /// Entries written at or after `from` and before `to`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A range given with both ends spans at most this long.
pub const MAX_RANGE_DAYS: i64 = 366;

/// The narrowing filters (action, actor, time) as a condition; errors name the filter's fields.
/// Actions are short dotted lower-case names (`service_record.approve`).
pub fn narrowing(filter: &AuditFilter) -> Result<Condition> {
    let mut condition = Condition::all();
    if let Some(action) = &filter.action {
        let valid = (1..=60).contains(&action.len())
            && action
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_');
        if !valid {
            return Err(Error::invalid(
                "action",
                "not-action-name-like-event-cancel",
            ));
        }
        condition = condition.add(audit_entries::Column::Action.eq(action.as_str()));
    }
    if let Some(actor) = filter.actor_id {
        condition = condition.add(audit_entries::Column::ActorId.eq(actor.0));
    }
    if let Some(from) = filter.from {
        dates::check_instant(from, "from")?;
        condition = condition.add(audit_entries::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        dates::check_instant(to, "to")?;
        condition = condition.add(audit_entries::Column::CreatedAt.lt(to));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if to <= from {
            return Err(Error::invalid("to", "must-be-after-from"));
        }
        if to - from > chrono::Duration::days(MAX_RANGE_DAYS) {
            return Err(Error::invalid(
                "to",
                Text::new("range-spans-at-most-n-days").arg("days", MAX_RANGE_DAYS),
            ));
        }
    }
    Ok(condition)
}

pub struct AuditLog {
    deps: Deps,
    teams: Arc<Teams>,
}

impl AuditLog {
    pub fn new(deps: Deps, teams: Arc<Teams>) -> Self {
        Self { deps, teams }
    }

    pub async fn entries(
        &self,
        actor: &Actor,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        let db = &self.deps.store.db;
        let narrowing = narrowing(&filter)?;
        let condition = match (filter.team_id, filter.area_id) {
            (Some(team), _) => {
                let (team, _) = self
                    .teams
                    .require(db, actor, team, policy::check_manages_team)
                    .await?;
                Condition::all().add(audit_entries::Column::TeamId.eq(team.id))
            }
            (None, Some(area)) => {
                policy::check_admin_of(actor, &self.deps.areas, area)?;
                Condition::all().add(
                    audit_entries::Column::AreaId
                        .is_in(self.deps.areas.subtree(area).into_iter().map(|a| a.0)),
                )
            }
            (None, None) => return Err(Error::invalid("filter", "name-teamid-or-areaid")),
        }
        .add(narrowing);
        let total = audit_entries::Entity::find()
            .filter(condition.clone())
            .count(db)
            .await?;
        let mut query = audit_entries::Entity::find()
            .filter(condition)
            .order_by_desc(audit_entries::Column::Id);
        if let Some(after) = page.after_id()? {
            query = query.filter(audit_entries::Column::Id.lt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        let parse = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Ok(
            Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id)).map(|row| {
                AuditEntry {
                    id: AuditEntryId(row.id),
                    actor_id: row.actor_id.map(VolunteerId),
                    action: row.action,
                    entity_type: row.entity_type,
                    entity_id: row.entity_id,
                    area_id: row.area_id.map(AreaId),
                    team_id: row.team_id.map(TeamId),
                    before: parse(row.before),
                    after: parse(row.after),
                    created_at: row.created_at,
                }
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn refused_field(filter: AuditFilter) -> String {
        match narrowing(&filter) {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("not refused as input: {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn the_narrowing_filters_are_checked_and_the_range_is_bounded() {
        let now = Utc::now();
        let ok = AuditFilter {
            action: Some("service_record.approve".into()),
            actor_id: Some(VolunteerId(3)),
            from: Some(now - Duration::days(MAX_RANGE_DAYS)),
            to: Some(now),
            ..Default::default()
        };
        assert!(narrowing(&ok).is_ok());
        for action in ["", "DROP TABLE", "event.cancel%", &"a".repeat(61)] {
            let filter = AuditFilter {
                action: Some(action.to_owned()),
                ..Default::default()
            };
            assert_eq!(refused_field(filter), "action", "{action:?}");
        }
        let backwards = AuditFilter {
            from: Some(now),
            to: Some(now - Duration::seconds(1)),
            ..Default::default()
        };
        assert_eq!(refused_field(backwards), "to");
        let too_long = AuditFilter {
            from: Some(now - Duration::days(MAX_RANGE_DAYS + 1)),
            to: Some(now),
            ..Default::default()
        };
        assert_eq!(refused_field(too_long), "to");
    }
}
