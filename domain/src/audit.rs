//! The audit log: every leader and admin write records who did what to which record, with the
//! record before and after. Written in the same transaction as the change it describes. Writing
//! only: this module imports nothing but the entity, so every service can record; reading the log
//! (which needs `teams` to authorize) is `audit_log`.

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
