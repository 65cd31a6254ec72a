//! Write transactions. PostgreSQL runs them concurrently and the conditional updates inside
//! decide races. SQLite has a single writer: a deferred transaction that reads and then writes
//! can fail with SQLITE_BUSY instead of waiting, so on SQLite this node queues its write
//! transactions on one async lock (the embedded setup is always a single node).

use std::ops::Deref;

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, TransactionTrait};
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
        Ok(WriteTxn {
            txn: self.db.begin().await?,
            _writer: writer,
        })
    }
}
