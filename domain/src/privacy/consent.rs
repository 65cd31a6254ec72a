//! Consent that follows policy changes: a volunteer accepts the version in force (at
//! registration or with `acceptPrivacyPolicy`), and the app asks again when the version changes.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use super::Privacy;
use crate::accounts::Volunteer;
use crate::actor::Actor;
use crate::entity::volunteers;
use crate::error::{Error, Result};
use crate::store::lock_volunteer;

/// Refused when a version other than the one in force is accepted.
pub const NOT_CURRENT_VERSION: &str = "not-policy-version-in-force";

/// A version checked to be the one in force: only [`check_current`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPolicy(String);

impl AcceptedPolicy {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Only the version in force may be accepted (an older one would record consent to terms no
/// longer in force; a newer one does not exist yet).
pub fn check_current(current: &str, given: &str, field: &str) -> Result<AcceptedPolicy> {
    if given != current {
        return Err(Error::invalid(field, NOT_CURRENT_VERSION));
    }
    Ok(AcceptedPolicy(given.to_owned()))
}

impl Privacy {
    /// Checks that `version` is the one in force (`field` names the argument).
    pub fn check_version(&self, version: &str, field: &str) -> Result<AcceptedPolicy> {
        check_current(&self.settings.policy_version, version, field)
    }

    /// Records that the caller accepted the version in force, now.
    pub async fn accept(&self, actor: &Actor, version: &str) -> Result<Volunteer> {
        let accepted = self.check_version(version, "version")?;
        let txn = self.store.write().await?;
        lock_volunteer(&*txn, actor.volunteer).await?;
        let row = volunteers::Entity::find_by_id(actor.volunteer.0)
            .one(&*txn)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let now = Utc::now();
        let mut row: volunteers::ActiveModel = row.into();
        row.accepted_policy_version = Set(Some(accepted.0));
        row.accepted_policy_at = Set(Some(now));
        row.updated_at = Set(now);
        let row = row.update(&*txn).await?;
        txn.changed(crate::bus::Change::Account(actor.volunteer));
        txn.commit().await?;
        Ok(row.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_version_in_force_is_accepted() {
        assert_eq!(
            check_current("2026-11-30", "2026-11-30", "version")
                .map(|accepted| accepted.as_str().to_owned())
                .ok(),
            Some("2026-11-30".to_owned())
        );
        for other in ["2026-01-01", "", "2026-11-30 "] {
            assert!(matches!(
                check_current("2026-11-30", other, "version"),
                Err(Error::InvalidInput { ref field, .. }) if field == "version"
            ));
        }
    }
}
