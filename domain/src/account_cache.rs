//! Per-node caches of what was read of accounts, forgotten the moment a [`Change::Account`] for
//! the volunteer is delivered on the node, and after their time to live anyway.
//!
//! A read that began before a change committed may finish after the change was forgotten; it
//! must not put the old value back. Every forgetting bumps a counter: a value read from the
//! database is kept only if nothing was forgotten between the read's start (its `stamp`) and the
//! insert, checked again after inserting.
//!
//! [`Change::Account`]: crate::bus::Change::Account

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use crate::ids::VolunteerId;

/// One per-node cache of account data keyed by volunteer.
pub struct AccountCache<V> {
    entries: Cache<VolunteerId, V>,
    forgotten: Arc<AtomicU64>,
}

/// When a read of the database began, as the cache counts forgettings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64);

impl<V: Clone + Send + Sync + 'static> AccountCache<V> {
    pub fn new(capacity: u64, time_to_live: Duration) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(time_to_live)
                .build(),
            forgotten: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn get(&self, volunteer: VolunteerId) -> Option<V> {
        self.entries.get(&volunteer)
    }

    /// Taken before reading what will be inserted.
    pub fn stamp(&self) -> Stamp {
        Stamp(self.forgotten.load(Ordering::Acquire))
    }

    /// Keeps `value` read since `stamp`, unless something was forgotten meanwhile.
    pub fn insert(&self, volunteer: VolunteerId, value: V, stamp: Stamp) {
        if self.stamp() != stamp {
            return;
        }
        self.entries.insert(volunteer, value);
        if self.stamp() != stamp {
            self.entries.invalidate(&volunteer);
        }
    }

    pub fn forget(&self, volunteer: VolunteerId) {
        self.forgotten.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(&volunteer);
    }
}

impl<V> Clone for AccountCache<V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            forgotten: self.forgotten.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> AccountCache<&'static str> {
        AccountCache::new(100, Duration::from_secs(30))
    }

    #[test]
    fn a_value_read_before_a_change_is_not_kept_after_it_was_forgotten() {
        let cache = cache();
        let stamp = cache.stamp();
        // The change commits and is forgotten while the read is still under way.
        cache.forget(VolunteerId(1));
        cache.insert(VolunteerId(1), "old name", stamp);
        assert_eq!(cache.get(VolunteerId(1)), None);
    }

    #[test]
    fn a_value_read_after_the_last_change_is_kept_until_the_next() {
        let cache = cache();
        cache.forget(VolunteerId(1));
        let stamp = cache.stamp();
        cache.insert(VolunteerId(1), "new name", stamp);
        assert_eq!(cache.get(VolunteerId(1)), Some("new name"));
        cache.forget(VolunteerId(1));
        assert_eq!(cache.get(VolunteerId(1)), None);
    }
}
