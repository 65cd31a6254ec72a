//! The audit log: every leader and admin write records who did what to which record, with the
//! record before and after. Written in the same transaction as the change it describes.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use serde::Serialize;

use crate::entity::audit_entries;
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};

/// One audited change. `actor` is `None` for operator commands run on the server itself.
pub struct AuditRecord<'a, B: Serialize, A: Serialize> {
    pub actor: Option<VolunteerId>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: i64,
    pub area: Option<AreaId>,
    pub team_id: Option<i64>,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

fn to_json<T: Serialize>(value: Option<&T>) -> Result<Option<String>> {
    value
        .map(|value| serde_json::to_string(value).map_err(Error::internal))
        .transpose()
}

pub async fn record<B: Serialize, A: Serialize>(
    connection: &impl ConnectionTrait,
    entry: AuditRecord<'_, B, A>,
) -> Result<()> {
    audit_entries::ActiveModel {
        actor_id: Set(entry.actor.map(|id| id.0)),
        action: Set(entry.action.to_owned()),
        entity_type: Set(entry.entity_type.to_owned()),
        entity_id: Set(entry.entity_id),
        area_id: Set(entry.area.map(|id| id.0)),
        team_id: Set(entry.team_id),
        before: Set(to_json(entry.before)?),
        after: Set(to_json(entry.after)?),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(connection)
    .await?;
    Ok(())
}

/// One audited change, as read back.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: crate::ids::AuditEntryId,
    pub actor_id: Option<VolunteerId>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: i64,
    pub area_id: Option<AreaId>,
    pub team_id: Option<crate::ids::TeamId>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub created_at: chrono::DateTime<Utc>,
}

#[derive(Default)]
pub struct AuditFilter {
    pub team_id: Option<crate::ids::TeamId>,
    pub area_id: Option<AreaId>,
}

/// Reading the audit log: admins see their area's entries, leaders and deputies their team's.
pub struct AuditLog {
    deps: crate::deps::Deps,
    teams: std::sync::Arc<crate::teams::Teams>,
}

impl AuditLog {
    pub fn new(deps: crate::deps::Deps, teams: std::sync::Arc<crate::teams::Teams>) -> Self {
        Self { deps, teams }
    }

    pub async fn entries(
        &self,
        actor: &crate::actor::Actor,
        filter: AuditFilter,
        page: crate::page::PageRequest,
    ) -> Result<crate::page::Page<AuditEntry>> {
        use sea_orm::{
            ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
            QuerySelect,
        };

        let db = &self.deps.store.db;
        let condition = match (filter.team_id, filter.area_id) {
            (Some(team), _) => {
                let team = self.teams.find(db, team).await?;
                crate::policy::check_manages_team(
                    actor,
                    &self.deps.areas,
                    self.teams.scope_for(db, Some(actor), &team).await?,
                )?;
                Condition::all().add(audit_entries::Column::TeamId.eq(team.id))
            }
            (None, Some(area)) => {
                crate::policy::check_admin_of(actor, &self.deps.areas, area)?;
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
            crate::page::Page::from_rows(rows, page.first, total, |row| {
                crate::page::Cursor::Id(row.id)
            })
            .map(|row| AuditEntry {
                id: crate::ids::AuditEntryId(row.id),
                actor_id: row.actor_id.map(VolunteerId),
                action: row.action,
                entity_type: row.entity_type,
                entity_id: row.entity_id,
                area_id: row.area_id.map(AreaId),
                team_id: row.team_id.map(crate::ids::TeamId),
                before: parse(row.before),
                after: parse(row.after),
                created_at: row.created_at,
            }),
        )
    }
}
