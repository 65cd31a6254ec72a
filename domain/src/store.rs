//! Write transactions. PostgreSQL runs them concurrently and the conditional updates inside
//! decide races. SQLite has a single writer: a deferred transaction that reads and then writes
//! fails with SQLITE_BUSY_SNAPSHOT (no waiting) when another write landed in between, so on
//! SQLite write transactions begin IMMEDIATE (taking the write lock up front, waiting on the busy
//! timeout) and queue on one async lock first, so they wait in order instead of polling.
//!
//! Writes a request attempted: a request that failed because the database went away may be run
//! once more, but only if it cannot have changed anything. [`watch_writes`] runs a request with a
//! task-local record that the write path fills in: [`WriteTxn::commit`] notes the commit before
//! sending it (what a `WriteTxn` does before its commit is rolled back when the connection
//! breaks, so it does not count), and every other statement that reaches the database is noted
//! unless it only reads ([`is_write_statement`], from the connection's statement callback
//! installed by `db::connect`). That covers autocommitted writes outside a `WriteTxn`
//! (registration, sessions, idempotency keys, and any added later) without each having to
//! remember. A lost connection is noted by the error conversion (`Error::from(DbErr)`). The API's
//! one retry asks [`RequestWrites`] after the request ran. (A request's writes run one after the
//! other on its task: mutations resolve in sequence, so no autocommitted write of the same
//! request runs while a `WriteTxn` is open.)

use std::cell::Cell;
use std::collections::BTreeSet;
use std::future::Future;
use std::ops::Deref;
use std::sync::{Arc, PoisonError};

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

use crate::bus::{Bus, Change};
use crate::error::Result;
use crate::stats::{DirtyDay, write_dirty_days};

pub struct Store {
    pub db: DatabaseConnection,
    sqlite_writer: Option<Mutex<()>>,
    bus: Arc<Bus>,
}

/// An open write transaction; dropped without `commit` it rolls back.
///
/// Every transaction takes its row locks in one order, so two of them never wait on each other
/// in a cycle (PostgreSQL would abort one with "deadlock detected"): the volunteer row, then the
/// event row, then sign-up rows, then everything else. The statistics marks are hot rows (each
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
        note(|watched| {
            watched.writes.wrote = true;
            watched.commits += 1;
        });
        write_dirty_days(&self.txn, dirty_days).await?;
        self.txn.commit().await?;
        let changes: Vec<Change> =
            std::mem::take(&mut *self.changes.lock().unwrap_or_else(PoisonError::into_inner))
                .into_iter()
                .collect();
        self.bus.publish(&changes);
        Ok(())
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

/// What one request did to the database, as far as a retry needs to know.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RequestWrites {
    /// A commit, or a statement that may change data outside a transaction, was sent: the
    /// request may have changed something, so it must never run again.
    pub wrote: bool,
    /// A connection broke during the request (not merely: none came free in time).
    pub connection_lost: bool,
}

#[derive(Default, Clone, Copy)]
struct Watched {
    writes: RequestWrites,
    /// `WriteTxn` commits sent so far.
    commits: u32,
    /// `WriteTxn`s open on this task: their statements are not writes until the commit.
    open_transactions: u32,
}

tokio::task_local! {
    static WATCHED: Cell<Watched>;
}

/// Counts an open `WriteTxn` for as long as it lives.
struct OpenTxn;

impl OpenTxn {
    fn new() -> Self {
        note(|watched| watched.open_transactions += 1);
        Self
    }
}

impl Drop for OpenTxn {
    fn drop(&mut self) {
        note(|watched| watched.open_transactions = watched.open_transactions.saturating_sub(1));
    }
}

/// Runs `request` while noting what it does to the database. Work the request spawns onto other
/// tasks is not watched: the domain writes only on the request's own task.
pub async fn watch_writes<F: Future>(request: F) -> (F::Output, RequestWrites) {
    WATCHED
        .scope(Cell::new(Watched::default()), async move {
            let output = request.await;
            let writes = WATCHED.with(Cell::get).writes;
            (output, writes)
        })
        .await
}

fn note(change: impl FnOnce(&mut Watched)) {
    let _ = WATCHED.try_with(|cell| {
        let mut watched = cell.get();
        change(&mut watched);
        cell.set(watched);
    });
}

/// How many `WriteTxn` commits this request has sent so far; None outside a watched request.
pub fn commits_sent() -> Option<u32> {
    WATCHED.try_with(|cell| cell.get().commits).ok()
}

/// Notes that the request may have changed data (outside a watched request: nothing).
pub fn note_write() {
    note(|watched| watched.writes.wrote = true);
}

pub(crate) fn note_connection_lost() {
    note(|watched| watched.writes.connection_lost = true);
}

/// Notes a statement that reached the database, when it may write outside a `WriteTxn`.
pub fn note_statement(sql: &str) {
    if is_write_statement(sql) {
        note(|watched| {
            if watched.open_transactions == 0 {
                watched.writes.wrote = true;
            }
        });
    }
}

/// Whether a statement may change data. Only what plainly reads (or opens, ends without
/// committing, or tunes a transaction) is not a write; anything else counts, to be safe.
pub fn is_write_statement(sql: &str) -> bool {
    let first = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    const READS: [&str; 8] = [
        "SELECT",
        "BEGIN",
        "START",
        "SET",
        "SHOW",
        "SAVEPOINT",
        "ROLLBACK",
        "PRAGMA",
    ];
    !READS.iter().any(|read| first.eq_ignore_ascii_case(read))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_told_from_writes() {
        for read in [
            "SELECT 1",
            "  select \"id\" FROM \"events\" WHERE id = $1 FOR UPDATE",
            "(SELECT 1) UNION (SELECT 2)",
            "BEGIN",
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "ROLLBACK",
        ] {
            assert!(!is_write_statement(read), "{read}");
        }
        for write in [
            "INSERT INTO \"volunteers\" (phone) VALUES ($1)",
            "UPDATE events SET confirmed_count = confirmed_count + 1",
            "delete from idempotency_records",
            "WITH moved AS (DELETE FROM x RETURNING *) SELECT * FROM moved",
            "COMMIT",
            "",
        ] {
            assert!(is_write_statement(write), "{write}");
        }
    }

    #[tokio::test]
    async fn a_watched_request_reports_its_writes() {
        let ((), writes) = watch_writes(async { note_statement("SELECT 1") }).await;
        assert_eq!(writes, RequestWrites::default());
        let ((), writes) = watch_writes(async {
            note_statement("SELECT 1");
            note_statement("INSERT INTO t VALUES (1)");
        })
        .await;
        assert!(writes.wrote && !writes.connection_lost);
        let ((), writes) = watch_writes(async { note_connection_lost() }).await;
        assert!(!writes.wrote && writes.connection_lost);
        // Inside an open write transaction only the commit counts.
        let ((), writes) = watch_writes(async {
            let open = OpenTxn::new();
            note_statement("INSERT INTO t VALUES (1)");
            drop(open);
        })
        .await;
        assert!(!writes.wrote);
        let ((), writes) = watch_writes(async {
            let _open = OpenTxn::new();
            note_statement("INSERT INTO t VALUES (1)");
            note_write();
        })
        .await;
        assert!(writes.wrote);
        // Outside a watched request, notes go nowhere.
        note_write();
    }
}
