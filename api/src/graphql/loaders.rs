//! DataLoaders: every relation field batches its lookups per request instead of querying per row.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use feihong_domain::Services;
use feihong_domain::accounts::{AdminRole, Volunteer};
use feihong_domain::ids::VolunteerId;

use super::error::GqlError;

pub struct VolunteerLoader(Arc<Services>);
pub struct AdminRoleLoader(Arc<Services>);

impl Loader<VolunteerId> for VolunteerLoader {
    type Value = Volunteer;
    type Error = GqlError;

    async fn load(
        &self,
        keys: &[VolunteerId],
    ) -> Result<HashMap<VolunteerId, Volunteer>, GqlError> {
        Ok(self.0.accounts.volunteers(keys).await?)
    }
}

impl Loader<VolunteerId> for AdminRoleLoader {
    type Value = Vec<AdminRole>;
    type Error = GqlError;

    async fn load(
        &self,
        keys: &[VolunteerId],
    ) -> Result<HashMap<VolunteerId, Vec<AdminRole>>, GqlError> {
        Ok(self.0.accounts.admin_roles(keys).await?)
    }
}

pub struct Loaders {
    pub volunteers: DataLoader<VolunteerLoader>,
    pub admin_roles: DataLoader<AdminRoleLoader>,
}

/// The default 1 ms batching window is latency on every request; sibling fields are resolved
/// concurrently and register their keys before the spawned batch runs, so no window is needed.
fn loader<T: Send + Sync + 'static>(inner: T) -> DataLoader<T> {
    DataLoader::new(inner, tokio::spawn).delay(Duration::ZERO)
}

impl Loaders {
    pub fn new(services: Arc<Services>) -> Self {
        Self {
            volunteers: loader(VolunteerLoader(services.clone())),
            admin_roles: loader(AdminRoleLoader(services)),
        }
    }
}
