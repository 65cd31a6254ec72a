//! Who a bearer token signs in: the token's claims, then what the database says of the account
//! (erased or not, the areas it administers), cached per node so a signed-in request needs no
//! database round trip. The cache forgets a volunteer the moment a [`Change::Account`] for them
//! is delivered on the node (at once for the node that made the change, through Redis for the
//! others), and every entry after [`SIGN_IN_CACHE_TTL`] anyway, so a node that missed a message
//! (Redis away, or a grant made by another process without Redis) is stale for at most that long.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::EntityTrait as _;

use super::Accounts;
use crate::account_cache::AccountCache;
use crate::actor::{Actor, Viewer};
use crate::entity::volunteers;
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};

/// How long a node trusts what it read of an account without hearing of a change.
pub const SIGN_IN_CACHE_TTL: Duration = Duration::from_secs(30);
/// Accounts remembered per node (an evening's active volunteers of a big node).
const SIGN_IN_CACHE_CAPACITY: u64 = 200_000;

/// What signing in needs of an account: `None` when it is erased (or never existed).
pub type SignInState = Option<Arc<Vec<AreaId>>>;

/// The per-node cache of sign-in states.
pub type SignIns = AccountCache<SignInState>;

/// A new, empty cache of sign-in states.
pub fn sign_ins() -> SignIns {
    AccountCache::new(SIGN_IN_CACHE_CAPACITY, SIGN_IN_CACHE_TTL)
}

impl Accounts {
    /// The viewer a bearer token signs in: anonymous without one; `Unauthenticated` for a bad or
    /// expired token and for an erased account (refused at once, not when its token expires).
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Viewer> {
        let Some(token) = bearer else {
            return Ok(Viewer::Anonymous);
        };
        let volunteer = self.tokens.verify(token)?;
        let state = match self.sign_ins.get(volunteer) {
            Some(state) => state,
            None => {
                let stamp = self.sign_ins.stamp();
                let state = self.read_sign_in(volunteer).await?;
                self.sign_ins.insert(volunteer, state.clone(), stamp);
                state
            }
        };
        let Some(admin_areas) = state else {
            return Err(Error::Unauthenticated);
        };
        Ok(Viewer::Volunteer(Actor {
            volunteer,
            admin_areas: admin_areas.as_ref().clone(),
        }))
    }

    async fn read_sign_in(&self, volunteer: VolunteerId) -> Result<SignInState> {
        let live = volunteers::Entity::find_by_id(volunteer.0)
            .one(&self.store.db)
            .await?
            .is_some_and(|row| row.deleted_at.is_none());
        if !live {
            return Ok(None);
        }
        let areas = self
            .admin_roles(&[volunteer])
            .await?
            .remove(&volunteer)
            .unwrap_or_default()
            .into_iter()
            .map(|role| role.area_id)
            .collect();
        Ok(Some(Arc::new(areas)))
    }
}
