//! Rights over one's own data (PIPL): consent to the current privacy policy, the export of
//! everything held about a volunteer (`export`), erasure (`erase`) and the retention of
//! positions (`retention`). `docs/privacy.md` describes what is stored and for how long.

pub mod consent;

use std::sync::Arc;

use crate::store::Store;

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

pub struct Privacy {
    store: Arc<Store>,
    settings: PrivacySettings,
}

impl Privacy {
    pub fn new(store: Arc<Store>, settings: PrivacySettings) -> Self {
        Self { store, settings }
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
