//! Feihong's domain: rules, services and persistence. No HTTP or GraphQL types live here; the API
//! crate calls these services and maps their errors.

pub mod accounts;
pub mod actor;
pub mod areas;
pub mod audit;
pub mod db;
mod entity;
pub mod error;
pub mod hashing;
pub mod ids;
pub mod policy;
pub mod redis_store;
pub mod throttle;
pub mod tokens;
pub mod values;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

pub use error::{Error, Result};

use accounts::Accounts;
use areas::AreaTree;
use hashing::PasswordHasher;
use redis_store::RedisStore;
use throttle::{Limit, LoginThrottle};
use tokens::AccessTokens;

/// Settings the services need; the API crate builds it from its configuration.
#[derive(Clone)]
pub struct ServiceSettings {
    pub token_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub login_failures_per_phone: Limit,
    pub login_failures_per_address: Limit,
    /// How many password hashes may run at once (the rest queue).
    pub hashing_concurrency: usize,
}

/// Every service, wired to one database and (optionally) one Redis.
pub struct Services {
    pub db: DatabaseConnection,
    pub redis: Option<Arc<RedisStore>>,
    pub areas: Arc<AreaTree>,
    pub accounts: Accounts,
}

impl Services {
    /// Wires the services over a migrated database.
    pub async fn new(
        db: DatabaseConnection,
        redis: Option<Arc<RedisStore>>,
        settings: ServiceSettings,
    ) -> Result<Self> {
        let areas = Arc::new(AreaTree::load(&db).await?);
        let hasher =
            tokio::task::spawn_blocking(move || PasswordHasher::new(settings.hashing_concurrency))
                .await
                .map_err(Error::internal)??;
        let tokens = AccessTokens::new(&settings.token_secret, settings.access_token_ttl)?;
        let throttle = LoginThrottle::new(
            redis.clone(),
            settings.login_failures_per_phone,
            settings.login_failures_per_address,
        );
        let accounts = Accounts::new(
            db.clone(),
            areas.clone(),
            hasher,
            tokens,
            throttle,
            settings.refresh_token_ttl,
        )?;
        Ok(Self {
            db,
            redis,
            areas,
            accounts,
        })
    }
}
