//! The account side of `deleteMyAccount`: the caller proves it is them with their password,
//! throttled exactly like a sign-in (per phone and address, per address, growing delays per
//! phone), so a stolen access token cannot erase an account or guess its password.

use sea_orm::EntityTrait;

use super::Accounts;
use crate::actor::Actor;
use crate::entity::volunteers;
use crate::error::{Error, Result};

/// Refused when the password given to confirm an erasure is not the caller's.
pub const WRONG_PASSWORD: &str = "not-your-password";

impl Accounts {
    /// Checks the caller's own password for an irreversible act; a wrong one is refused
    /// (`password`) and counts against the sign-in limits.
    pub async fn confirm_password(
        &self,
        actor: &Actor,
        password: &str,
        client_address: &str,
    ) -> Result<()> {
        let row = volunteers::Entity::find_by_id(actor.volunteer.0)
            .one(&self.store.db)
            .await?
            .filter(|row| row.deleted_at.is_none())
            .ok_or(Error::Unauthenticated)?;
        self.throttle.reserve(&row.phone, client_address).await?;
        if !self
            .hasher
            .verify(password, Some(&row.password_hash))
            .await?
        {
            return Err(Error::invalid("password", WRONG_PASSWORD));
        }
        self.throttle.succeeded(&row.phone, client_address).await;
        Ok(())
    }
}
