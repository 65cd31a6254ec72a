//! Where the volunteers on duty are, for matching incidents: Redis GEO (`GEOADD`, `GEOSEARCH`)
//! shared by every node when Redis is configured, else this node's grid (`grid.rs`).
//!
//! An entry is matched while its volunteer is on duty (the duty's end is kept beside the
//! position) and a position came within [`STALE_AFTER`]; searches forget what went stale first.
//! Nothing older than the last position is kept, and nothing at all once duty ends. The
//! database stays the truth of who is on duty: a report for someone the index does not know
//! (never reported, swept, or a node restarted) is answered [`Reported::Unknown`], and the duty
//! service looks the duty up and starts the entry again.
//!
//! Redis keys (under the node's prefix): `duty:geo` (the positions), `duty:live` (member → when
//! the entry stops matching, ms), `duty:until` (member → the duty's end, ms), `duty:seen`
//! (member → the last report, ms).

use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::grid::Grid;
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::VolunteerId;
use crate::redis_store::RedisStore;

/// A position older than this is not matched (the person may have gone anywhere).
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);
/// Reports closer together than this are refused.
pub const MIN_REPORT_INTERVAL: Duration = Duration::from_secs(15);
/// How long after accepting an incident a responder's reports are noted for it (the window in
/// which `Incidents::report_position` looks for their incidents).
pub const RESPONDING_FOR: Duration = Duration::from_secs(24 * 3600);
/// Stale entries forgotten per search at most (the rest on the next).
const SWEEP_BATCH: usize = 1000;

const START_SCRIPT: &str = r"
redis.call('GEOADD', KEYS[1], ARGV[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[2], math.min(tonumber(ARGV[6]), tonumber(ARGV[4]) + tonumber(ARGV[5])), ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return 0
";

/// -1: duty unknown or over; 0: kept; -2: kept, and the volunteer is responding to an incident
/// (KEYS[5] exists); > 0: milliseconds until a report is accepted.
const REPORT_SCRIPT: &str = r"
local now = tonumber(ARGV[4])
local until_ms = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not until_ms or tonumber(until_ms) <= now then return -1 end
local seen = redis.call('ZSCORE', KEYS[4], ARGV[1])
if seen and now - tonumber(seen) < tonumber(ARGV[6]) then
  return tonumber(ARGV[6]) - (now - tonumber(seen))
end
redis.call('GEOADD', KEYS[1], ARGV[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], math.min(tonumber(until_ms), now + tonumber(ARGV[5])), ARGV[1])
redis.call('ZADD', KEYS[4], now, ARGV[1])
if redis.call('EXISTS', KEYS[5]) == 1 then return -2 end
return 0
";

const STOP_SCRIPT: &str = r"
for i = 1, 4 do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 0
";

/// Forgets stale entries (at most ARGV[6] of each kind), then searches.
const NEAREST_SCRIPT: &str = r"
local now = ARGV[5]
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, ARGV[6])) do
  for i = 1, 4 do redis.call('ZREM', KEYS[i], member) end
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[6])) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
return redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', ARGV[3], 'm',
  'ASC', 'COUNT', ARGV[4], 'WITHDIST')
";

static START: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(START_SCRIPT));
static REPORT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(REPORT_SCRIPT));
static STOP: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(STOP_SCRIPT));
static NEAREST: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(NEAREST_SCRIPT));

/// What became of a reported position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// Kept; `responding`: they accepted an incident in the last 24 h, so the position may
    /// matter to its dispatchers (see [`Positions::set_responding`]).
    Kept { responding: bool },
    /// The last one came less than [`MIN_REPORT_INTERVAL`] ago: wait this long.
    TooSoon(Duration),
    /// The index does not know the volunteer to be on duty: ask the database.
    Unknown,
}

/// Someone on duty near a point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    pub volunteer: VolunteerId,
    pub distance_m: f64,
}

pub struct Positions {
    redis: Option<Arc<RedisStore>>,
    grid: Mutex<Grid>,
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn responding_for() -> chrono::Duration {
    chrono::Duration::from_std(RESPONDING_FOR).unwrap_or(chrono::Duration::MAX)
}

fn interval() -> chrono::Duration {
    chrono::Duration::from_std(MIN_REPORT_INTERVAL).unwrap_or(chrono::Duration::MAX)
}

impl Positions {
    pub fn new(redis: Option<Arc<RedisStore>>) -> Self {
        Self {
            redis,
            grid: Mutex::new(Grid::default()),
        }
    }

    fn grid(&self) -> std::sync::MutexGuard<'_, Grid> {
        self.grid.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn keys(redis: &RedisStore) -> [String; 4] {
        ["geo", "live", "until", "seen"].map(|part| redis.key(&["duty", part]))
    }

    /// Puts a volunteer on duty until `until`, at `position`.
    pub async fn start(
        &self,
        volunteer: VolunteerId,
        position: Position,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<()> {
        let Some(redis) = &self.redis else {
            self.grid().start(volunteer, position, now, until);
            return Ok(());
        };
        let keys = Self::keys(redis);
        let stale_ms = STALE_AFTER.as_millis() as i64;
        redis
            .run(|mut connection| async move {
                START
                    .key(&keys[..])
                    .arg(volunteer.0)
                    .arg(position.lng)
                    .arg(position.lat)
                    .arg(ms(now))
                    .arg(stale_ms)
                    .arg(ms(until))
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await
            .map(drop)
    }

    /// A position from someone on duty, at most once per [`MIN_REPORT_INTERVAL`].
    pub async fn report(
        &self,
        volunteer: VolunteerId,
        position: Position,
        now: DateTime<Utc>,
    ) -> Result<Reported> {
        let Some(redis) = &self.redis else {
            return Ok(self.grid().report(volunteer, position, now, interval()));
        };
        let [geo, live, until, seen] = Self::keys(redis);
        let keys = [
            geo,
            live,
            until,
            seen,
            Self::responding_key(redis, volunteer),
        ];
        let stale_ms = STALE_AFTER.as_millis() as i64;
        let interval_ms = MIN_REPORT_INTERVAL.as_millis() as i64;
        let answer = redis
            .run(|mut connection| async move {
                REPORT
                    .key(&keys[..])
                    .arg(volunteer.0)
                    .arg(position.lng)
                    .arg(position.lat)
                    .arg(ms(now))
                    .arg(stale_ms)
                    .arg(interval_ms)
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await?;
        Ok(match answer {
            0 => Reported::Kept { responding: false },
            -2 => Reported::Kept { responding: true },
            wait if wait > 0 => Reported::TooSoon(Duration::from_millis(wait as u64)),
            _ => Reported::Unknown,
        })
    }

    fn responding_key(redis: &RedisStore, volunteer: VolunteerId) -> String {
        redis.key(&["duty", "responding", &volunteer.0.to_string()])
    }

    /// Marks a volunteer as responding to an incident for the next [`RESPONDING_FOR`]: their
    /// reports are then also noted for the incident's dispatchers (a report from anyone else
    /// needs no database read).
    pub async fn set_responding(&self, volunteer: VolunteerId, now: DateTime<Utc>) -> Result<()> {
        let Some(redis) = &self.redis else {
            self.grid()
                .set_responding(volunteer, now + responding_for());
            return Ok(());
        };
        let key = Self::responding_key(redis, volunteer);
        let seconds = RESPONDING_FOR.as_secs();
        redis
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("EX")
                    .arg(seconds)
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await
    }

    /// Takes a volunteer off duty: their position is forgotten at once.
    pub async fn stop(&self, volunteer: VolunteerId) -> Result<()> {
        let Some(redis) = &self.redis else {
            self.grid().remove(volunteer);
            return Ok(());
        };
        let keys = Self::keys(redis);
        redis
            .run(|mut connection| async move {
                STOP.key(&keys[..])
                    .arg(volunteer.0)
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await
            .map(drop)
    }

    /// Up to `count` volunteers on duty within `radius_m` of `centre`, nearest first.
    pub async fn nearest(
        &self,
        centre: Position,
        radius_m: f64,
        count: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Near>> {
        if count == 0 || radius_m <= 0.0 {
            return Ok(Vec::new());
        }
        let Some(redis) = &self.redis else {
            return Ok(self.grid().nearest(centre, radius_m, count, now));
        };
        let keys = Self::keys(redis);
        let found: Vec<(String, f64)> = redis
            .run(|mut connection| async move {
                NEAREST
                    .key(&keys[..])
                    .arg(centre.lng)
                    .arg(centre.lat)
                    .arg(radius_m)
                    .arg(count)
                    .arg(ms(now))
                    .arg(SWEEP_BATCH)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        found
            .into_iter()
            .map(|(member, distance_m)| {
                let id = member.parse::<i64>().map_err(Error::internal)?;
                Ok(Near {
                    volunteer: VolunteerId(id),
                    distance_m,
                })
            })
            .collect()
    }

    /// Forgets what is no longer matched on this node's grid (Redis forgets as it searches).
    pub fn sweep(&self, now: DateTime<Utc>) -> usize {
        if self.redis.is_some() {
            return 0;
        }
        self.grid().sweep(now)
    }
}
