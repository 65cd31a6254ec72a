//! Fixed-window attempt counters for failed logins, per phone and per client address.
//!
//! With Redis configured the counters are shared by every API node; without it (or while Redis is
//! unreachable) an in-process table stands in, so limits never switch off.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::error::{Error, Result};
use crate::redis_store::RedisStore;

/// Increments a counter, starting its window on the first hit; returns (count, ms left).
const INCREMENT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
";

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max_failures: u32,
    pub window: Duration,
}

struct Window {
    count: u32,
    started: Instant,
}

/// In-process fixed windows; entries expire with their window, and the table is bounded.
struct MemoryCounters {
    windows: Cache<String, Arc<Mutex<Window>>>,
}

impl MemoryCounters {
    fn new(window: Duration) -> Self {
        Self {
            windows: Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(window)
                .build(),
        }
    }

    fn window(&self, key: &str) -> Arc<Mutex<Window>> {
        self.windows.get_with(key.to_owned(), || {
            Arc::new(Mutex::new(Window {
                count: 0,
                started: Instant::now(),
            }))
        })
    }

    fn read(&self, key: &str, window: Duration) -> (u32, Duration) {
        let Some(entry) = self.windows.get(key) else {
            return (0, Duration::ZERO);
        };
        let guard = entry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let left = window.saturating_sub(guard.started.elapsed());
        if left.is_zero() {
            (0, Duration::ZERO)
        } else {
            (guard.count, left)
        }
    }

    fn increment(&self, key: &str, window: Duration) {
        let entry = self.window(key);
        let mut guard = entry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.started.elapsed() >= window {
            guard.count = 0;
            guard.started = Instant::now();
        }
        guard.count += 1;
    }

    fn clear(&self, key: &str) {
        self.windows.invalidate(key);
    }
}

pub struct LoginThrottle {
    memory: MemoryCounters,
    redis: Option<Arc<RedisStore>>,
    per_phone: Limit,
    per_address: Limit,
}

impl LoginThrottle {
    pub fn new(redis: Option<Arc<RedisStore>>, per_phone: Limit, per_address: Limit) -> Self {
        Self {
            memory: MemoryCounters::new(per_phone.window.max(per_address.window)),
            redis,
            per_phone,
            per_address,
        }
    }

    fn keys(&self, phone: &str, address: &str) -> [(String, Limit); 2] {
        [
            (format!("login-failures:phone:{phone}"), self.per_phone),
            (format!("login-failures:addr:{address}"), self.per_address),
        ]
    }

    async fn read(&self, key: &str, limit: Limit) -> (u32, Duration) {
        if let Some(redis) = &self.redis {
            let full_key = redis.key(&[key]);
            let answer = redis
                .run(|mut connection| async move {
                    redis::pipe()
                        .get(&full_key)
                        .pttl(&full_key)
                        .query_async::<(Option<u32>, i64)>(&mut connection)
                        .await
                })
                .await;
            if let Ok((count, ttl_ms)) = answer {
                return (
                    count.unwrap_or(0),
                    Duration::from_millis(ttl_ms.max(0) as u64),
                );
            }
        }
        self.memory.read(key, limit.window)
    }

    /// Refuses with `RateLimited` (and how long to wait) when this phone or address has used up
    /// its failures for the current window.
    pub async fn check(&self, phone: &str, address: &str) -> Result<()> {
        let mut wait = Duration::ZERO;
        for (key, limit) in self.keys(phone, address) {
            let (count, left) = self.read(&key, limit).await;
            if count >= limit.max_failures {
                wait = wait.max(left.max(Duration::from_secs(1)));
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(Error::RateLimited {
                retry_after: Duration::from_secs(wait.as_secs_f64().ceil() as u64),
            })
        }
    }

    pub async fn record_failure(&self, phone: &str, address: &str) {
        for (key, limit) in self.keys(phone, address) {
            let shared = match &self.redis {
                Some(redis) => {
                    let full_key = redis.key(&[&key]);
                    let window_ms = limit.window.as_millis() as u64;
                    redis
                        .run(|mut connection| async move {
                            redis::Script::new(INCREMENT_SCRIPT)
                                .key(&full_key)
                                .arg(window_ms)
                                .invoke_async::<(u32, i64)>(&mut connection)
                                .await
                        })
                        .await
                        .is_ok()
                }
                None => false,
            };
            if !shared {
                self.memory.increment(&key, limit.window);
            }
        }
    }

    /// A successful login clears the phone's failures (not the address's: one good password does
    /// not excuse a guessing run against other phones from the same place).
    pub async fn record_success(&self, phone: &str, address: &str) {
        let [(phone_key, _), _] = self.keys(phone, address);
        if let Some(redis) = &self.redis {
            let full_key = redis.key(&[&phone_key]);
            let _ = redis
                .run(|mut connection| async move {
                    redis::cmd("DEL")
                        .arg(&full_key)
                        .query_async::<i64>(&mut connection)
                        .await
                })
                .await;
        }
        self.memory.clear(&phone_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        let limit = Limit {
            max_failures: 3,
            window: Duration::from_secs(60),
        };
        LoginThrottle::new(
            None,
            limit,
            Limit {
                max_failures: 5,
                ..limit
            },
        )
    }

    #[tokio::test]
    async fn a_phone_is_limited_after_its_failures_and_freed_by_a_success() {
        let throttle = throttle();
        for _ in 0..3 {
            throttle.check("13800000000", "a").await.unwrap();
            throttle.record_failure("13800000000", "a").await;
        }
        let error = throttle.check("13800000000", "b").await.unwrap_err();
        assert!(matches!(error, Error::RateLimited { retry_after } if retry_after.as_secs() >= 59));
        throttle.record_success("13800000000", "a").await;
        throttle.check("13800000000", "b").await.unwrap();
    }

    #[tokio::test]
    async fn an_address_is_limited_across_phones() {
        let throttle = throttle();
        for n in 0..5 {
            throttle
                .record_failure(&format!("1380000000{n}"), "10.0.0.1")
                .await;
        }
        assert!(throttle.check("13900000000", "10.0.0.1").await.is_err());
        assert!(throttle.check("13900000000", "10.0.0.2").await.is_ok());
    }
}
