//! Where ranked sets live: Redis sorted sets (shared by every node) or an in-process stand-in
//! with the same behaviour. Every write carries the tally's version and is ignored when the set
//! already holds a newer one, so replaying or reordering updates can never make a set older.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};
use crate::redis_store::RedisStore;

/// A member's absolute score in one set, as of tally version `version`.
#[derive(Debug, Clone)]
pub struct ScoreUpdate {
    pub key: String,
    pub member: i64,
    pub score: i64,
    pub version: i64,
    /// Unix seconds after which the set may be dropped (old periods); None keeps it.
    pub expire_at: Option<i64>,
}

/// Sets a member's score if `version` is newer than the one recorded; a zero score removes the
/// member. KEYS: the sorted set, its version hash. ARGV: member, score, version, expire-at.
const APPLY_SCRIPT: &str = r"
local known = redis.call('HGET', KEYS[2], ARGV[1])
if known and tonumber(known) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
if tonumber(ARGV[4]) > 0 then
  redis.call('EXPIREAT', KEYS[1], ARGV[4])
  redis.call('EXPIREAT', KEYS[2], ARGV[4])
end
return 1
";

/// Members are zero-padded so Redis orders equal scores by id, exactly as the database does.
fn member_text(member: i64) -> String {
    format!("{member:020}")
}

#[derive(Default)]
pub struct MemorySet {
    scores: HashMap<i64, (i64, i64)>,
    ordered: BTreeSet<(Reverse<i64>, Reverse<i64>)>,
}

impl MemorySet {
    fn apply(&mut self, update: &ScoreUpdate) {
        if let Some((score, version)) = self.scores.get(&update.member).copied() {
            if version >= update.version {
                return;
            }
            self.ordered
                .remove(&(Reverse(score), Reverse(update.member)));
        }
        self.scores
            .insert(update.member, (update.score, update.version));
        if update.score > 0 {
            self.ordered
                .insert((Reverse(update.score), Reverse(update.member)));
        }
    }
}

pub enum RankStore {
    Redis {
        redis: Arc<RedisStore>,
    },
    Memory {
        sets: RwLock<HashMap<String, MemorySet>>,
        built: std::sync::atomic::AtomicBool,
    },
}

impl RankStore {
    pub fn memory() -> Self {
        Self::Memory {
            sets: RwLock::new(HashMap::new()),
            built: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn redis_key(redis: &RedisStore, key: &str) -> String {
        // One hash slot per set and its version hash, so the script also runs on Redis Cluster.
        redis.key(&["lb", &format!("{{{key}}}")])
    }

    pub async fn apply(&self, updates: &[ScoreUpdate]) -> Result<()> {
        match self {
            Self::Memory { sets, .. } => {
                let mut sets = sets
                    .write()
                    .map_err(|_| Error::internal("leaderboard lock poisoned"))?;
                for update in updates {
                    sets.entry(update.key.clone()).or_default().apply(update);
                }
                Ok(())
            }
            Self::Redis { redis } => {
                let script = redis::Script::new(APPLY_SCRIPT);
                let mut pipe = redis::pipe();
                // Pipelined scripts run by hash: load it first, or a Redis that restarted empty
                // answers NOSCRIPT to every update.
                pipe.cmd("SCRIPT").arg("LOAD").arg(APPLY_SCRIPT).ignore();
                for update in updates {
                    let set = Self::redis_key(redis, &update.key);
                    pipe.invoke_script(
                        script
                            .key(&set)
                            .key(format!("{set}:v"))
                            .arg(member_text(update.member))
                            .arg(update.score)
                            .arg(update.version)
                            .arg(update.expire_at.unwrap_or(0)),
                    );
                }
                redis.run(|mut connection| async move { pipe.query_async::<()>(&mut connection).await }).await
            }
        }
    }

    /// The first `n` members, highest score first (ties by id, descending).
    pub async fn top(&self, key: &str, n: usize) -> Result<Vec<(i64, i64)>> {
        match self {
            Self::Memory { sets, .. } => {
                let sets = sets
                    .read()
                    .map_err(|_| Error::internal("leaderboard lock poisoned"))?;
                Ok(sets
                    .get(key)
                    .map(|set| {
                        set.ordered
                            .iter()
                            .take(n)
                            .map(|(Reverse(score), Reverse(member))| (*member, *score))
                            .collect()
                    })
                    .unwrap_or_default())
            }
            Self::Redis { redis } => {
                let set = Self::redis_key(redis, key);
                let stop = n as isize - 1;
                let rows: Vec<(String, i64)> = redis
                    .run(|mut connection| async move {
                        redis::cmd("ZREVRANGE")
                            .arg(&set)
                            .arg(0)
                            .arg(stop)
                            .arg("WITHSCORES")
                            .query_async(&mut connection)
                            .await
                    })
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(member, score)| Some((member.parse().ok()?, score)))
                    .collect())
            }
        }
    }

    /// The member's score and how many members score strictly more.
    pub async fn standing(&self, key: &str, member: i64) -> Result<Option<(i64, u64)>> {
        match self {
            Self::Memory { sets, .. } => {
                let sets = sets
                    .read()
                    .map_err(|_| Error::internal("leaderboard lock poisoned"))?;
                let Some(set) = sets.get(key) else {
                    return Ok(None);
                };
                let Some((score, _)) = set
                    .scores
                    .get(&member)
                    .copied()
                    .filter(|(score, _)| *score > 0)
                else {
                    return Ok(None);
                };
                let above = set
                    .ordered
                    .range(..(Reverse(score), Reverse(i64::MAX)))
                    .count() as u64;
                Ok(Some((score, above)))
            }
            Self::Redis { redis } => {
                let set = Self::redis_key(redis, key);
                let member = member_text(member);
                let score: Option<i64> = redis
                    .run(|mut connection| {
                        let (set, member) = (set.clone(), member.clone());
                        async move {
                            redis::cmd("ZSCORE")
                                .arg(&set)
                                .arg(&member)
                                .query_async(&mut connection)
                                .await
                        }
                    })
                    .await?;
                let Some(score) = score else { return Ok(None) };
                let above: u64 = redis
                    .run(|mut connection| async move {
                        redis::cmd("ZCOUNT")
                            .arg(&set)
                            .arg(format!("({score}"))
                            .arg("+inf")
                            .query_async(&mut connection)
                            .await
                    })
                    .await?;
                Ok(Some((score, above)))
            }
        }
    }

    /// How many members have a score.
    pub async fn count(&self, key: &str) -> Result<u64> {
        match self {
            Self::Memory { sets, .. } => {
                let sets = sets
                    .read()
                    .map_err(|_| Error::internal("leaderboard lock poisoned"))?;
                Ok(sets
                    .get(key)
                    .map(|set| set.ordered.len() as u64)
                    .unwrap_or(0))
            }
            Self::Redis { redis } => {
                let set = Self::redis_key(redis, key);
                redis
                    .run(|mut connection| async move {
                        redis::cmd("ZCARD")
                            .arg(&set)
                            .query_async(&mut connection)
                            .await
                    })
                    .await
            }
        }
    }

    /// Whether a complete rebuild has filled this store (a Redis that restarted empty has not).
    pub async fn is_built(&self) -> Result<bool> {
        match self {
            Self::Memory { built, .. } => Ok(built.load(std::sync::atomic::Ordering::Acquire)),
            Self::Redis { redis } => {
                let marker = redis.key(&["lb", "built"]);
                redis
                    .run(|mut connection| async move {
                        redis::cmd("EXISTS")
                            .arg(&marker)
                            .query_async::<bool>(&mut connection)
                            .await
                    })
                    .await
            }
        }
    }

    pub async fn set_built(&self, value: bool) -> Result<()> {
        match self {
            Self::Memory { built, .. } => {
                built.store(value, std::sync::atomic::Ordering::Release);
                Ok(())
            }
            Self::Redis { redis } => {
                let marker = redis.key(&["lb", "built"]);
                redis
                    .run(|mut connection| async move {
                        if value {
                            redis::cmd("SET")
                                .arg(&marker)
                                .arg(1)
                                .query_async::<()>(&mut connection)
                                .await
                        } else {
                            redis::cmd("DEL")
                                .arg(&marker)
                                .query_async::<()>(&mut connection)
                                .await
                        }
                    })
                    .await
            }
        }
    }

    /// Drops every set (before a rebuild).
    pub async fn clear(&self) -> Result<()> {
        match self {
            Self::Memory { sets, .. } => {
                sets.write()
                    .map_err(|_| Error::internal("leaderboard lock poisoned"))?
                    .clear();
                Ok(())
            }
            Self::Redis { redis } => {
                let pattern = redis.key(&["lb", "*"]);
                redis
                    .run(|mut connection| async move {
                        let mut cursor: u64 = 0;
                        loop {
                            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                                .arg(cursor)
                                .arg("MATCH")
                                .arg(&pattern)
                                .arg("COUNT")
                                .arg(500)
                                .query_async(&mut connection)
                                .await?;
                            for key in keys {
                                redis::cmd("UNLINK")
                                    .arg(&key)
                                    .query_async::<()>(&mut connection)
                                    .await?;
                            }
                            if next == 0 {
                                return Ok(());
                            }
                            cursor = next;
                        }
                    })
                    .await
            }
        }
    }
}
