//! Hours, star levels and leaderboards.

use async_graphql::{Context, ID, Object, OneofObject, SimpleObject};
use feihong_domain::ids::{AreaId, TeamId};
use feihong_domain::leaderboards::{self, Ranked, Scope};
use feihong_domain::policy::{self, Relation};

use super::context::ContextExt as _;
use super::enums::{Period, TeamKind};
use super::error::{GqlError, GqlResult};
use super::ids::GlobalId as _;
use super::limits::cost;
use super::team::Team;
use super::volunteer::Volunteer;

/// Whose minutes to rank: the whole city, an area (with everything below it), or one team.
#[derive(OneofObject)]
pub enum LeaderboardScope {
    City(bool),
    AreaId(ID),
    TeamId(ID),
}

/// One line of a volunteer leaderboard. Equal minutes share a rank (1, 2, 2, 4).
#[derive(SimpleObject)]
pub struct LeaderboardEntry {
    pub rank: i64,
    /// Shown anonymised when the volunteer opted out of public leaderboards.
    pub volunteer: Volunteer,
    pub minutes: i64,
    /// True when the volunteer opted out and is shown without name.
    pub anonymous: bool,
}

#[derive(SimpleObject)]
pub struct Leaderboard {
    pub entries: Vec<LeaderboardEntry>,
    /// The caller's own line, however far down; null when anonymous or without minutes.
    pub viewer: Option<LeaderboardEntry>,
    /// How many volunteers have minutes on this board.
    pub total: u64,
}

#[derive(SimpleObject)]
pub struct TeamLeaderboardEntry {
    pub rank: i64,
    pub team: Team,
    pub minutes: i64,
}

fn scope(scope: LeaderboardScope) -> GqlResult<Scope> {
    Ok(match scope {
        LeaderboardScope::City(true) => Scope::City,
        LeaderboardScope::City(false) => {
            return Err(GqlError::bad_input("scope.city", "must-be-true-when-given"));
        }
        LeaderboardScope::AreaId(id) => Scope::Area(AreaId::parse(&id, "scope.areaId")?),
        LeaderboardScope::TeamId(id) => Scope::Team(TeamId::parse(&id, "scope.teamId")?),
    })
}

fn first(first: i32) -> GqlResult<usize> {
    if (1..=leaderboards::MAX_ENTRIES as i32).contains(&first) {
        Ok(first as usize)
    } else {
        Err(GqlError::bad_input("first", "must-be-from-1-to-100"))
    }
}

async fn entries(
    ctx: &Context<'_>,
    lines: Vec<Ranked<feihong_domain::ids::VolunteerId>>,
    viewer: Option<feihong_domain::ids::VolunteerId>,
) -> GqlResult<Vec<LeaderboardEntry>> {
    let people = ctx
        .request()
        .loaders
        .volunteers
        .load_many(lines.iter().map(|line| line.subject))
        .await?;
    Ok(lines
        .into_iter()
        .filter_map(|line| {
            let person = people.get(&line.subject)?.clone();
            let anonymous =
                policy::anonymous_on_leaderboards(viewer, person.id, person.show_on_leaderboards);
            let volunteer = if anonymous {
                Volunteer::anonymous(person)
            } else {
                Volunteer::seen_as(person, Relation::Stranger)
            };
            Some(LeaderboardEntry {
                rank: line.rank,
                volunteer,
                minutes: line.minutes,
                anonymous,
            })
        })
        .collect())
}

#[derive(Default)]
pub struct LeaderboardQuery;

#[Object]
impl LeaderboardQuery {
    /// Volunteers ranked by approved minutes in the period, with the caller's own rank.
    #[graphql(complexity = "cost::page(Some(first), child_complexity)")]
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        scope: LeaderboardScope,
        #[graphql(default_with = "Period::AllTime")] period: Period,
        #[graphql(default = 20)] first: i32,
    ) -> GqlResult<Leaderboard> {
        let scope = self::scope(scope)?;
        let first = self::first(first)?;
        let viewer = ctx
            .request()
            .viewer()
            .await?
            .actor()
            .map(|actor| actor.volunteer);
        let board = ctx
            .services()
            .leaderboards
            .leaderboard(scope, period.into(), first, viewer)
            .await?;
        let own = match board.viewer {
            Some(line) => entries(ctx, vec![line], viewer).await?.into_iter().next(),
            None => None,
        };
        Ok(Leaderboard {
            entries: entries(ctx, board.entries, viewer).await?,
            viewer: own,
            total: board.total,
        })
    }

    /// Teams ranked by approved minutes in the period, within an area (the city when absent)
    /// and, optionally, of one kind. With `rollUp: true` only teams without a parent are ranked,
    /// each with the minutes of all its sub-teams (however deep) included.
    #[graphql(complexity = "cost::page(Some(first), child_complexity)")]
    async fn team_leaderboard(
        &self,
        ctx: &Context<'_>,
        area_id: Option<ID>,
        kind: Option<TeamKind>,
        #[graphql(default_with = "Period::AllTime")] period: Period,
        #[graphql(default = 20)] first: i32,
        #[graphql(default_with = "Some(false)")] roll_up: Option<bool>,
    ) -> GqlResult<Vec<TeamLeaderboardEntry>> {
        let area = area_id.map(|id| AreaId::parse(&id, "areaId")).transpose()?;
        let first = self::first(first)?;
        let lines = ctx
            .services()
            .leaderboards
            .team_leaderboard(
                area,
                kind.map(Into::into),
                roll_up.unwrap_or(false),
                period.into(),
                first,
            )
            .await?;
        let teams = ctx
            .request()
            .loaders
            .teams
            .load_many(lines.iter().map(|line| line.subject))
            .await?;
        Ok(lines
            .into_iter()
            .filter_map(|line| {
                Some(TeamLeaderboardEntry {
                    rank: line.rank,
                    team: Team(teams.get(&line.subject)?.clone()),
                    minutes: line.minutes,
                })
            })
            .collect())
    }
}
