//! A fixed-window limit on one kind of attempt per key (registrations per client address).

use std::sync::{Arc, Mutex};

use super::memory::Windows;
use super::{Limit, address_key, millis, refusal};
use crate::error::Result;
use crate::redis_store::RedisStore;

/// Counts the attempt first (`INCR`), starting the window on the first; returns (count, ms left).
const RESERVE_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
";

pub struct RateLimiter {
    /// Names the counters (`register`), so several limiters share one Redis.
    name: &'static str,
    limit: Limit,
    redis: Option<Arc<RedisStore>>,
    memory: Windows,
    lock: Mutex<()>,
}

impl RateLimiter {
    pub fn new(name: &'static str, limit: Limit, redis: Option<Arc<RedisStore>>) -> Self {
        Self {
            name,
            limit,
            redis,
            memory: Windows::new(limit.window),
            lock: Mutex::new(()),
        }
    }

    /// Reserves one attempt for this client address, or refuses with `RateLimited` and how long
    /// to wait. The attempt counts whatever its outcome.
    pub async fn reserve(&self, address: &str) -> Result<()> {
        let key = format!("{}:addr:{}", self.name, address_key(address));
        if let Some(redis) = &self.redis {
            let full_key = redis.key(&[&key]);
            let window_ms = millis(self.limit.window);
            let shared = redis
                .run(|mut connection| async move {
                    redis::Script::new(RESERVE_SCRIPT)
                        .key(&full_key)
                        .arg(window_ms)
                        .invoke_async::<(u32, i64)>(&mut connection)
                        .await
                })
                .await;
            if let Ok((count, left_ms)) = shared {
                let left = std::time::Duration::from_millis(left_ms.max(1).unsigned_abs());
                // `count` includes this attempt.
                return match self.limit.wait(count.saturating_sub(1), left) {
                    wait if wait.is_zero() => Ok(()),
                    wait => Err(refusal(wait)),
                };
            }
        }
        let _held = self
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (used, left) = self.memory.state(&key, self.limit);
        let wait = self.limit.wait(used, left);
        if !wait.is_zero() {
            return Err(refusal(wait));
        }
        self.memory.add(&key, self.limit);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::Error;

    #[tokio::test]
    async fn an_address_gets_its_limit_per_window_and_others_are_unaffected() {
        let limiter = RateLimiter::new(
            "register",
            Limit {
                max: 3,
                window: Duration::from_millis(300),
            },
            None,
        );
        for _ in 0..3 {
            limiter.reserve("10.0.0.1").await.unwrap();
        }
        let refused = limiter.reserve("10.0.0.1").await.unwrap_err();
        assert!(
            matches!(refused, Error::RateLimited { retry_after } if retry_after.as_secs() == 1)
        );
        limiter.reserve("10.0.0.2").await.unwrap();
        tokio::time::sleep(Duration::from_millis(350)).await;
        limiter.reserve("10.0.0.1").await.unwrap();
    }
}
