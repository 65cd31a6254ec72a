//! Where ranked sets live: Redis sorted sets (shared by every node) or an in-process stand-in
//! with the same behaviour. Every write carries the tally's version and is ignored when the set
//! already holds a newer one, so replaying or reordering updates can never make a set older.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, RwLock};

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

/// Sets members' scores, each only if its `version` is newer than the one recorded; a zero score
/// removes the member. KEYS: the sorted set, its version hash. ARGV: for each member in turn,
/// member, score, version, expire-at (one call per set and batch, not per member: a rebuild
/// writes millions).
const APPLY_SCRIPT: &str = r"
local applied = 0
for i = 1, #ARGV, 4 do
  local member, score, version, expire = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local known = redis.call('HGET', KEYS[2], member)
  if not (known and tonumber(known) >= tonumber(version)) then
    redis.call('HSET', KEYS[2], member, version)
    if tonumber(score) > 0 then
      redis.call('ZADD', KEYS[1], score, member)
    else
      redis.call('ZREM', KEYS[1], member)
    end
    if tonumber(expire) > 0 then
      redis.call('EXPIREAT', KEYS[1], expire)
      redis.call('EXPIREAT', KEYS[2], expire)
    end
    applied = applied + 1
  end
end
return applied
";

/// Members per script call (a call holds Redis for its length).
const MEMBERS_PER_CALL: usize = 500;

/// `updates` by set, in order of first appearance; each set's in their own order.
fn by_set(updates: &[ScoreUpdate]) -> Vec<(&str, Vec<&ScoreUpdate>)> {
    let mut at: HashMap<&str, usize> = HashMap::new();
    let mut sets: Vec<(&str, Vec<&ScoreUpdate>)> = Vec::new();
    for update in updates {
        let index = *at.entry(update.key.as_str()).or_insert_with(|| {
            sets.push((update.key.as_str(), Vec::new()));
            sets.len() - 1
        });
        sets[index].1.push(update);
    }
    sets
}

/// A whole board in one atomic step: the top `ARGV[1]`, the member count, and the viewer's
/// (`ARGV[2]`, may be empty) score and how many score more — so they always agree.
const BOARD_SCRIPT: &str = r"
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local total = redis.call('ZCARD', KEYS[1])
local score = ''
local above = 0
if ARGV[2] ~= '' then
  local found = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if found then
    score = found
    above = redis.call('ZCOUNT', KEYS[1], '(' .. found, '+inf')
  end
end
return {top, total, score, above}
";

/// Hashed once (a script is invoked by its SHA-1).
static BOARD: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(BOARD_SCRIPT));

/// A board as read at one instant: top lines, member count, the viewer's (score, above).
pub type BoardSnapshot = (Vec<(i64, i64)>, u64, Option<(i64, u64)>);

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
                for (key, group) in by_set(updates) {
                    let set = Self::redis_key(redis, key);
                    for chunk in group.chunks(MEMBERS_PER_CALL) {
                        let mut call = script.key(&set);
                        call.key(format!("{set}:v"));
                        for update in chunk {
                            call.arg(member_text(update.member))
                                .arg(update.score)
                                .arg(update.version)
                                .arg(update.expire_at.unwrap_or(0));
                        }
                        pipe.invoke_script(&call);
                    }
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

    /// The top `n`, the member count and the viewer's standing, read atomically.
    pub async fn board(&self, key: &str, n: usize, viewer: Option<i64>) -> Result<BoardSnapshot> {
        match self {
            Self::Memory { sets, .. } => {
                let sets = sets
                    .read()
                    .map_err(|_| Error::internal("leaderboard lock poisoned"))?;
                let Some(set) = sets.get(key) else {
                    return Ok((Vec::new(), 0, None));
                };
                let top = set
                    .ordered
                    .iter()
                    .take(n)
                    .map(|(Reverse(score), Reverse(member))| (*member, *score))
                    .collect();
                let standing = viewer.and_then(|member| {
                    let (score, _) = set
                        .scores
                        .get(&member)
                        .copied()
                        .filter(|(score, _)| *score > 0)?;
                    Some((
                        score,
                        set.ordered
                            .range(..(Reverse(score), Reverse(i64::MAX)))
                            .count() as u64,
                    ))
                });
                Ok((top, set.ordered.len() as u64, standing))
            }
            Self::Redis { redis } => {
                let set = Self::redis_key(redis, key);
                let viewer = viewer.map(member_text).unwrap_or_default();
                let (top, total, score, above): (Vec<String>, u64, String, u64) = redis
                    .run(|mut connection| async move {
                        BOARD
                            .key(&set)
                            .arg(n)
                            .arg(&viewer)
                            .invoke_async(&mut connection)
                            .await
                    })
                    .await?;
                let top = top
                    .chunks(2)
                    .filter_map(|pair| {
                        Some((pair.first()?.parse().ok()?, pair.get(1)?.parse().ok()?))
                    })
                    .collect();
                let standing = score.parse::<i64>().ok().map(|score| (score, above));
                Ok((top, total, standing))
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

    /// Claims the (shared) right to rebuild for a while, so nodes that find the store empty at
    /// the same moment do not all rebuild it; the others answer from the database meanwhile.
    pub async fn claim_rebuild(&self, for_seconds: u64) -> Result<bool> {
        match self {
            Self::Memory { .. } => Ok(true),
            Self::Redis { redis } => {
                let marker = redis.key(&["lb", "rebuilding"]);
                redis
                    .run(|mut connection| async move {
                        redis::cmd("SET")
                            .arg(&marker)
                            .arg(1)
                            .arg("NX")
                            .arg("EX")
                            .arg(for_seconds)
                            .query_async::<Option<String>>(&mut connection)
                            .await
                            .map(|answer| answer.is_some())
                    })
                    .await
            }
        }
    }

    pub async fn release_rebuild(&self) -> Result<()> {
        match self {
            Self::Memory { .. } => Ok(()),
            Self::Redis { redis } => {
                let marker = redis.key(&["lb", "rebuilding"]);
                redis
                    .run(|mut connection| async move {
                        redis::cmd("DEL")
                            .arg(&marker)
                            .query_async::<()>(&mut connection)
                            .await
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
                            // The rebuild's own claim stays: it is what keeps other nodes out.
                            for key in keys
                                .into_iter()
                                .filter(|key| !key.ends_with("lb:rebuilding"))
                            {
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
