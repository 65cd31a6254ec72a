//! Admins finding a volunteer (`volunteers`), and leaders messaging their team (`messageTeam`).

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use feihong_domain::accounts::VolunteerLookup;
use feihong_domain::ids::{AreaId, TeamId};
use feihong_domain::policy::Relation;
use feihong_domain::team_messages::SentMessage;

use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::GlobalId as _;
use super::limits::cost;
use super::scalars::{ListConnection, connection, page_request};
use super::team::Team;
use super::volunteer::Volunteer;

#[derive(InputObject, Default)]
pub struct VolunteerFilter {
    /// The phone number, exactly, in any common format (`13812345678`, `+86 138 1234 5678`).
    pub phone: Option<String>,
    /// Part of the display name, any case: 1–40 characters.
    pub name_contains: Option<String>,
    /// Only volunteers homed in this area (and below); it must lie inside the caller's areas.
    pub area_id: Option<ID>,
}

#[derive(Default)]
pub struct LookupQuery;

#[Object]
impl LookupQuery {
    /// Admins find volunteers homed in their areas (someone who calls for help), by id. Each is
    /// seen as an admin of their home area sees them (no full phone number). Everyone else is
    /// refused.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn volunteers(
        &self,
        ctx: &Context<'_>,
        filter: Option<VolunteerFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Volunteer>> {
        let actor = ctx.request().actor().await?;
        let filter = filter.unwrap_or_default();
        let lookup = VolunteerLookup {
            phone: filter.phone,
            name_contains: filter.name_contains,
            area_id: AreaId::parse_optional(filter.area_id.as_ref(), "filter.areaId")?,
        };
        let page = page_request(first, after)?;
        let page = ctx
            .services()
            .accounts
            .find_volunteers(actor, lookup, page)
            .await
            .map_err(|e| e.in_argument("filter"))?;
        Ok(connection(page, |v| {
            Volunteer::seen_as(v, Relation::Supervisor)
        }))
    }
}

/// A message sent to a team.
pub struct TeamMessage(SentMessage);

#[Object]
impl TeamMessage {
    async fn team(&self, ctx: &Context<'_>) -> GqlResult<Option<Team>> {
        ctx.request().load(|l| &l.teams, self.0.team_id, Team).await
    }

    /// How many ACTIVE members were told (the sender among them).
    async fn recipients(&self) -> i64 {
        i64::try_from(self.0.recipients).unwrap_or(i64::MAX)
    }

    async fn sent_at(&self) -> DateTime<Utc> {
        self.0.sent_at
    }
}

#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    /// A leader or deputy tells every ACTIVE member of the team something (a notification of kind
    /// MESSAGE, live over `mySignUpUpdates` and in `myNotifications`). 1–500 characters; at most
    /// 5 messages per team per hour; audited.
    async fn message_team(
        &self,
        ctx: &Context<'_>,
        team_id: ID,
        text: String,
    ) -> GqlResult<TeamMessage> {
        let actor = ctx.request().actor().await?;
        let team = TeamId::parse(&team_id, "teamId")?;
        let sent = ctx
            .services()
            .team_messages
            .message_team(actor, team, &text)
            .await?;
        Ok(TeamMessage(sent))
    }
}
