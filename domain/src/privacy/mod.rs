//! Rights over one's own data (PIPL): consent to the current privacy policy, the export of
//! everything held about a volunteer (`export`), erasure (`erase`) and the retention of
//! positions (`retention`). `docs/privacy.md` describes what is stored and for how long.

pub mod consent;
pub mod erase;
pub mod export;
pub mod retention;

use std::sync::Arc;

use crate::redis_store::RedisStore;
use crate::store::Store;
use crate::throttle::{Limit, RateLimiter};

pub use consent::AcceptedPolicy;

/// The privacy settings the API crate reads from its configuration.
#[derive(Debug, Clone)]
pub struct PrivacySettings {
    /// The version of the privacy policy in force (e.g. `2026-11-30`).
    pub policy_version: String,
    /// Where the app shows it.
    pub policy_url: String,
    /// How long positions recorded at check-in and check-out are kept.
    pub position_retention: std::time::Duration,
}

/// The privacy policy in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyPolicy {
    pub version: String,
    pub url: String,
}

/// Exports one volunteer may make per hour: each reads every table about them.
pub const EXPORTS_PER_HOUR: u32 = 5;

pub struct Privacy {
    store: Arc<Store>,
    settings: PrivacySettings,
    /// `exportMyData` and `GET /me/export.json`, per volunteer.
    exports: RateLimiter,
}

impl Privacy {
    pub fn new(
        store: Arc<Store>,
        redis: Option<Arc<RedisStore>>,
        settings: PrivacySettings,
    ) -> Self {
        let exports = Limit {
            max: EXPORTS_PER_HOUR,
            window: std::time::Duration::from_secs(3600),
        };
        Self {
            store,
            settings,
            exports: RateLimiter::new("export", exports, redis),
        }
    }

    /// The policy in force, for `privacyPolicy`.
    pub fn policy(&self) -> PrivacyPolicy {
        PrivacyPolicy {
            version: self.settings.policy_version.clone(),
            url: self.settings.policy_url.clone(),
        }
    }

    pub fn settings(&self) -> &PrivacySettings {
        &self.settings
    }
}
