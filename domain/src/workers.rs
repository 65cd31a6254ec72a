//! What every background worker shares (invariant 9: no row can stop a worker). Each item of
//! work runs on its own: an error or a panic fails that item only. A failed item is logged and
//! set aside, retried after a delay that grows with each failure, while the others keep
//! flowing. Only the database being away stops a round (every item would fail alike), and the
//! worker tries again on its next tick.
//!
//! Items kept in tables (statistics marks, leaderboard outbox rows) carry their attempts and
//! retry time in their row; items found by a query (stale check-ins, no-shows) are set aside
//! in memory by [`SetAside`], which each node keeps for itself.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt as _;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// The first retry waits this long; each further failure doubles it, up to [`MAX_RETRY_DELAY`].
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(2);
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(15 * 60);

/// How long an item that failed `attempts` times (at least once) is left alone.
pub fn retry_delay(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    FIRST_RETRY_DELAY
        .saturating_mul(1 << doublings)
        .min(MAX_RETRY_DELAY)
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Runs one item of work; a panic inside it becomes an `Internal` error of that item.
pub async fn isolated<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(Error::internal(format!(
            "panicked: {}",
            panic_message(&*payload)
        ))),
    }
}

/// Whether a failure is the database (or another service) being away, which every item would
/// meet alike: the round stops instead of setting items aside.
pub fn is_outage(error: &Error) -> bool {
    matches!(error, Error::Unavailable(_))
}

/// Items set aside in this process after failing, with their attempts and when they may be
/// tried again.
pub struct SetAside<K> {
    items: Mutex<HashMap<K, (u32, Instant)>>,
}

impl<K> Default for SetAside<K> {
    fn default() -> Self {
        Self {
            items: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone> SetAside<K> {
    /// Records a failure of `key`; returns its attempts so far.
    pub fn failed(&self, key: K) -> u32 {
        self.failed_at(key, Instant::now())
    }

    fn failed_at(&self, key: K, now: Instant) -> u32 {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = items.entry(key).or_insert((0, now));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now + retry_delay(entry.0);
        entry.0
    }

    pub fn succeeded(&self, key: &K) {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// The keys whose retry time has not come: the worker leaves them out of its next round.
    pub fn waiting(&self) -> Vec<K> {
        self.waiting_at(Instant::now())
    }

    fn waiting_at(&self, now: Instant) -> Vec<K> {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, (_, retry_at))| *retry_at > now)
            .map(|(key, _)| key.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_a_bound() {
        assert_eq!(retry_delay(1), Duration::from_secs(2));
        assert_eq!(retry_delay(2), Duration::from_secs(4));
        assert_eq!(retry_delay(5), Duration::from_secs(32));
        assert_eq!(retry_delay(30), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(u32::MAX), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(0), FIRST_RETRY_DELAY);
    }

    #[tokio::test]
    async fn a_panicking_item_fails_alone() {
        let failed = isolated(async {
            let day = chrono::NaiveDate::MAX;
            let _ = day + chrono::Duration::days(1);
            Ok(())
        })
        .await;
        match failed {
            Err(Error::Internal(cause)) => assert!(cause.starts_with("panicked: "), "{cause}"),
            other => panic!("expected an internal error, got {other:?}"),
        }
        assert_eq!(isolated(async { Ok(7) }).await.unwrap(), 7);
    }

    #[test]
    fn set_aside_items_wait_for_their_retry_time() {
        let set_aside = SetAside::default();
        let start = Instant::now();
        assert_eq!(set_aside.failed_at(7_i64, start), 1);
        assert_eq!(set_aside.waiting_at(start), vec![7]);
        let later = start + FIRST_RETRY_DELAY + Duration::from_millis(1);
        assert!(set_aside.waiting_at(later).is_empty());
        assert_eq!(set_aside.failed_at(7, later), 2);
        assert_eq!(set_aside.waiting_at(later + FIRST_RETRY_DELAY), vec![7]);
        set_aside.succeeded(&7);
        assert!(set_aside.waiting_at(later).is_empty());
    }
}
