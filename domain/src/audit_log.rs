//! Reading the audit log (`audit` writes it): admins see their area's entries, leaders and
//! deputies their team's.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::actor::Actor;
use crate::deps::Deps;
use crate::entity::audit_entries;
use crate::error::{Error, Result};
use crate::ids::{AreaId, AuditEntryId, TeamId, VolunteerId};
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
use crate::teams::Teams;

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
            (None, None) => return Err(Error::invalid("filter", "name a teamId or an areaId")),
        };
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
