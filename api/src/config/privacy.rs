//! The privacy settings (`docs/privacy.md`): the policy in force and how long positions are kept.

use std::time::Duration;

use clap::Args;
use feihong_domain::privacy::PrivacySettings;

use super::values::count;

/// The policy version served by `privacyPolicy` until a deployment sets its own.
pub const DEFAULT_POLICY_VERSION: &str = "2026-11-30";
pub const DEFAULT_POLICY_URL: &str = "https://feihong.example.cn/privacy";
/// Positions recorded at check-in and check-out are kept this many days (a disputed attendance
/// is settled well within it: corrections close 7 days after an event).
pub const DEFAULT_POSITION_RETENTION_DAYS: u32 = 90;

#[derive(Debug, Clone, Args)]
pub struct PrivacyArgs {
    /// The version of the privacy policy in force; volunteers are asked to accept it again when
    /// it changes.
    #[arg(long, env = "FEIHONG_PRIVACY_POLICY_VERSION", global = true,
        default_value = DEFAULT_POLICY_VERSION, value_parser = policy_version)]
    pub privacy_policy_version: String,
    /// Where the app shows the privacy policy.
    #[arg(long, env = "FEIHONG_PRIVACY_POLICY_URL", global = true,
        default_value = DEFAULT_POLICY_URL)]
    pub privacy_policy_url: String,
    /// Days positions recorded at check-in and check-out are kept before the retention job
    /// drops them.
    #[arg(long, env = "FEIHONG_POSITION_RETENTION_DAYS", global = true,
        default_value_t = DEFAULT_POSITION_RETENTION_DAYS, value_parser = count::<u32>(1, 3650))]
    pub position_retention_days: u32,
}

/// 1–64 visible characters (the stored column's width).
fn policy_version(raw: &str) -> Result<String, String> {
    let version = raw.trim();
    if version.is_empty() || version.chars().count() > 64 || version.chars().any(char::is_control) {
        return Err("expected 1 to 64 visible characters".to_owned());
    }
    Ok(version.to_owned())
}

impl PrivacyArgs {
    pub fn into_settings(self) -> PrivacySettings {
        PrivacySettings {
            policy_version: self.privacy_policy_version,
            policy_url: self.privacy_policy_url,
            position_retention: Duration::from_secs(
                u64::from(self.position_retention_days) * 86_400,
            ),
        }
    }
}

/// The defaults, for tests and tools that build a `Config` by hand.
pub fn default_privacy() -> PrivacySettings {
    PrivacySettings {
        policy_version: DEFAULT_POLICY_VERSION.to_owned(),
        policy_url: DEFAULT_POLICY_URL.to_owned(),
        position_retention: Duration::from_secs(
            u64::from(DEFAULT_POSITION_RETENTION_DAYS) * 86_400,
        ),
    }
}
