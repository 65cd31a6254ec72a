//! Write transactions. PostgreSQL runs them concurrently and the conditional updates inside
//! decide races. SQLite has a single writer: a deferred transaction that reads and then writes
//! fails with SQLITE_BUSY_SNAPSHOT (no waiting) when another write landed in between, so on
//! SQLite write transactions begin IMMEDIATE (taking the write lock up front, waiting on the busy
//! timeout) and queue on one async lock first, so they wait in order instead of polling.

use std::collections::BTreeSet;
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
            _writer: writer,
        })
    }
}
