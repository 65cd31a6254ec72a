//! Participation statistics for admins.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use feihong_domain::ids::AreaId;
use feihong_domain::stats::{self, Dimension, Figures};

use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::GlobalId as _;
use super::scalars::Date;

/// What statistics can be grouped by. DISTRICT and TOWN are those of the team's area (of the
/// volunteer's home area for new volunteers); DAY, WEEK (ISO) and MONTH are local dates.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "stats::Dimension")]
pub enum StatsDimension {
    District,
    Town,
    TeamKind,
    Team,
    Day,
    Week,
    Month,
}

/// The figures of one group, or of the whole range.
#[derive(SimpleObject)]
pub struct ParticipationRow {
    /// One label per `groupBy` dimension, e.g. ["顺德区", "2026-05"]; empty for the totals.
    pub key: Vec<String>,
    /// Distinct volunteers with approved service in the range (exact, not estimated).
    pub active_volunteers: i64,
    /// Volunteers registered in the range (by home area and day). Registrations have no team:
    /// when grouped by TEAM_KIND or TEAM, rows show 0 and only the totals carry the figure.
    pub new_volunteers: i64,
    /// Published (not cancelled) events that started in the range.
    pub events_held: i64,
    /// Sign-ups (confirmed, waitlisted or no-show) for those events.
    pub sign_ups: i64,
    /// Sign-ups of those events that checked in.
    pub attended: i64,
    /// Confirmed sign-ups that never checked in (set two hours after the event ends).
    pub no_shows: i64,
    /// Approved minutes with a service date in the range.
    pub approved_minutes: i64,
}

impl ParticipationRow {
    fn new(key: Vec<String>, figures: Figures) -> Self {
        Self {
            key,
            active_volunteers: figures.active_volunteers,
            new_volunteers: figures.new_volunteers,
            events_held: figures.events_held,
            sign_ups: figures.sign_ups,
            attended: figures.attended,
            no_shows: figures.no_shows,
            approved_minutes: figures.approved_minutes,
        }
    }
}

#[derive(SimpleObject)]
pub struct ParticipationStats {
    pub totals: ParticipationRow,
    pub rows: Vec<ParticipationRow>,
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Participation in an area (with its subtree) between two local dates (inclusive, at most
    /// 3 years), grouped by up to two dimensions. Admins of the area only. Figures come from
    /// rollups that follow the writes within seconds.
    async fn participation_stats(
        &self,
        ctx: &Context<'_>,
        area_id: ID,
        from: Date,
        to: Date,
        #[graphql(default)] group_by: Vec<StatsDimension>,
    ) -> GqlResult<ParticipationStats> {
        let actor = ctx.request().actor().await?;
        let area = AreaId::parse(&area_id, "areaId")?;
        let group_by: Vec<Dimension> = group_by.into_iter().map(Into::into).collect();
        let stats = ctx
            .services()
            .stats
            .participation(actor, area, from.0, to.0, &group_by)
            .await?;
        Ok(ParticipationStats {
            totals: ParticipationRow::new(Vec::new(), stats.totals),
            rows: stats
                .rows
                .into_iter()
                .map(|row| ParticipationRow::new(row.key, row.figures))
                .collect(),
        })
    }
}
