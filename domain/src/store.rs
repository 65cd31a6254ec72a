//! Write transactions. PostgreSQL runs them concurrently and the conditional updates inside
//! decide races. SQLite has a single writer: a deferred transaction that reads and then writes
//! fails with SQLITE_BUSY_SNAPSHOT (no waiting) when another write landed in between, so on
//! SQLite write transactions begin IMMEDIATE (taking the write lock up front, waiting on the busy
//! timeout) and queue on one async lock first, so they wait in order instead of polling.
//!
//! Every write a request makes goes through [`Store::write`] (accounts and sessions included), so
//! the lock order and the effects published after commit below hold for all of them. The one
//! exception is an idempotency key's claim (`idempotency`), which must stand on its own before
//! the work it guards begins; the background workers' bookkeeping (a failed item set aside, a
//! delivered outbox row) is single statements on rows no request locks. What a request wrote is
//! noted for the API's one retry after an outage (`request_writes`; [`watch_writes`],
//! [`RequestWrites`]).

use std::collections::BTreeSet;
use std::ops::Deref;
use std::sync::{Arc, PoisonError};

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, EntityTrait, QueryFilter, SqlErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

use crate::bus::{Bus, Change};
use crate::entity::{events, incidents, stats_dirty, teams, volunteers};
use crate::error::{Error, Result};
use crate::ids::{EventId, IncidentId, TeamId, VolunteerId};
use crate::request_writes::{OpenTxn, note_commit};

pub use crate::request_writes::{RequestWrites, watch_writes};

pub struct Store {
    pub db: DatabaseConnection,
    sqlite_writer: Option<Mutex<()>>,
    bus: Arc<Bus>,
}

/// An open write transaction; dropped without `commit` it rolls back.
///
/// Every transaction takes its row locks in one order, so two of them never wait on each other
/// in a cycle (PostgreSQL would abort one with "deadlock detected"): the volunteer row (several
/// in id order, for a batch of sign-ups: `signups::batch`), then the event row, then sign-up rows, then everything else. The one lock taken against that order is a
/// waitlisted volunteer's, by a promotion holding the event's lock: it never waits for it
/// ([`try_lock_volunteer`], SKIP LOCKED); a volunteer busy elsewhere keeps waiting for the next
/// seat, so no wait ever runs backwards through the order. The statistics marks are hot rows (each
/// sign-up for a team's day touches the same one), so they are collected here and written at
/// commit in key order: always the last locks taken, and never held while waiting for an event.
///
/// Changes for subscribers are collected too and published only once the commit succeeded, so
/// nobody hears of something that was rolled back.
pub struct WriteTxn<'a> {
    txn: DatabaseTransaction,
    dirty_days: std::sync::Mutex<BTreeSet<DirtyDay>>,
    changes: std::sync::Mutex<BTreeSet<Change>>,
    bus: Arc<Bus>,
    _watch: OpenTxn,
    _writer: Option<MutexGuard<'a, ()>>,
}

impl Deref for WriteTxn<'_> {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn<'_> {
    /// Marks a statistics rollup day for recomputation when this transaction commits.
    pub(crate) fn mark_dirty(&self, day: DirtyDay) {
        self.dirty_days
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(day);
    }

    /// Tells subscribers of `change` once this transaction commits.
    pub(crate) fn changed(&self, change: Change) {
        self.changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(change);
    }

    pub async fn commit(self) -> Result<()> {
        let dirty_days = std::mem::take(
            &mut *self
                .dirty_days
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        note_commit();
        write_dirty_days(&self.txn, dirty_days).await?;
        self.txn.commit().await?;
        let changes: Vec<Change> =
            std::mem::take(&mut *self.changes.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .collect();
        self.bus.publish(&changes);
        Ok(())
    }

    /// Rolls back now, rather than when dropped: for a transaction whose work is abandoned before
    /// the same request writes again.
    pub async fn rollback(self) -> Result<()> {
        Ok(self.txn.rollback().await?)
    }
}

impl Store {
    pub fn new(db: DatabaseConnection, bus: Arc<Bus>) -> Self {
        let sqlite_writer =
            (db.get_database_backend() == DbBackend::Sqlite).then(|| Mutex::new(()));
        Self {
            db,
            sqlite_writer,
            bus,
        }
    }

    pub async fn write(&self) -> Result<WriteTxn<'_>> {
        let writer = match &self.sqlite_writer {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        let txn = if writer.is_some() {
            let options = TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            };
            self.db.begin_with_options(options).await?
        } else {
            self.db.begin().await?
        };
        Ok(WriteTxn {
            txn,
            dirty_days: std::sync::Mutex::default(),
            changes: std::sync::Mutex::default(),
            bus: self.bus.clone(),
            _watch: OpenTxn::new(),
            _writer: writer,
        })
    }
}

/// A statistics key (a team's, an area's or a place's local day, or a place's week or month)
/// whose derived rows must be recomputed: `stats` names the kinds and recomputes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DirtyDay {
    pub kind: &'static str,
    pub ref_id: i64,
    pub day: NaiveDate,
}

/// Writes the marks in key order, at commit (see `WriteTxn`), so they are always the last rows a
/// transaction locks.
async fn write_dirty_days(conn: &impl ConnectionTrait, days: BTreeSet<DirtyDay>) -> Result<()> {
    let days: Vec<DirtyDay> = days.into_iter().collect();
    for chunk in days.chunks(200) {
        let rows = chunk.iter().map(|dirty| stats_dirty::ActiveModel {
            kind: Set(dirty.kind.to_owned()),
            ref_id: Set(dirty.ref_id),
            day: Set(dirty.day),
            generation: Set(1),
            ..Default::default()
        });
        let conflict = OnConflict::columns([
            stats_dirty::Column::Kind,
            stats_dirty::Column::RefId,
            stats_dirty::Column::Day,
        ])
        .value(
            stats_dirty::Column::Generation,
            Expr::col((stats_dirty::Entity, stats_dirty::Column::Generation)).add(1),
        )
        .to_owned();
        stats_dirty::Entity::insert_many(rows)
            .on_conflict(conflict)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Takes a row's lock for the rest of the transaction, by an update that changes nothing
/// (`updated_at = updated_at`); whether the row exists.
async fn lock_row<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    updated_at: E::Column,
    id: E::Column,
    value: i64,
) -> Result<bool> {
    let locked = E::update_many()
        .col_expr(updated_at, Expr::col(updated_at))
        .filter(id.eq(value))
        .exec(conn)
        .await?;
    Ok(locked.rows_affected > 0)
}

/// Takes the volunteer's row lock (the first lock of the order above): one volunteer's sign-ups,
/// reviews and certificates are decided one at a time, so two overlapping sign-ups cannot both
/// slip past the overlap check.
pub(crate) async fn lock_volunteer(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
) -> Result<()> {
    use volunteers::{Column, Entity};
    lock_row::<Entity>(conn, Column::UpdatedAt, Column::Id, volunteer.0).await?;
    Ok(())
}

/// Takes several volunteers' row locks (as `lock_volunteer` does each) in one statement, in
/// ascending id order (the lock order's order among volunteers): the database locks the rows
/// as its sort hands them over. On SQLite the one writer holds every row already.
pub(crate) async fn lock_volunteers(
    conn: &impl ConnectionTrait,
    volunteers: &[VolunteerId],
) -> Result<()> {
    use sea_orm::QueryOrder as _;
    use sea_orm::QuerySelect as _;
    use sea_orm::sea_query::LockType;
    use volunteers::{Column, Entity};
    let mut ids: Vec<i64> = volunteers.iter().map(|v| v.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let _: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Id.is_in(ids))
        .order_by_asc(Column::Id)
        .lock(LockType::NoKeyUpdate)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(())
}

/// Takes the volunteer's row lock if nobody holds it, without waiting: for a promotion from the
/// waitlist, which holds the event's lock (taken after the volunteer's in the order above) and so
/// may not wait for a volunteer's. Whether it was taken (or already held by this transaction).
/// On SQLite the one writer holds every row.
pub(crate) async fn try_lock_volunteer(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
) -> Result<bool> {
    use sea_orm::QuerySelect as _;
    use sea_orm::sea_query::{LockBehavior, LockType};
    use volunteers::{Column, Entity};
    // FOR NO KEY UPDATE: the lock `lock_volunteer`'s update takes, and not the one a foreign key
    // to the row takes (a notification for the volunteer does not make them busy).
    let found: Option<i64> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Id.eq(volunteer.0))
        .lock_with_behavior(LockType::NoKeyUpdate, LockBehavior::SkipLocked)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(found.is_some())
}

/// Takes the event row's lock, the one sign-ups take when they claim a seat. Whatever then
/// touches the event's sign-up rows takes it first, so a cancellation, a change and a sign-up or
/// promotion never wait on each other.
pub(crate) async fn lock_event(conn: &impl ConnectionTrait, event: EventId) -> Result<()> {
    use events::{Column, Entity};
    lock_row::<Entity>(conn, Column::UpdatedAt, Column::Id, event.0).await?;
    Ok(())
}

/// Takes an incident's row lock: its matching steps, answers, arrivals and close are decided one
/// at a time (the exact-`needed` race). Taken with no other row lock held, and followed only by
/// the incident's own responder rows, so it sits outside the order above. `NotFound` for an
/// incident that does not exist.
pub(crate) async fn lock_incident(conn: &impl ConnectionTrait, incident: IncidentId) -> Result<()> {
    use incidents::{Column, Entity};
    if lock_row::<Entity>(conn, Column::Ring, Column::Id, incident.0).await? {
        Ok(())
    } else {
        Err(Error::NotFound("incident"))
    }
}

/// Takes the team's row lock, so membership changes of one team (and the "at least one leader"
/// rule) are decided one at a time. `NotFound` for a team that does not exist.
pub(crate) async fn lock_team(conn: &impl ConnectionTrait, team: TeamId) -> Result<()> {
    use teams::{Column, Entity};
    if lock_row::<Entity>(conn, Column::UpdatedAt, Column::Id, team.0).await? {
        Ok(())
    } else {
        Err(Error::NotFound("team"))
    }
}

/// Whether an insert lost to a unique index: the database's way of deciding that two requests
/// wanted the same thing (one phone, one sign-up per event, one idempotency key).
pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
