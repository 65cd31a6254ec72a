//! The in-process stand-in for the Redis counters: bounded tables whose entries expire. Callers
//! hold one lock across a whole check-and-reserve step, so it is atomic like the Redis script.

use std::time::{Duration, Instant};

use moka::sync::Cache;

use super::Limit;

/// Entries kept at most; beyond it the least used are dropped.
const CAPACITY: u64 = 1_000_000;

#[derive(Clone, Copy)]
struct Window {
    used: u32,
    started: Instant,
}

/// Fixed windows: how many attempts were reserved since the window started.
pub(super) struct Windows(Cache<String, Window>);

impl Windows {
    /// `longest` is the longest window any caller uses (entries are dropped after it).
    pub(super) fn new(longest: Duration) -> Self {
        Self(
            Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(longest.max(Duration::from_millis(1)))
                .build(),
        )
    }

    fn live(&self, key: &str, limit: Limit) -> Option<Window> {
        self.0
            .get(key)
            .filter(|window| window.started.elapsed() < limit.window)
    }

    /// Attempts reserved in the current window and how long it has left.
    pub(super) fn state(&self, key: &str, limit: Limit) -> (u32, Duration) {
        match self.live(key, limit) {
            Some(window) => (
                window.used,
                limit.window.saturating_sub(window.started.elapsed()),
            ),
            None => (0, limit.window),
        }
    }

    pub(super) fn add(&self, key: &str, limit: Limit) {
        let window = match self.live(key, limit) {
            Some(window) => Window {
                used: window.used.saturating_add(1),
                ..window
            },
            None => Window {
                used: 1,
                started: Instant::now(),
            },
        };
        self.0.insert(key.to_owned(), window);
    }

    /// Hands one reservation back.
    pub(super) fn release(&self, key: &str, limit: Limit) {
        if let Some(window) = self.live(key, limit) {
            self.0.insert(
                key.to_owned(),
                Window {
                    used: window.used.saturating_sub(1),
                    ..window
                },
            );
        }
    }

    pub(super) fn clear(&self, key: &str) {
        self.0.invalidate(key);
    }
}

#[derive(Clone, Copy)]
struct Attempts {
    count: u32,
    latest: Instant,
}

/// One attempt recorded by `Streaks::add`.
#[derive(Clone, Copy)]
pub(super) struct Reserved {
    latest: Instant,
    previous_latest: Option<Instant>,
}

/// Attempt counts with the time of the latest, forgotten `memory` after it.
pub(super) struct Streaks(Cache<String, Attempts>);

impl Streaks {
    pub(super) fn new(memory: Duration) -> Self {
        Self(
            Cache::builder()
                .max_capacity(CAPACITY)
                // Inserting restarts an entry's time to live: it lasts `memory` after the latest.
                .time_to_live(memory.max(Duration::from_millis(1)))
                .build(),
        )
    }

    /// Attempts recorded and the time since the latest.
    pub(super) fn state(&self, key: &str) -> (u32, Duration) {
        self.0.get(key).map_or((0, Duration::MAX), |attempts| {
            (attempts.count, attempts.latest.elapsed())
        })
    }

    /// Records one attempt now; what it replaced lets `undo` hand it back.
    pub(super) fn add(&self, key: &str) -> Reserved {
        let before = self.0.get(key);
        let latest = Instant::now();
        self.0.insert(
            key.to_owned(),
            Attempts {
                count: before
                    .map_or(0, |attempts| attempts.count)
                    .saturating_add(1),
                latest,
            },
        );
        Reserved {
            latest,
            previous_latest: before.map(|attempts| attempts.latest),
        }
    }

    /// Hands back an attempt `add` recorded: one fewer, and the latest time it replaced unless
    /// another attempt came since.
    pub(super) fn undo(&self, key: &str, reserved: Reserved) {
        let Some(now) = self.0.get(key) else { return };
        let count = now.count.saturating_sub(1);
        let latest = match reserved.previous_latest {
            Some(previous) if now.latest == reserved.latest => previous,
            _ => now.latest,
        };
        if count == 0 {
            self.0.invalidate(key);
        } else {
            self.0.insert(key.to_owned(), Attempts { count, latest });
        }
    }

    pub(super) fn clear(&self, key: &str) {
        self.0.invalidate(key);
    }
}

/// Keys remembered for a while (addresses a phone has signed in from).
pub(super) struct Marks(Cache<String, ()>);

impl Marks {
    pub(super) fn new(memory: Duration) -> Self {
        Self(
            Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(memory.max(Duration::from_millis(1)))
                .build(),
        )
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub(super) fn insert(&self, key: &str) {
        self.0.insert(key.to_owned(), ());
    }
}
