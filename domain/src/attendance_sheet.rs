//! An event's attendance sheet for export: every sign-up with its status, check-in and
//! check-out (when and how each was recorded), the minutes its service record credits and where
//! that record's review stands. Read page by page, four queries a page, so an event of any size
//! is never held in memory at once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::actor::Actor;
use crate::deps::Deps;
use crate::entity::{attendances, events, service_records, sign_ups, teams, volunteers};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{AreaId, SignUpId, TeamId, VolunteerId};
use crate::kinds::{RecordStatus, SignUpStatus};
use crate::policy::{self, TeamScope};
use crate::teams::Teams;

/// The most lines one page of a sheet holds.
pub const SHEET_PAGE: u64 = 500;

/// How a check-in or check-out was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordedBy {
    /// The volunteer, by their phone's position.
    SelfByGps,
    /// A leader or deputy (or an admin), by hand.
    Leader,
    /// The server, closing a check-in nobody closed at the event's end.
    Automatically,
    /// The volunteer, by their phone's position, reported offline (it reached the server more
    /// than ten minutes after its time).
    SelfOffline,
}

impl RecordedBy {
    /// The volunteer's own report, told apart when it reached the server at `received` more than
    /// ten minutes after its time `at` (unknown for rows older than the server's record of it).
    pub fn reported(self, at: DateTime<Utc>, received: Option<DateTime<Utc>>) -> Self {
        let offline = received.is_some_and(|received| crate::attendance::is_offline(at, received));
        if self == Self::SelfByGps && offline {
            Self::SelfOffline
        } else {
            self
        }
    }

    /// Who recorded a moment of `volunteer`'s attendance: themself or someone else.
    pub fn of(volunteer: VolunteerId, by: VolunteerId) -> Self {
        if by == volunteer {
            Self::SelfByGps
        } else {
            Self::Leader
        }
    }

    /// Who recorded a check-out: the server when it closed the check-in itself, else whoever
    /// `by` names; `None` while nobody has checked out.
    pub fn of_check_out(
        volunteer: VolunteerId,
        by: Option<VolunteerId>,
        auto_closed: bool,
        closed: bool,
    ) -> Option<Self> {
        match (closed, auto_closed, by) {
            (false, _, _) => None,
            (true, true, _) => Some(Self::Automatically),
            (true, false, by) => by.map(|by| Self::of(volunteer, by)),
        }
    }
}

/// The attendance of a sign-up, as the sheet shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetAttendance {
    pub check_in_at: DateTime<Utc>,
    pub checked_in_by: RecordedBy,
    pub check_out_at: Option<DateTime<Utc>>,
    pub checked_out_by: Option<RecordedBy>,
}

/// The service record an attendance earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetRecord {
    pub minutes: i32,
    pub status: RecordStatus,
    pub needs_review: bool,
}

/// One sign-up on the sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetLine {
    pub sign_up: SignUpId,
    pub display_name: String,
    pub status: SignUpStatus,
    pub signed_up_at: DateTime<Utc>,
    pub attendance: Option<SheetAttendance>,
    pub record: Option<SheetRecord>,
}

/// One page of a sheet, and where the next begins (`None` after the last).
#[derive(Debug, Clone)]
pub struct SheetPage {
    pub lines: Vec<SheetLine>,
    pub next: Option<SignUpId>,
}

/// Reads attendance sheets.
pub struct AttendanceSheets {
    deps: Deps,
    teams: Arc<Teams>,
}

impl AttendanceSheets {
    pub fn new(deps: Deps, teams: Arc<Teams>) -> Self {
        Self { deps, teams }
    }

    /// Opens the event's sheet for export: for leaders and deputies of its team and admins of
    /// the team's area (`NOT_FOUND` for no such event, `FORBIDDEN` for anyone else).
    pub async fn open(&self, actor: &Actor, event: crate::ids::EventId) -> Result<Event> {
        let db = &self.deps.store.db;
        let row = events::Entity::find_by_id(event.0)
            .one(db)
            .await?
            .ok_or(Error::NotFound("event"))?;
        let team = teams::Entity::find_by_id(row.team_id)
            .one(db)
            .await?
            .ok_or(Error::NotFound("event"))?;
        let scope = TeamScope {
            area: AreaId(team.area_id),
            actor_role: self
                .teams
                .role_of(db, actor.volunteer, TeamId(team.id))
                .await?,
        };
        policy::check_manages_team(actor, &self.deps.areas, scope)?;
        Ok(Event::from(row))
    }

    /// Up to `limit` (at most [`SHEET_PAGE`]) sign-ups of the event after `after`, in sign-up
    /// order, whatever their status.
    pub async fn page(
        &self,
        event: &Event,
        after: Option<SignUpId>,
        limit: u64,
    ) -> Result<SheetPage> {
        let db = &self.deps.store.db;
        let limit = limit.clamp(1, SHEET_PAGE);
        let mut query = sign_ups::Entity::find()
            .filter(sign_ups::Column::EventId.eq(event.id.0))
            .order_by_asc(sign_ups::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(sign_ups::Column::Id.gt(after.0));
        }
        let rows = query.all(db).await?;
        let next = rows
            .last()
            .filter(|_| rows.len() as u64 == limit)
            .map(|row| SignUpId(row.id));
        let people: Vec<i64> = rows.iter().map(|row| row.volunteer_id).collect();
        let names = display_names(db, &people).await?;
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let attended = attendances_of(db, &ids).await?;
        let attendance_ids: Vec<i64> = attended.values().map(|row| row.id).collect();
        let records = records_of(db, &attendance_ids).await?;
        let lines = rows
            .into_iter()
            .map(|row| {
                let attendance = attended.get(&row.id);
                SheetLine {
                    sign_up: SignUpId(row.id),
                    display_name: names.get(&row.volunteer_id).cloned().unwrap_or_default(),
                    status: row.status,
                    signed_up_at: row.created_at,
                    attendance: attendance.map(sheet_attendance),
                    record: attendance.and_then(|a| records.get(&a.id).copied()),
                }
            })
            .collect();
        Ok(SheetPage { lines, next })
    }
}

fn sheet_attendance(row: &attendances::Model) -> SheetAttendance {
    let volunteer = VolunteerId(row.volunteer_id);
    SheetAttendance {
        check_in_at: row.check_in_at,
        checked_in_by: RecordedBy::of(volunteer, VolunteerId(row.check_in_by))
            .reported(row.check_in_at, row.check_in_received_at),
        check_out_at: row.check_out_at,
        checked_out_by: RecordedBy::of_check_out(
            volunteer,
            row.check_out_by.map(VolunteerId),
            row.auto_closed,
            row.check_out_at.is_some(),
        )
        .map(|by| match row.check_out_at {
            Some(at) => by.reported(at, row.check_out_received_at),
            None => by,
        }),
    }
}

async fn display_names(db: &impl ConnectionTrait, people: &[i64]) -> Result<HashMap<i64, String>> {
    if people.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = volunteers::Entity::find()
        .select_only()
        .column(volunteers::Column::Id)
        .column(volunteers::Column::DisplayName)
        .filter(volunteers::Column::Id.is_in(people.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The attendance of each sign-up (at most one: a unique index), by sign-up id.
async fn attendances_of(
    db: &impl ConnectionTrait,
    sign_ups: &[i64],
) -> Result<HashMap<i64, attendances::Model>> {
    if sign_ups.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = attendances::Entity::find()
        .filter(attendances::Column::SignUpId.is_in(sign_ups.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|row| (row.sign_up_id, row)).collect())
}

/// The service record of each attendance (the latest, should there be more), by attendance id.
async fn records_of(
    db: &impl ConnectionTrait,
    attendances: &[i64],
) -> Result<HashMap<i64, SheetRecord>> {
    if attendances.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = service_records::Entity::find()
        .filter(service_records::Column::AttendanceId.is_in(attendances.iter().copied()))
        .order_by_asc(service_records::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let record = SheetRecord {
                minutes: row.minutes,
                status: row.status,
                needs_review: row.needs_review,
            };
            Some((row.attendance_id?, record))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_moment_says_who_recorded_it() {
        let (me, leader) = (VolunteerId(7), VolunteerId(9));
        assert_eq!(RecordedBy::of(me, me), RecordedBy::SelfByGps);
        assert_eq!(RecordedBy::of(me, leader), RecordedBy::Leader);
        let out = |by, auto_closed, closed| RecordedBy::of_check_out(me, by, auto_closed, closed);
        assert_eq!(out(Some(me), false, true), Some(RecordedBy::SelfByGps));
        assert_eq!(out(Some(leader), false, true), Some(RecordedBy::Leader));
        assert_eq!(out(None, true, true), Some(RecordedBy::Automatically));
        assert_eq!(out(None, false, false), None, "still checked in");
    }
}
