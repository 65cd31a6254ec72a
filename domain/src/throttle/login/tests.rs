//! The sign-in policy in process, and through Redis when `TEST_REDIS_URL` is set.

use super::*;
use crate::error::Error;

const PHONE: &str = "13800000000";

fn limits(base_delay: Duration) -> LoginLimits {
    LoginLimits {
        per_phone_and_address: Limit {
            max: 10,
            window: Duration::from_secs(900),
        },
        per_address: Limit {
            max: 100,
            window: Duration::from_secs(900),
        },
        per_phone: Backoff {
            free_attempts: 5,
            base_delay,
            max_delay: base_delay * 8,
            memory: Duration::from_secs(120),
        },
        known_address_memory: Duration::from_secs(120),
    }
}

/// The in-process throttle, and the Redis one when a test Redis is configured.
fn throttles(base_delay: Duration) -> Vec<LoginThrottle> {
    let mut throttles = vec![LoginThrottle::new(None, limits(base_delay))];
    if let Some(url) = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        let prefix = format!("feihong-unit-{}:", uuid::Uuid::new_v4().simple());
        let redis = Arc::new(RedisStore::new(&url, &prefix).unwrap());
        throttles.push(LoginThrottle::new(Some(redis), limits(base_delay)));
    }
    throttles
}

async fn reserved(throttle: &LoginThrottle, attempts: impl Iterator<Item = String>) -> usize {
    let answers = futures::future::join_all(
        attempts.map(|address| async move { throttle.reserve(PHONE, &address).await }),
    )
    .await;
    answers.iter().filter(|answer| answer.is_ok()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_150_simultaneous_attempts_only_the_free_ones_are_reserved() {
    for throttle in throttles(Duration::from_secs(60)) {
        let one_address = reserved(&throttle, (0..150).map(|_| "10.0.0.1".to_owned())).await;
        assert_eq!(one_address, 5);
        throttle.succeeded(PHONE, "10.9.0.1").await;
        let many = reserved(
            &throttle,
            (0..150).map(|n| format!("10.1.{}.{}", n / 200, n % 200)),
        );
        assert_eq!(many.await, 5);
        // The node counted them, and with Redis so did Redis (a script error would not show).
        let (in_process, _) = throttle.memory.streaks.state(&Keys::new(PHONE, "").phone);
        assert_eq!(in_process, 5);
        if let Some(redis) = &throttle.redis {
            assert_eq!(shared_attempts(redis).await, 5);
        }
    }
}

async fn shared_attempts(redis: &RedisStore) -> i64 {
    let key = redis.key(&[&Keys::new(PHONE, "").phone]);
    redis
        .run(|mut connection| async move {
            redis::cmd("HGET")
                .arg(key)
                .arg("n")
                .query_async::<Option<i64>>(&mut connection)
                .await
        })
        .await
        .unwrap()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_split_between_redis_and_an_outage_is_counted_once_on_the_node() {
    for throttle in throttles(Duration::from_secs(60)) {
        let before = reserved(&throttle, (0..3).map(|_| "10.6.0.1".to_owned())).await;
        assert_eq!(before, 3);
        if let Some(redis) = &throttle.redis {
            redis.fail_for_a_moment();
        }
        let during = reserved(&throttle, (0..150).map(|_| "10.6.0.1".to_owned())).await;
        assert_eq!(during, 2, "the free attempts are five in all, Redis or not");
    }
}

#[tokio::test]
async fn a_refusal_from_redis_hands_the_nodes_reservation_back() {
    let Some(redis) = throttles(Duration::from_secs(60))
        .pop()
        .and_then(|t| t.redis)
    else {
        return;
    };
    let other_node = LoginThrottle::new(Some(redis.clone()), limits(Duration::from_secs(60)));
    let this_node = LoginThrottle::new(Some(redis), limits(Duration::from_secs(60)));
    assert_eq!(
        reserved(&other_node, (0..5).map(|n| format!("10.7.0.{n}"))).await,
        5
    );
    assert!(this_node.reserve(PHONE, "10.7.1.1").await.is_err());
    let (in_process, _) = this_node.memory.streaks.state(&Keys::new(PHONE, "").phone);
    assert_eq!(
        in_process, 0,
        "the refused attempt is not held against this node"
    );
}

#[tokio::test]
async fn delays_grow_after_the_free_attempts_and_a_wait_ends_them() {
    for throttle in throttles(Duration::from_millis(400)) {
        for n in 0..5 {
            throttle
                .reserve(PHONE, &format!("10.2.0.{n}"))
                .await
                .unwrap();
        }
        let refused = throttle.reserve(PHONE, "10.2.1.1").await.unwrap_err();
        assert!(
            matches!(refused, Error::RateLimited { retry_after } if retry_after.as_secs() == 1)
        );
        tokio::time::sleep(Duration::from_millis(450)).await;
        throttle.reserve(PHONE, "10.2.1.1").await.unwrap();
        // The next gap is twice as long.
        tokio::time::sleep(Duration::from_millis(450)).await;
        assert!(throttle.reserve(PHONE, "10.2.1.2").await.is_err());
        tokio::time::sleep(Duration::from_millis(400)).await;
        throttle.reserve(PHONE, "10.2.1.2").await.unwrap();
    }
}

#[tokio::test]
async fn the_owners_known_address_skips_the_delays_but_not_the_strict_limit() {
    for throttle in throttles(Duration::from_secs(60)) {
        throttle.reserve(PHONE, "192.168.1.9").await.unwrap();
        throttle.succeeded(PHONE, "192.168.1.9").await;
        // A distributed guesser uses up the free attempts and meets the delays.
        for n in 0..5 {
            throttle
                .reserve(PHONE, &format!("10.3.0.{n}"))
                .await
                .unwrap();
        }
        assert!(throttle.reserve(PHONE, "10.3.1.1").await.is_err());
        // The owner at home is not slowed, up to the strict per-address limit.
        for _ in 0..10 {
            throttle.reserve(PHONE, "192.168.1.9").await.unwrap();
        }
        let refused = throttle.reserve(PHONE, "192.168.1.9").await.unwrap_err();
        assert!(
            matches!(refused, Error::RateLimited { retry_after } if retry_after.as_secs() > 800)
        );
    }
}

#[tokio::test]
async fn a_success_clears_the_phones_reservations_and_returns_the_addresses() {
    for throttle in throttles(Duration::from_secs(60)) {
        for n in 0..5 {
            throttle
                .reserve(PHONE, &format!("10.4.0.{n}"))
                .await
                .unwrap();
        }
        assert!(throttle.reserve(PHONE, "10.4.1.1").await.is_err());
        throttle.reserve(PHONE, "10.4.0.0").await.unwrap_err();
        throttle.succeeded(PHONE, "10.4.0.0").await;
        for n in 0..5 {
            throttle
                .reserve(PHONE, &format!("10.4.2.{n}"))
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn an_address_is_limited_across_phones() {
    for throttle in throttles(Duration::from_secs(60)) {
        for n in 0..100 {
            throttle
                .reserve(&format!("1390000{n:04}"), "10.5.0.1")
                .await
                .unwrap();
        }
        assert!(throttle.reserve("13800000001", "10.5.0.1").await.is_err());
        throttle.reserve("13800000001", "10.5.0.2").await.unwrap();
        // A success hands its reservation back: the address may try once more.
        throttle.succeeded("13900000000", "10.5.0.1").await;
        throttle.reserve("13800000001", "10.5.0.1").await.unwrap();
    }
}
