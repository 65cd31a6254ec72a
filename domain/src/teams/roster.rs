//! A team's roster for export: its ACTIVE members with their role, phone number (as the reader
//! may see it, `policy::member_phone`), when they joined and their approved minutes for the
//! team. Read page by page, three queries a page, so a team of thousands is never held in
//! memory at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Team, Teams};
use crate::actor::Actor;
use crate::entity::{memberships, tallies, teams, volunteers};
use crate::error::{Error, Result};
use crate::ids::{AreaId, MembershipId, TeamId};
use crate::kinds::{MemberRole, MembershipStatus};
use crate::policy::{self, TeamReader, TeamScope};
use crate::tallies::{KIND_MEMBER, Period};

/// The most lines one page of a roster holds.
pub const ROSTER_PAGE: u64 = 500;

/// The periods a roster counts minutes in.
const PERIODS: [Period; 2] = [Period::Year, Period::AllTime];

/// A roster the caller may export: the team, how the caller reads it, and the keys of the
/// periods its minutes are counted in (fixed when the export starts, so every page counts the
/// same year).
#[derive(Debug, Clone)]
pub struct RosterExport {
    pub team: Team,
    reader: TeamReader,
    period_keys: [String; 2],
}

/// One member on the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterLine {
    pub membership: MembershipId,
    pub display_name: String,
    pub role: MemberRole,
    /// As the reader may see it; `None` when they may not.
    pub phone: Option<String>,
    pub joined_at: DateTime<Utc>,
    /// Approved minutes for this team in the current year (city time zone) and in all.
    pub minutes_this_year: i64,
    pub minutes_all_time: i64,
}

/// One page of a roster, and where the next begins (`None` after the last).
#[derive(Debug, Clone)]
pub struct RosterPage {
    pub lines: Vec<RosterLine>,
    pub next: Option<MembershipId>,
}

impl Teams {
    /// Opens the team's roster for export: for its leaders and deputies and admins of its area
    /// (`NOT_FOUND` for no such team, `FORBIDDEN` for anyone else).
    pub async fn open_roster(&self, actor: &Actor, team: TeamId) -> Result<RosterExport> {
        let db = &self.deps.store.db;
        let row = teams::Entity::find_by_id(team.0)
            .one(db)
            .await?
            .ok_or(Error::NotFound("team"))?;
        let scope = TeamScope {
            area: AreaId(row.area_id),
            actor_role: self.role_of(db, actor.volunteer, team).await?,
        };
        policy::check_manages_team(actor, &self.deps.areas, scope)?;
        let reader = policy::check_reads_members(actor, &self.deps.areas, scope)?;
        Ok(RosterExport {
            team: Team::from(row),
            reader,
            period_keys: PERIODS.map(|period| period.current_key(self.deps.timezone)),
        })
    }

    /// Up to `limit` (at most [`ROSTER_PAGE`]) ACTIVE members after `after`, in joining order.
    pub async fn roster_page(
        &self,
        export: &RosterExport,
        after: Option<MembershipId>,
        limit: u64,
    ) -> Result<RosterPage> {
        let db = &self.deps.store.db;
        let limit = limit.clamp(1, ROSTER_PAGE);
        let mut query = memberships::Entity::find()
            .filter(memberships::Column::TeamId.eq(export.team.id.0))
            .filter(memberships::Column::Status.eq(MembershipStatus::Active))
            .order_by_asc(memberships::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(memberships::Column::Id.gt(after.0));
        }
        let rows = query.all(db).await?;
        let next = rows
            .last()
            .filter(|_| rows.len() as u64 == limit)
            .map(|row| MembershipId(row.id));
        let people: Vec<i64> = rows.iter().map(|row| row.volunteer_id).collect();
        let names = names_and_phones(db, &people).await?;
        let minutes = member_minutes(db, export, &people).await?;
        let lines = rows
            .into_iter()
            .filter_map(|row| {
                let (display_name, phone) = names.get(&row.volunteer_id)?;
                let minutes = |period: Period| {
                    minutes
                        .get(&(row.volunteer_id, period.code()))
                        .copied()
                        .unwrap_or(0)
                };
                Some(RosterLine {
                    membership: MembershipId(row.id),
                    display_name: display_name.clone(),
                    role: row.role,
                    phone: policy::member_phone(export.reader, row.status).apply(phone),
                    joined_at: row.created_at,
                    minutes_this_year: minutes(Period::Year),
                    minutes_all_time: minutes(Period::AllTime),
                })
            })
            .collect();
        Ok(RosterPage { lines, next })
    }
}

/// Display name and stored phone number of each volunteer.
async fn names_and_phones(
    db: &impl ConnectionTrait,
    people: &[i64],
) -> Result<HashMap<i64, (String, String)>> {
    if people.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String, String)> = volunteers::Entity::find()
        .select_only()
        .column(volunteers::Column::Id)
        .column(volunteers::Column::DisplayName)
        .column(volunteers::Column::Phone)
        .filter(volunteers::Column::Id.is_in(people.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, phone)| (id, (name, phone)))
        .collect())
}

/// The members' approved minutes for the team this year and in all, keyed by (volunteer,
/// period code): one query over the MEMBER tallies.
async fn member_minutes(
    db: &impl ConnectionTrait,
    export: &RosterExport,
    people: &[i64],
) -> Result<HashMap<(i64, &'static str), i64>> {
    if people.is_empty() {
        return Ok(HashMap::new());
    }
    let mut which = Condition::any();
    for (period, key) in PERIODS.iter().zip(&export.period_keys) {
        which = which.add(
            Condition::all()
                .add(tallies::Column::Period.eq(period.code()))
                .add(tallies::Column::PeriodKey.eq(key.as_str())),
        );
    }
    let rows: Vec<(i64, String, i64)> = tallies::Entity::find()
        .select_only()
        .column(tallies::Column::VolunteerId)
        .column(tallies::Column::Period)
        .column(tallies::Column::Minutes)
        .filter(tallies::Column::Kind.eq(KIND_MEMBER))
        .filter(tallies::Column::TeamId.eq(export.team.id.0))
        .filter(tallies::Column::VolunteerId.is_in(people.iter().copied()))
        .filter(which)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(volunteer, code, minutes)| {
            let period = PERIODS.iter().find(|period| period.code() == code)?;
            Some(((volunteer, period.code()), minutes))
        })
        .collect())
}
