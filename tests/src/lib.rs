//! The end-to-end test harness: each test starts the real server (the same router, schema and
//! services as `feihong serve`) on port 0, with a fresh database, and talks to it over HTTP.
//!
//! - SQLite: a temporary file, always available.
//! - PostgreSQL: a fresh database created on `TEST_DATABASE_URL` and dropped afterwards.
//! - Redis: used by PostgreSQL servers when `TEST_REDIS_URL` is set, under a per-test key prefix.
//!
//! Without those variables the PostgreSQL tests print that they are skipped; with
//! `FEIHONG_REQUIRE_SERVICES=1` they fail instead.

mod client;
pub mod db_proxy;
pub mod fixtures;
pub mod hostile;
pub mod redis_server;
mod server;
pub mod subscriptions;

pub use client::{Response, Session};
pub use db_proxy::DbProxy;
pub use fixtures::{EventSpec, TeamFixture};
pub use server::{
    Backend, SERVER_THREAD_NAME, TEST_DATA_KEY, TEST_PASSWORD, TOKEN_SECRET, TestApp,
};

/// Declares a test that runs once on SQLite and once on PostgreSQL (+ Redis when configured):
/// `mod name { fn on_sqlite; fn on_postgres }`.
#[macro_export]
macro_rules! on_every_backend {
    ($(async fn $name:ident($app:ident: $app_type:ty) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $app_type) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    if let Some(app) = $crate::TestApp::spawn($crate::Backend::Sqlite, module_path!()).await {
                        run(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    if let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres, module_path!()).await {
                        run(app).await;
                    }
                }
            }
        )*
    };
}
