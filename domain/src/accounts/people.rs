//! Volunteers as the screens show them (names on leaderboards, `me`, rosters), read through a
//! per-node cache: a warm node names a leaderboard's lines without a database read. Forgotten on
//! every node when the bus delivers [`Change::Account`] for the volunteer — published by every
//! write to what [`Volunteer`] holds (profile, consent, erasure) — and after [`PEOPLE_CACHE_TTL`]
//! anyway, which bounds how stale a node that missed a message can be.
//!
//! [`Change::Account`]: crate::bus::Change::Account

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use super::{Accounts, Volunteer};
use crate::account_cache::AccountCache;
use crate::entity::volunteers;
use crate::error::Result;
use crate::ids::VolunteerId;

/// How long a node trusts a volunteer it read without hearing of a change.
pub const PEOPLE_CACHE_TTL: Duration = Duration::from_secs(30);
/// Volunteers remembered per node: every board's top lines and an evening's active viewers.
const PEOPLE_CACHE_CAPACITY: u64 = 100_000;

/// The per-node cache of volunteers.
pub type People = AccountCache<Volunteer>;

/// A new, empty cache of volunteers.
pub fn people() -> People {
    AccountCache::new(PEOPLE_CACHE_CAPACITY, PEOPLE_CACHE_TTL)
}

impl Accounts {
    /// Batch lookup for DataLoaders: the cached volunteers, and the rest read in one query.
    pub async fn volunteers(&self, ids: &[VolunteerId]) -> Result<HashMap<VolunteerId, Volunteer>> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for &id in ids {
            match self.people.get(id) {
                Some(volunteer) => {
                    found.insert(id, volunteer);
                }
                None => missing.push(id.0),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let stamp = self.people.stamp();
        let rows = volunteers::Entity::find()
            .filter(volunteers::Column::Id.is_in(missing))
            .all(&self.store.db)
            .await?;
        for row in rows {
            let volunteer = Volunteer::from(row);
            self.people.insert(volunteer.id, volunteer.clone(), stamp);
            found.insert(volunteer.id, volunteer);
        }
        Ok(found)
    }
}
