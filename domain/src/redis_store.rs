//! The connection to Redis, when one is configured: what several API nodes must share.
//!
//! Connecting is lazy and retried, so a node starts and keeps serving while Redis is away; callers
//! get `Unavailable` at once during an outage (no request waits on a dead Redis for long) and fall
//! back to their in-process or database path.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::{Error, Result};

/// How long after a failed connect attempt requests skip Redis without trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    last_failure: Mutex<Option<Instant>>,
    /// Set while Redis fails, so an outage is logged once when it starts and once when it ends.
    failing: std::sync::atomic::AtomicBool,
}

impl RedisStore {
    /// `prefix` namespaces every key (`feihong:`), so environments can share one Redis.
    pub fn new(url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|error| Error::internal(format!("REDIS_URL: {error}")))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            connection: tokio::sync::Mutex::new(None),
            last_failure: Mutex::new(None),
            failing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }

    fn recently_failed(&self) -> bool {
        self.last_failure
            .lock()
            .map(|last| last.is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE))
            .unwrap_or(false)
    }

    fn note_failure(&self, error: &dyn std::fmt::Display) {
        if let Ok(mut last) = self.last_failure.lock() {
            *last = Some(Instant::now());
        }
        if self.failing.swap(true, std::sync::atomic::Ordering::AcqRel) {
            tracing::debug!(%error, "redis still unavailable");
        } else {
            tracing::warn!(%error, "redis is unavailable; falling back until it returns");
        }
    }

    /// Makes the store behave as after a failed call: requests skip Redis for a moment.
    #[cfg(test)]
    pub(crate) fn fail_for_a_moment(&self) {
        self.note_failure(&"a test's simulated outage");
    }

    fn note_success(&self) {
        if self
            .failing
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            tracing::info!("redis is reachable again");
        }
    }

    /// A multiplexed connection that reconnects by itself once established.
    pub async fn connection(&self) -> Result<ConnectionManager> {
        if self.recently_failed() {
            return Err(Error::Unavailable("redis"));
        }
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        match self.client.get_connection_manager_with_config(config).await {
            Ok(connection) => {
                *slot = Some(connection.clone());
                Ok(connection)
            }
            Err(error) => {
                self.note_failure(&error);
                Err(Error::Unavailable("redis"))
            }
        }
    }

    /// Runs one Redis operation, turning any failure into `Unavailable` (and remembering it, so
    /// the next requests skip Redis for a moment instead of each waiting on a timeout).
    pub async fn run<T, F, Fut>(&self, operation: F) -> Result<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.connection().await?;
        match operation(connection).await {
            Ok(value) => {
                self.note_success();
                Ok(value)
            }
            Err(error) => {
                self.note_failure(&error);
                Err(Error::Unavailable("redis"))
            }
        }
    }

    /// A dedicated pub/sub connection (subscriptions cannot share the multiplexed one).
    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        self.client.get_async_pubsub().await
    }

    pub async fn ping(&self) -> Result<()> {
        self.run(|mut connection| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
                .map(drop)
        })
        .await
    }
}
