//! A fixed-window limit on one kind of attempt per key (registrations per client address).

use std::sync::Arc;

use super::{Limit, address_key, refusal};
use crate::counters::WindowCounters;
use crate::error::Result;
use crate::redis_store::RedisStore;

pub struct RateLimiter {
    /// Names the counters (`register`), so several limiters share one Redis.
    name: &'static str,
    limit: Limit,
    counters: WindowCounters,
}

impl RateLimiter {
    pub fn new(name: &'static str, limit: Limit, redis: Option<Arc<RedisStore>>) -> Self {
        Self {
            name,
            limit,
            counters: WindowCounters::new(redis, limit.window, 1_000_000),
        }
    }

    /// Reserves one attempt for this client address (counted first, in one atomic step), or
    /// refuses with `RateLimited` and how long to wait. The attempt counts whatever its outcome.
    pub async fn reserve(&self, address: &str) -> Result<()> {
        self.reserve_for(&format!("addr:{}", address_key(address)))
            .await
    }

    /// Reserves one attempt for whatever `key` names (a team, say), as [`Self::reserve`] does
    /// for an address.
    pub async fn reserve_for(&self, key: &str) -> Result<()> {
        let key = format!("{}:{key}", self.name);
        let count = self.counters.add(&key, 1).await;
        // `total` includes this attempt.
        let used = u32::try_from(count.total.saturating_sub(1)).unwrap_or(u32::MAX);
        match self
            .limit
            .wait(used, count.left.max(std::time::Duration::from_millis(1)))
        {
            wait if wait.is_zero() => Ok(()),
            wait => Err(refusal(wait)),
        }
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
