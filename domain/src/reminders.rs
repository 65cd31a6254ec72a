//! Reminders: before the start of each CONFIRMED sign-up's event (by default 24 h and 2 h
//! before; `FEIHONG_REMINDERS_BEFORE`), the volunteer is told (kind `REMINDER`: live, in
//! `myNotifications`, and pushed). The upkeep worker of every node creates them: each round,
//! for each offset, one `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING` into `reminders`
//! over the events starting within that offset (found through `ix_events_status_starts`, their
//! sign-ups through `ix_sign_ups_event_status`: no scan of all sign-ups). The table's key
//! (sign-up, offset, start) makes each reminder once across nodes; a moved event has a new start,
//! so its sign-ups get fresh reminders at the new times. Cancelled sign-ups and events (and
//! drafts) get none, and so do erased accounts.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait as _, JoinType, LockBehavior, LockType, OnConflict, Query,
    SelectStatement,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::deps::{Deps, whole_seconds};
use crate::entity::{events, reminders, sign_ups, volunteers};
use crate::error::{Error, Result};
use crate::ids::{EventId, SignUpId, VolunteerId};
use crate::kinds::{EventStatus, NotificationKind, SignUpStatus};
use crate::notifications::notify;
use crate::text::Text;

/// Reminders created per offset per round at most; the rest come on the next round.
const BATCH: u64 = 500;

/// What a reminder says: the event and when it starts, in the city's time.
pub fn reminder_line(title: &str, starts_at: DateTime<Utc>, timezone: Tz) -> Text {
    let local = starts_at.with_timezone(&timezone);
    Text::new("reminder-line")
        .arg("title", title)
        .arg("start", local.format("%Y-%m-%d %H:%M"))
}

/// For each offset (longest first), the starts it covers: after `now + lower` (the next shorter
/// offset, or now) up to `now + offset`. An event starting within several offsets (signed up
/// late) gets only the nearest one.
pub fn windows(offsets: &[Duration]) -> Vec<(Duration, Duration)> {
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    sorted
        .iter()
        .enumerate()
        .map(|(i, offset)| {
            (
                *offset,
                sorted.get(i + 1).copied().unwrap_or(Duration::ZERO),
            )
        })
        .collect()
}

pub struct Reminders {
    deps: Deps,
    offsets: Vec<Duration>,
}

impl Reminders {
    pub fn new(deps: Deps, offsets: Vec<Duration>) -> Self {
        Self { deps, offsets }
    }

    /// Creates the reminders that are due; how many.
    pub async fn create_due(&self) -> Result<usize> {
        let now = whole_seconds(Utc::now());
        let mut created = 0;
        for (offset, lower) in windows(&self.offsets) {
            created += self.create_for(now, offset, lower).await?;
        }
        Ok(created)
    }

    async fn create_for(
        &self,
        now: DateTime<Utc>,
        offset: Duration,
        lower: Duration,
    ) -> Result<usize> {
        let to = |d: Duration| chrono::Duration::from_std(d).map_err(Error::internal);
        let (from, until) = (now + to(lower)?, now + to(offset)?);
        let offset_s = i64::try_from(offset.as_secs()).map_err(Error::internal)?;
        if !any_due(&self.deps.store.db, now, from, until, offset_s).await? {
            return Ok(0);
        }
        let txn = self.deps.store.write().await?;
        let created = insert_due(&*txn, now, from, until, offset_s).await?;
        if created.is_empty() {
            return Ok(0);
        }
        let signed: Vec<(i64, i64, i64)> = sign_ups::Entity::find()
            .select_only()
            .column(sign_ups::Column::Id)
            .column(sign_ups::Column::VolunteerId)
            .column(sign_ups::Column::EventId)
            .filter(sign_ups::Column::Id.is_in(created.clone()))
            .into_tuple()
            .all(&*txn)
            .await?;
        let event_ids: Vec<i64> = signed.iter().map(|(_, _, event)| *event).collect();
        let found: HashMap<i64, (String, DateTime<Utc>)> = events::Entity::find()
            .select_only()
            .column(events::Column::Id)
            .column(events::Column::Title)
            .column(events::Column::StartsAt)
            .filter(events::Column::Id.is_in(event_ids))
            .into_tuple::<(i64, String, DateTime<Utc>)>()
            .all(&*txn)
            .await?
            .into_iter()
            .map(|(id, title, starts_at)| (id, (title, starts_at)))
            .collect();
        for (sign_up, volunteer, event) in signed {
            let Some((title, starts_at)) = found.get(&event) else {
                continue;
            };
            let line = reminder_line(title, *starts_at, self.deps.timezone);
            notify(
                &txn,
                VolunteerId(volunteer),
                NotificationKind::Reminder,
                Some(EventId(event)),
                Some(SignUpId(sign_up)),
                line,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(created.len())
    }
}

/// The reminders due in one window and not yet made: `(sign-up, offset, start, now)` rows.
fn due_select(
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    offset_s: i64,
) -> SelectStatement {
    let (e, s, r, v) = (
        Alias::new("e"),
        Alias::new("s"),
        Alias::new("r"),
        Alias::new("v"),
    );
    let already = Query::select()
        .expr(Expr::val(1))
        .from_as(reminders::Entity, r.clone())
        .and_where(
            Expr::col((r.clone(), reminders::Column::SignUpId))
                .equals((s.clone(), sign_ups::Column::Id)),
        )
        .and_where(Expr::col((r.clone(), reminders::Column::OffsetSeconds)).eq(offset_s))
        .and_where(
            Expr::col((r, reminders::Column::StartsAt))
                .equals((e.clone(), events::Column::StartsAt)),
        )
        .to_owned();
    Query::select()
        .column((s.clone(), sign_ups::Column::Id))
        .expr(Expr::val(offset_s))
        .column((e.clone(), events::Column::StartsAt))
        .expr(Expr::val(now))
        .from_as(events::Entity, e.clone())
        .join_as(
            JoinType::InnerJoin,
            sign_ups::Entity,
            s.clone(),
            Expr::col((s.clone(), sign_ups::Column::EventId))
                .equals((e.clone(), events::Column::Id)),
        )
        .join_as(
            JoinType::InnerJoin,
            volunteers::Entity,
            v.clone(),
            Expr::col((v.clone(), volunteers::Column::Id))
                .equals((s.clone(), sign_ups::Column::VolunteerId)),
        )
        .and_where(Expr::col((v, volunteers::Column::DeletedAt)).is_null())
        .and_where(
            Expr::col((e.clone(), events::Column::Status))
                .eq(EventStatus::Published.to_value_string()),
        )
        .and_where(Expr::col((e.clone(), events::Column::StartsAt)).gt(from))
        .and_where(Expr::col((e, events::Column::StartsAt)).lte(until))
        .and_where(
            Expr::col((s, sign_ups::Column::Status)).eq(SignUpStatus::Confirmed.to_value_string()),
        )
        .and_where(Expr::exists(already).not())
        .limit(BATCH)
        .to_owned()
}

/// Whether any reminder of the window is due: a read, so a quiet round takes no write lock.
async fn any_due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    offset_s: i64,
) -> Result<bool> {
    let probe = due_select(now, from, until, offset_s).limit(1).to_owned();
    Ok(conn.query_one(&probe).await?.is_some())
}

/// Records the reminders due in one window, once (the key decides between nodes); the sign-ups
/// that got one.
async fn insert_due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    offset_s: i64,
) -> Result<Vec<i64>> {
    // On PostgreSQL the sign-up and its volunteer are read with a share lock, skipping rows a
    // cancellation or an erasure holds: such a reminder waits for the next round, which reads
    // what they committed, so no reminder follows either (and no lock is waited for, so none
    // can deadlock with their order: volunteer, event, sign-ups). An erasure that starts after
    // this read waits for this transaction and then deletes what it wrote. (SQLite writes one
    // transaction at a time and has no row locks.)
    let mut due = due_select(now, from, until, offset_s);
    due.lock_with_tables_behavior(
        LockType::Share,
        [Alias::new("s"), Alias::new("v")],
        LockBehavior::SkipLocked,
    );
    let insert = Query::insert()
        .into_table(reminders::Entity)
        .columns([
            reminders::Column::SignUpId,
            reminders::Column::OffsetSeconds,
            reminders::Column::StartsAt,
            reminders::Column::CreatedAt,
        ])
        .select_from(due)
        .map_err(Error::internal)?
        .on_conflict(
            OnConflict::columns([
                reminders::Column::SignUpId,
                reminders::Column::OffsetSeconds,
                reminders::Column::StartsAt,
            ])
            .do_nothing()
            .to_owned(),
        )
        .returning_col(reminders::Column::SignUpId)
        .to_owned();
    let rows = conn.query_all(&insert).await?;
    rows.iter()
        .map(|row| row.try_get::<i64>("", "sign_up_id").map_err(Error::from))
        .collect()
}

trait StoredValue {
    fn to_value_string(self) -> String;
}

impl<T: sea_orm::ActiveEnum<Value = String>> StoredValue for T {
    fn to_value_string(self) -> String {
        self.to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_offset_covers_the_starts_down_to_the_next_shorter_one() {
        let (day, two_hours) = (Duration::from_secs(86_400), Duration::from_secs(7200));
        assert_eq!(
            windows(&[two_hours, day]),
            vec![(day, two_hours), (two_hours, Duration::ZERO)]
        );
        assert!(windows(&[]).is_empty());
    }

    #[test]
    fn a_reminder_names_the_event_and_its_local_start() {
        let starts = DateTime::parse_from_rfc3339("2026-12-01T11:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            reminder_line("祖庙夜间巡逻", starts, chrono_tz::Asia::Shanghai)
                .render(crate::text::Locale::En),
            "Reminder: 祖庙夜间巡逻 starts at 2026-12-01 19:30"
        );
    }
}
