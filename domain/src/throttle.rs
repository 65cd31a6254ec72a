//! Attempt limits that hold under races. An attempt is *reserved* (counted) before the work it
//! guards runs, in one atomic step over every counter it touches, so however many requests
//! arrive at once, at most the limit's worth get through: sign-ins (`LoginThrottle`) and
//! registrations (`RateLimiter`).
//!
//! With Redis configured the counters are shared by every API node (one Lua script per step);
//! without it (or while Redis is unreachable) an in-process table stands in, so limits never
//! switch off. The decisions themselves are the pure functions below.

mod login;
mod memory;
mod window;

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

pub use login::{LOGIN_REFUSALS, LoginLimits, LoginThrottle};
pub use window::RateLimiter;

use crate::error::Error;

/// At most `max` attempts per fixed `window`, counted from the window's first attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    /// How long one more attempt must wait, with `used` attempts already reserved in a window
    /// that has `left` to run; zero when it may go ahead.
    pub fn wait(&self, used: u32, left: Duration) -> Duration {
        if used < self.max {
            Duration::ZERO
        } else {
            left.max(Duration::from_millis(1))
        }
    }
}

/// Growing delays: the first `free_attempts` run at once; after that each attempt must come
/// `base_delay × 2^(attempts − free_attempts)` (at most `max_delay`) after the latest one. The
/// count is forgotten `memory` after the latest attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub memory: Duration,
}

impl Backoff {
    /// The gap required after the latest attempt when `attempts` have been recorded.
    pub fn delay(&self, attempts: u32) -> Duration {
        let Some(beyond) = attempts.checked_sub(self.free_attempts) else {
            return Duration::ZERO;
        };
        self.base_delay
            .saturating_mul(1u32 << beyond.min(31))
            .min(self.max_delay)
    }

    /// How long the next attempt must still wait, `since_latest` after the latest of `attempts`.
    pub fn wait(&self, attempts: u32, since_latest: Duration) -> Duration {
        self.delay(attempts).saturating_sub(since_latest)
    }
}

/// What a client is counted as: its address, canonical, except that an IPv6 client is its /64
/// (one subscriber holds a whole /64, so counting single IPv6 addresses would count nothing).
pub fn address_key(address: &str) -> String {
    match address.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(ip)) => {
            let [a, b, c, d, ..] = ip.segments();
            format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        Ok(IpAddr::V4(ip)) => ip.to_string(),
        Err(_) => address.trim().to_owned(),
    }
}

/// `RateLimited`, with the wait rounded up to whole seconds (at least one).
fn refusal(wait: Duration) -> Error {
    let seconds = wait.as_millis().div_ceil(1000).max(1);
    Error::RateLimited {
        retry_after: Duration::from_secs(u64::try_from(seconds).unwrap_or(u64::MAX)),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_lets_attempts_through_until_it_is_used_up() {
        let limit = Limit {
            max: 3,
            window: Duration::from_secs(60),
        };
        let left = Duration::from_secs(40);
        assert_eq!(limit.wait(0, left), Duration::ZERO);
        assert_eq!(limit.wait(2, left), Duration::ZERO);
        assert_eq!(limit.wait(3, left), left);
        assert_eq!(limit.wait(99, Duration::ZERO), Duration::from_millis(1));
    }

    #[test]
    fn delays_start_after_the_free_attempts_double_and_are_capped() {
        let backoff = Backoff {
            free_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            memory: Duration::from_secs(3600),
        };
        let delays: Vec<u64> = (0..16).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(
            delays,
            [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        );
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(300));
        assert_eq!(
            backoff.wait(7, Duration::from_secs(1)),
            Duration::from_secs(3)
        );
        assert_eq!(backoff.wait(7, Duration::from_secs(10)), Duration::ZERO);
    }

    #[test]
    fn addresses_are_counted_canonically_and_ipv6_by_its_slash_64() {
        assert_eq!(address_key(" 10.0.0.1 "), "10.0.0.1");
        assert_eq!(address_key("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(
            address_key("2001:0db8:0001:0002:ffff::1"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(address_key("not an address"), "not an address");
    }

    #[test]
    fn a_refusal_rounds_the_wait_up_to_whole_seconds() {
        let seconds = |wait| match refusal(wait) {
            Error::RateLimited { retry_after } => retry_after.as_secs(),
            other => panic!("{other}"),
        };
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_millis(1001)), 2);
        assert_eq!(seconds(Duration::from_secs(900)), 900);
    }
}
