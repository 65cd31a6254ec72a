//! SMS one-time codes: how many may be asked for, how they are made and kept (`codes`), the
//! sender interface (`sender`) and the outbox that delivers them after commit (`outbox`). The
//! use cases that spend a code (signing in, resetting a password) are in `accounts::sms`.

pub mod codes;
pub mod outbox;
pub mod sender;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use codes::{CodeKey, SmsPurpose};
pub use outbox::SmsOutbox;
pub use sender::{LogSender, SmsMessage, SmsSender};

use crate::error::Result;
use crate::redis_store::RedisStore;
use crate::throttle::{Limit, RateLimiter};

/// How long a code may be used after it was asked for.
pub const CODE_TTL: Duration = Duration::from_secs(5 * 60);
/// Wrong tries a code survives: the fifth wrong one kills it.
pub const MAX_TRIES: i32 = 5;

/// How many codes may be asked for; `docs/security.md` gives the numbers and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLimits {
    /// Codes for one phone in a short window (one per minute).
    pub per_phone: Limit,
    /// Codes for one phone per day.
    pub per_phone_daily: Limit,
    /// Codes asked for from one client address per day, whatever the phones.
    pub per_address_daily: Limit,
}

impl Default for SmsLimits {
    fn default() -> Self {
        let day = Duration::from_secs(24 * 3600);
        Self {
            per_phone: Limit {
                max: 1,
                window: Duration::from_secs(60),
            },
            per_phone_daily: Limit {
                max: 10,
                window: day,
            },
            per_address_daily: Limit {
                max: 100,
                window: day,
            },
        }
    }
}

/// What issuing codes needs: the hashing key, the request limits (shared through Redis when
/// configured) and the bell that wakes this node's outbox worker after a commit.
pub struct SmsCodes {
    pub(crate) key: CodeKey,
    per_phone: RateLimiter,
    per_phone_daily: RateLimiter,
    per_address_daily: RateLimiter,
    pub(crate) written: Arc<Notify>,
}

impl SmsCodes {
    pub fn new(
        key: CodeKey,
        limits: SmsLimits,
        redis: Option<Arc<RedisStore>>,
        written: Arc<Notify>,
    ) -> Self {
        Self {
            key,
            per_phone: RateLimiter::new("sms-phone", limits.per_phone, redis.clone()),
            per_phone_daily: RateLimiter::new(
                "sms-phone-day",
                limits.per_phone_daily,
                redis.clone(),
            ),
            per_address_daily: RateLimiter::new("sms-addr-day", limits.per_address_daily, redis),
            written,
        }
    }

    /// Counts one code request for `phone` from `address`, or refuses with `RateLimited`. The
    /// same counters for every phone, registered or not, so the answer tells nothing.
    pub(crate) async fn reserve(&self, phone: &str, address: &str) -> Result<()> {
        self.per_address_daily.reserve(address).await?;
        self.per_phone.reserve_for(phone).await?;
        self.per_phone_daily.reserve_for(phone).await
    }
}
