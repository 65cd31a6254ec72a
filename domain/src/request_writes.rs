//! What a request wrote: a request that failed because the database went away may be run once
//! more, but only if it cannot have changed anything. [`watch_writes`] runs a request with a
//! task-local record that the write path fills in: `WriteTxn::commit` notes the commit before
//! sending it ([`note_commit`]; what a `WriteTxn` does before its commit is rolled back when the
//! connection breaks, so it does not count), and every other statement that reaches the database
//! is noted unless it only reads ([`is_write_statement`], from the connection's statement callback
//! installed by `db::connect`). That covers autocommitted writes outside a `WriteTxn`
//! (idempotency keys, and any added later) without each having to remember. A lost connection is
//! noted by the error conversion (`Error::from(DbErr)`). The API's one retry asks
//! [`RequestWrites`] after the request ran. (A request's writes run one after the other on its
//! task: mutations resolve in sequence, so no autocommitted write of the same request runs while a
//! `WriteTxn` is open.)
//!
//! A leaf: it imports nothing of the crate, so the error type and the store can both use it. The
//! API reaches it through `store` (`store::watch_writes`).

use std::cell::Cell;
use std::future::Future;

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
pub(crate) struct OpenTxn;

impl OpenTxn {
    pub(crate) fn new() -> Self {
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
/// tasks is not watched, unless that work is watched itself and handed back ([`absorb`]).
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

/// Notes a `WriteTxn` commit about to be sent: from here on the request may have changed data.
pub(crate) fn note_commit() {
    note(|watched| {
        watched.writes.wrote = true;
        watched.commits += 1;
    });
}

/// How many `WriteTxn` commits this request has sent so far; None outside a watched request.
pub(crate) fn commits_sent() -> Option<u32> {
    WATCHED.try_with(|cell| cell.get().commits).ok()
}

/// Adds what work run for this request on another task did (a sign-up batch: `signups::batch`).
pub(crate) fn absorb(writes: RequestWrites, commits: u32) {
    note(|watched| {
        watched.writes.wrote |= writes.wrote;
        watched.writes.connection_lost |= writes.connection_lost;
        watched.commits += commits;
    });
}

pub(crate) fn note_connection_lost() {
    note(|watched| watched.writes.connection_lost = true);
}

/// Notes a statement that reached the database, when it may write outside a `WriteTxn`.
pub(crate) fn note_statement(sql: &str) {
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
fn is_write_statement(sql: &str) -> bool {
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
            note_commit();
        })
        .await;
        assert!(writes.wrote);
        // Outside a watched request, notes go nowhere.
        note_commit();
        assert_eq!(commits_sent(), None);
    }
}
