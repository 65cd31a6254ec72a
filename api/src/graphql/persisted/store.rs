//! Where automatically persisted documents are kept: Redis when configured (so every node knows
//! a document any node registered), with an in-process cache in front of it (and alone without
//! Redis). A document is named by its own SHA-256, so an entry never changes and never needs
//! invalidating: it can only be missing (expired, evicted, Redis away), and then the client
//! sends the document again.

use std::sync::Arc;
use std::time::Duration;

use feihong_domain::redis_store::RedisStore;
use moka::future::Cache;

/// Bytes of documents the in-process cache holds at most (documents are at most a POST body).
const LOCAL_BYTES: u64 = 32 * 1024 * 1024;

pub struct DocumentStore {
    local: Cache<String, Arc<str>>,
    redis: Option<Arc<RedisStore>>,
    /// How long Redis keeps a document after it was registered.
    ttl: Duration,
}

impl DocumentStore {
    pub fn new(redis: Option<Arc<RedisStore>>, ttl: Duration) -> Self {
        let local = Cache::builder()
            .max_capacity(LOCAL_BYTES)
            .weigher(|hash: &String, document: &Arc<str>| {
                u32::try_from(hash.len() + document.len()).unwrap_or(u32::MAX)
            })
            .time_to_idle(ttl)
            .build();
        Self { local, redis, ttl }
    }

    fn key(redis: &RedisStore, hash: &str) -> String {
        redis.key(&["apq", hash])
    }

    /// The document registered as `hash`: from this node's cache, else from Redis (and then
    /// cached here). Redis being away reads as unknown: the client sends the document again.
    pub async fn get(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(document) = self.local.get(hash).await {
            return Some(document);
        }
        let redis = self.redis.as_ref()?;
        let key = Self::key(redis, hash);
        let found = redis
            .run(|mut connection| async move {
                redis::cmd("GET")
                    .arg(&key)
                    .query_async::<Option<String>>(&mut connection)
                    .await
            })
            .await
            .ok()
            .flatten()?;
        let document: Arc<str> = Arc::from(found);
        self.local.insert(hash.to_owned(), document.clone()).await;
        Some(document)
    }

    /// Registers `document` as `hash` (the caller checked that it is its SHA-256).
    pub async fn put(&self, hash: &str, document: &str) {
        self.local
            .insert(hash.to_owned(), Arc::from(document))
            .await;
        let Some(redis) = self.redis.as_ref() else {
            return;
        };
        let key = Self::key(redis, hash);
        let (document, seconds) = (document.to_owned(), self.ttl.as_secs().max(1));
        // Best effort: without Redis the other nodes learn it when the client sends it to them.
        let _ = redis
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(document)
                    .arg("EX")
                    .arg(seconds)
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
    }
}
