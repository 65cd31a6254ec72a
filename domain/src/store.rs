//! Write transactions. PostgreSQL runs them concurrently and the conditional updates inside
//! decide races. SQLite has a single writer: a deferred transaction that reads and then writes
//! fails with SQLITE_BUSY_SNAPSHOT (no waiting) when another write landed in between, so on
//! SQLite write transactions begin IMMEDIATE (taking the write lock up front, waiting on the busy
//! timeout) and queue on one async lock first, so they wait in order instead of polling.

use std::ops::Deref;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbBackend, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::Result;

pub struct Store {
    pub db: DatabaseConnection,
    sqlite_writer: Option<Mutex<()>>,
}

/// An open write transaction; dropped without `commit` it rolls back.
pub struct WriteTxn<'a> {
    txn: DatabaseTransaction,
    _writer: Option<MutexGuard<'a, ()>>,
}

impl Deref for WriteTxn<'_> {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTxn<'_> {
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

impl Store {
    pub fn new(db: DatabaseConnection) -> Self {
        let sqlite_writer =
            (db.get_database_backend() == DbBackend::Sqlite).then(|| Mutex::new(()));
        Self { db, sqlite_writer }
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
            _writer: writer,
        })
    }
}
