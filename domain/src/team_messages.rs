//! `messageTeam`: a team's leaders and deputies tell every ACTIVE member something at once (kind
//! `MESSAGE`). The notifications are written in one `INSERT … SELECT` over the team's
//! memberships, in the same transaction as the audit entry, and published after commit as one
//! change (`Change::Told`), however many members the team has. Each team may send at most
//! [`MESSAGES_PER_TEAM`] per [`MESSAGE_WINDOW`], counted across API nodes (Redis when
//! configured, `RateLimiter`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveEnum as _, ColumnTrait, ConnectionTrait, EntityTrait, QueryResult};
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::bus::{Change, Recipients};
use crate::deps::{Deps, text};
use crate::entity::{memberships, notifications};
use crate::error::{Error, Result};
use crate::ids::{TeamId, VolunteerId};
use crate::kinds::{MembershipStatus, NotificationKind};
use crate::policy;
use crate::redis_store::RedisStore;
use crate::teams::Teams;
use crate::text::{Locale, Text};
use crate::throttle::{Limit, RateLimiter};

/// A message is 1–500 characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// At most this many messages per team per [`MESSAGE_WINDOW`].
pub const MESSAGES_PER_TEAM: u32 = 5;
pub const MESSAGE_WINDOW: Duration = Duration::from_secs(60 * 60);

/// What a sent message did.
#[derive(Debug, Clone, Serialize)]
pub struct SentMessage {
    pub team_id: TeamId,
    /// How many ACTIVE members were told (the sender among them).
    pub recipients: u64,
    pub sent_at: DateTime<Utc>,
}

pub struct TeamMessages {
    deps: Deps,
    teams: Arc<Teams>,
    limiter: RateLimiter,
}

/// The message as members read it: the team and the sender, then the text (each member in
/// their own language; the sender's words as written).
pub fn message_line(team_name: &str, sender: &str, text: &str) -> Text {
    Text::new("team-message-line")
        .arg("team", team_name)
        .arg("sender", sender)
        .arg("text", text)
}

impl TeamMessages {
    pub fn new(deps: Deps, teams: Arc<Teams>, redis: Option<Arc<RedisStore>>) -> Self {
        let limit = Limit {
            max: MESSAGES_PER_TEAM,
            window: MESSAGE_WINDOW,
        };
        Self {
            deps,
            teams,
            limiter: RateLimiter::new("team-message", limit, redis),
        }
    }

    /// Checks the text and the sender, counts the message against the team's limit, then writes
    /// one notification per ACTIVE member and the audit entry in one transaction.
    pub async fn message_team(
        &self,
        actor: &Actor,
        team_id: TeamId,
        raw_text: &str,
    ) -> Result<SentMessage> {
        let text = text(raw_text, "text", 1, MAX_MESSAGE_CHARS, true)?;
        let db = &self.deps.store.db;
        // Refused senders are turned away before they can use up the team's messages.
        let (team, _) = self
            .teams
            .require(db, actor, team_id, policy::check_messages_team)
            .await?;
        self.limiter
            .reserve_for(&format!("team:{}", team_id.0))
            .await?;
        let sender = crate::entity::volunteers::Entity::find_by_id(actor.volunteer.0)
            .one(db)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let line = message_line(&team.name, &sender.display_name, &text);

        let txn = self.deps.store.write().await?;
        // Checked again inside the transaction: the sender may have lost the role meanwhile.
        let (team, scope) = self
            .teams
            .require(&*txn, actor, team_id, policy::check_messages_team)
            .await?;
        let sent_at = Utc::now();
        let told = insert_for_members(&*txn, team_id, &line, sent_at).await?;
        crate::push::queue_for_team(&*txn, team_id, &line, sent_at).await?;
        let sent = SentMessage {
            team_id,
            recipients: told.len() as u64,
            sent_at,
        };
        audit::record(
            &*txn,
            AuditRecord::<(), _> {
                actor: Some(actor.volunteer),
                action: "team.message",
                entity_type: "team",
                entity_id: team.id,
                area: Some(scope.area),
                team_id: Some(team.id),
                before: None,
                after: Some(&serde_json::json!({ "text": text, "recipients": sent.recipients })),
            },
        )
        .await?;
        if !told.is_empty() {
            txn.changed(Change::Told(Recipients::new(told)));
        }
        txn.commit().await?;
        Ok(sent)
    }
}

/// One notification for every ACTIVE member of the team, in one statement; who got which.
async fn insert_for_members(
    conn: &impl ConnectionTrait,
    team: TeamId,
    line: &Text,
    at: DateTime<Utc>,
) -> Result<Vec<(VolunteerId, i64)>> {
    let members = Query::select()
        .column(memberships::Column::VolunteerId)
        .expr(Expr::val(NotificationKind::Message.to_value()))
        .expr(Expr::val(line.render(Locale::default())))
        .expr(Expr::val(line.key.clone()))
        .expr(Expr::val(line.args_json()))
        .expr(Expr::val(at))
        .from(memberships::Entity)
        .and_where(memberships::Column::TeamId.eq(team.0))
        .and_where(memberships::Column::Status.eq(MembershipStatus::Active))
        .to_owned();
    let insert = Query::insert()
        .into_table(notifications::Entity)
        .columns([
            notifications::Column::VolunteerId,
            notifications::Column::Kind,
            notifications::Column::Message,
            notifications::Column::TextKey,
            notifications::Column::TextArgs,
            notifications::Column::CreatedAt,
        ])
        .select_from(members)
        .map_err(Error::internal)?
        .returning(Query::returning().columns([
            notifications::Column::Id,
            notifications::Column::VolunteerId,
        ]))
        .to_owned();
    let rows = conn.query_all(&insert).await?;
    rows.iter().map(told).collect()
}

fn told(row: &QueryResult) -> Result<(VolunteerId, i64)> {
    let id: i64 = row.try_get("", "id")?;
    let volunteer: i64 = row.try_get("", "volunteer_id")?;
    Ok((VolunteerId(volunteer), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_its_team_and_sender() {
        assert_eq!(
            message_line("祖庙巡逻队", "黄飞鸿", "今晚集合改到祖庙东门").render(Locale::ZhCn),
            "【祖庙巡逻队】黄飞鸿：今晚集合改到祖庙东门"
        );
        assert_eq!(
            message_line("祖庙巡逻队", "黄飞鸿", "meet at the east gate").render(Locale::En),
            "[祖庙巡逻队] 黄飞鸿: meet at the east gate"
        );
    }
}
