//! Sign-in limits. Each attempt is reserved before its password is verified, against three
//! counters at once:
//!
//! - per phone and client address: a strict fixed window (the guesser at one address);
//! - per client address across phones: a fixed window (one address trying many phones);
//! - per phone across all addresses: growing delays after a few attempts (a distributed guesser
//!   is slowed, and no one can lock an account for long). Addresses the phone has signed in from
//!   recently skip the delays, so the owner on their own network still gets in.
//!
//! A right password clears the phone's reservations and hands the address's one back.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use super::memory::{Marks, Reserved, Streaks, Windows};
use super::{Backoff, Limit, address_key, millis, refusal};
use crate::error::Result;
use crate::redis_store::RedisStore;

/// Counter of sign-in attempts the throttle refused (through the `metrics` facade: the API's
/// `/metrics` exports it; without a recorder installed it costs nothing).
pub const LOGIN_REFUSALS: &str = "feihong_login_throttle_refusals_total";

/// KEYS: pair window, address window, phone streak (hash n, t), known-address mark.
/// ARGV: pair max, pair window ms, address max, address window ms, free attempts, base delay ms,
/// max delay ms, streak memory ms. Returns 0 when reserved, else the ms to wait (nothing counted).
const RESERVE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, 2 do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[i * 2 - 1]) then
    wait = math.max(wait, redis.call('PTTL', KEYS[i]), 1)
  end
end
local attempts = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
local free = tonumber(ARGV[5])
if attempts >= free and redis.call('EXISTS', KEYS[4]) == 0 then
  local latest = tonumber(redis.call('HGET', KEYS[3], 't') or '0')
  local delay = math.min(tonumber(ARGV[6]) * 2 ^ math.min(attempts - free, 31), tonumber(ARGV[7]))
  wait = math.max(wait, latest + delay - now)
end
if wait > 0 then return math.ceil(wait) end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i * 2]) end
end
redis.call('HSET', KEYS[3], 'n', attempts + 1, 't', now)
redis.call('PEXPIRE', KEYS[3], ARGV[8])
return 0
";

/// KEYS: pair window, address window, phone streak, known-address mark. ARGV: mark memory ms,
/// 1 to clear the reservations (a sign-in) or 0 to only remember the address (a registration).
const SETTLE_SCRIPT: &str = r"
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1], KEYS[3])
  if redis.call('DECR', KEYS[2]) <= 0 then redis.call('DEL', KEYS[2]) end
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[1])
return 0
";

static RESERVE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RESERVE_SCRIPT));
static SETTLE: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SETTLE_SCRIPT));

/// The sign-in policy; `docs/security.md` gives the numbers and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts for one phone from one client address.
    pub per_phone_and_address: Limit,
    /// Attempts from one client address, whatever the phone.
    pub per_address: Limit,
    /// Attempts for one phone from addresses it has not signed in from recently.
    pub per_phone: Backoff,
    /// How long an address a phone signed in from stays exempt from `per_phone`.
    pub known_address_memory: Duration,
}

struct Keys {
    pair: String,
    address: String,
    phone: String,
    known: String,
}

impl Keys {
    fn new(phone: &str, address: &str) -> Self {
        let address = address_key(address);
        Self {
            pair: format!("login:pair:{phone}:{address}"),
            address: format!("login:addr:{address}"),
            phone: format!("login:phone:{phone}"),
            known: format!("login:known:{phone}:{address}"),
        }
    }

    fn all(&self) -> [&str; 4] {
        [&self.pair, &self.address, &self.phone, &self.known]
    }
}

struct Memory {
    /// Held across each check-and-reserve step, which makes it atomic.
    lock: Mutex<()>,
    windows: Windows,
    streaks: Streaks,
    known: Marks,
}

pub struct LoginThrottle {
    limits: LoginLimits,
    redis: Option<Arc<RedisStore>>,
    memory: Memory,
}

impl LoginThrottle {
    pub fn new(redis: Option<Arc<RedisStore>>, limits: LoginLimits) -> Self {
        let longest = limits
            .per_phone_and_address
            .window
            .max(limits.per_address.window);
        Self {
            limits,
            redis,
            memory: Memory {
                lock: Mutex::new(()),
                windows: Windows::new(longest),
                streaks: Streaks::new(limits.per_phone.memory),
                known: Marks::new(limits.known_address_memory),
            },
        }
    }

    /// Reserves one attempt for `phone` from `address` before its password is verified, or
    /// refuses with `RateLimited` and how long to wait (counting nothing). A reservation stands
    /// as a failure until `succeeded` clears it.
    ///
    /// Every attempt counts in the node's own table first, then in Redis when configured. The
    /// node's table thus holds the limits for what reaches this node even while Redis flickers
    /// (a burst split between Redis answers and timeouts is not counted twice as generously),
    /// and Redis holds them across nodes. A refusal from Redis hands the node's reservation back.
    pub async fn reserve(&self, phone: &str, address: &str) -> Result<()> {
        let keys = Keys::new(phone, address);
        let wait = match self.reserve_in_process(&keys) {
            Ok(reserved) => match self.reserve_shared(&keys).await {
                Some(wait) if !wait.is_zero() => {
                    self.undo_in_process(&keys, reserved);
                    wait
                }
                _ => Duration::ZERO,
            },
            Err(wait) => wait,
        };
        if wait.is_zero() {
            Ok(())
        } else {
            metrics::counter!(LOGIN_REFUSALS).increment(1);
            Err(refusal(wait))
        }
    }

    /// The Redis step; `None` when Redis is not configured or not answering.
    async fn reserve_shared(&self, keys: &Keys) -> Option<Duration> {
        let redis = self.redis.as_ref()?;
        let limits = self.limits;
        let full_keys = keys.all().map(|key| redis.key(&[key]));
        let wait_ms = redis
            .run(|mut connection| async move {
                let mut script = RESERVE.prepare_invoke();
                for key in &full_keys {
                    script.key(key);
                }
                script
                    .arg(limits.per_phone_and_address.max)
                    .arg(millis(limits.per_phone_and_address.window))
                    .arg(limits.per_address.max)
                    .arg(millis(limits.per_address.window))
                    .arg(limits.per_phone.free_attempts)
                    .arg(millis(limits.per_phone.base_delay))
                    .arg(millis(limits.per_phone.max_delay))
                    .arg(millis(limits.per_phone.memory))
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await
            .ok()?;
        Some(Duration::from_millis(wait_ms.max(0).unsigned_abs()))
    }

    /// The node's check-and-reserve step: what it reserved, or how long to wait.
    fn reserve_in_process(&self, keys: &Keys) -> std::result::Result<Reserved, Duration> {
        let memory = &self.memory;
        let limits = &self.limits;
        let _held = memory
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let (pair_used, pair_left) = memory
            .windows
            .state(&keys.pair, limits.per_phone_and_address);
        let (address_used, address_left) = memory.windows.state(&keys.address, limits.per_address);
        let (attempts, since_latest) = memory.streaks.state(&keys.phone);
        let phone_wait = if memory.known.contains(&keys.known) {
            Duration::ZERO
        } else {
            limits.per_phone.wait(attempts, since_latest)
        };
        let wait = limits
            .per_phone_and_address
            .wait(pair_used, pair_left)
            .max(limits.per_address.wait(address_used, address_left))
            .max(phone_wait);
        if !wait.is_zero() {
            return Err(wait);
        }
        memory.windows.add(&keys.pair, limits.per_phone_and_address);
        memory.windows.add(&keys.address, limits.per_address);
        Ok(memory.streaks.add(&keys.phone))
    }

    /// Hands back a reservation the shared counters refused.
    fn undo_in_process(&self, keys: &Keys, reserved: Reserved) {
        let memory = &self.memory;
        let _held = memory
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        memory
            .windows
            .release(&keys.pair, self.limits.per_phone_and_address);
        memory
            .windows
            .release(&keys.address, self.limits.per_address);
        memory.streaks.undo(&keys.phone, reserved);
    }

    /// After a right password: clears the phone's reservations, hands the address's one back (a
    /// good password does not excuse guessing at other phones from there, but it is not a failure
    /// either) and remembers the address as one the phone uses.
    pub async fn succeeded(&self, phone: &str, address: &str) {
        self.settle(&Keys::new(phone, address), true).await;
    }

    /// After a registration: remembers the address as one the phone uses (nothing was reserved).
    pub async fn remember(&self, phone: &str, address: &str) {
        self.settle(&Keys::new(phone, address), false).await;
    }

    async fn settle(&self, keys: &Keys, clear: bool) {
        if let Some(redis) = &self.redis {
            let full_keys = keys.all().map(|key| redis.key(&[key]));
            let memory_ms = millis(self.limits.known_address_memory);
            let _ = redis
                .run(|mut connection| async move {
                    let mut script = SETTLE.prepare_invoke();
                    for key in &full_keys {
                        script.key(key);
                    }
                    script
                        .arg(memory_ms)
                        .arg(u8::from(clear))
                        .invoke_async::<i64>(&mut connection)
                        .await
                })
                .await;
        }
        // The node's table too: it counts every attempt that reached this node.
        let memory = &self.memory;
        let _held = memory
            .lock
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if clear {
            memory.windows.clear(&keys.pair);
            memory
                .windows
                .release(&keys.address, self.limits.per_address);
            memory.streaks.clear(&keys.phone);
        }
        memory.known.insert(&keys.known);
    }
}

#[cfg(test)]
mod tests;
