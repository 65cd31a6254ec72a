//! A throwaway `redis-server` a test starts itself, stops and brings back: for fault tests.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A throwaway redis-server on a free port.
pub struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    pub fn binary_present() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { port, child: None };
        redis.resume();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, empty: what a restart without persistence looks like.
    pub fn resume(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..100 {
            if let Ok(mut connection) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut connection).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start");
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `redis-server` can be started; without it the test says it is skipped (and fails
/// under `FEIHONG_REQUIRE_SERVICES=1`).
pub fn redis_available_or_skip(test: &str) -> bool {
    if OwnRedis::binary_present() {
        return true;
    }
    assert!(
        std::env::var("FEIHONG_REQUIRE_SERVICES").map_or(true, |v| v != "1"),
        "{test}: redis-server is not installed"
    );
    eprintln!("SKIPPED {test}: redis-server is not installed");
    false
}

/// A server on `backend` whose Redis is a fresh `OwnRedis`, for tests that stop and restart it;
/// `None` when the test is skipped (no `redis-server`, or no PostgreSQL configured).
pub async fn app_with_own_redis(
    backend: crate::Backend,
    test: &str,
) -> Option<(OwnRedis, crate::TestApp)> {
    if !redis_available_or_skip(test) {
        return None;
    }
    let redis = OwnRedis::start();
    let url = redis.url();
    let app =
        crate::TestApp::spawn_configured(backend, test, |config| config.redis_url = Some(url))
            .await?;
    Some((redis, app))
}
