//! Fixed-window counters shared by every API node: in Redis when configured (one atomic script
//! per addition), in process otherwise or while Redis is unreachable, so a limit built on them
//! never switches off.

use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::redis_store::RedisStore;

/// Adds to a counter, starting its window when it has none; returns (total, ms left).
const ADD_SCRIPT: &str = r"
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {total, redis.call('PTTL', KEYS[1])}
";

/// Hashed once (a script is invoked by its SHA-1).
static ADD: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ADD_SCRIPT));

/// A counter's value within its window, and how long the window still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub total: u64,
    pub left: Duration,
}

struct Window {
    total: u64,
    started: Instant,
}

pub struct WindowCounters {
    memory: Cache<String, Arc<Mutex<Window>>>,
    redis: Option<Arc<RedisStore>>,
    window: Duration,
}

impl WindowCounters {
    /// Counters whose windows last `window`, keeping at most `capacity` keys in process.
    pub fn new(redis: Option<Arc<RedisStore>>, window: Duration, capacity: u64) -> Self {
        Self {
            memory: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(window)
                .build(),
            redis,
            window,
        }
    }

    /// Adds `amount` to `key`'s counter and returns its new total.
    pub async fn add(&self, key: &str, amount: u64) -> Count {
        if let Some(redis) = &self.redis {
            let full_key = redis.key(&[key]);
            let window_ms = self.window.as_millis() as u64;
            let shared = redis
                .run(|mut connection| async move {
                    ADD.key(&full_key)
                        .arg(amount)
                        .arg(window_ms)
                        .invoke_async::<(u64, i64)>(&mut connection)
                        .await
                })
                .await;
            if let Ok((total, left_ms)) = shared {
                return Count {
                    total,
                    left: Duration::from_millis(left_ms.max(0) as u64),
                };
            }
        }
        self.add_in_process(key, amount)
    }

    fn add_in_process(&self, key: &str, amount: u64) -> Count {
        let entry = self.memory.get_with(key.to_owned(), || {
            Arc::new(Mutex::new(Window {
                total: 0,
                started: Instant::now(),
            }))
        });
        let mut window = entry.lock().unwrap_or_else(PoisonError::into_inner);
        if window.started.elapsed() >= self.window {
            window.total = 0;
            window.started = Instant::now();
        }
        window.total = window.total.saturating_add(amount);
        Count {
            total: window.total,
            left: self.window.saturating_sub(window.started.elapsed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn additions_accumulate_within_a_window_and_start_over_after_it() {
        let counters = WindowCounters::new(None, Duration::from_millis(200), 100);
        assert_eq!(counters.add("a", 5).await.total, 5);
        let count = counters.add("a", 7).await;
        assert_eq!(count.total, 12);
        assert!(count.left <= Duration::from_millis(200));
        assert_eq!(counters.add("b", 1).await.total, 1);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(counters.add("a", 1).await.total, 1);
    }

    #[tokio::test]
    async fn concurrent_additions_are_never_lost() {
        let counters = Arc::new(WindowCounters::new(None, Duration::from_secs(60), 100));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let counters = counters.clone();
                tokio::spawn(async move { counters.add("k", 1).await.total })
            })
            .collect();
        let mut seen: Vec<u64> = Vec::new();
        for task in tasks {
            seen.push(task.await.unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, (1..=64).collect::<Vec<_>>());
    }
}
