//! Changing one's password while signed in: the current password is checked (and counted by the
//! sign-in throttle, so it cannot be used to guess), the new one follows the registration rules,
//! and every other login of the account is ended.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};

use super::Accounts;
use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::entity::{refresh_tokens, volunteers};
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};
use crate::store::lock_volunteer;
use crate::values::{Password, Phone};

/// The audit action of a password change (a security event).
pub const PASSWORD_CHANGED: &str = "password_changed";
/// The audit action of a password reset with an SMS code.
pub const PASSWORD_RESET: &str = "password_reset";
/// What a wrong current password is told.
const WRONG_CURRENT_PASSWORD: &str = "not-your-current-password";

/// What a password change asks.
pub struct PasswordChange<'a> {
    pub current_password: &'a str,
    pub new_password: &'a str,
    /// The login (refresh-token family) of the access token the change came with: it stays.
    pub keep_session: Option<String>,
    pub client_address: &'a str,
}

/// Revokes the volunteer's live refresh tokens, except those of the login `keep` (if any).
pub(crate) async fn revoke_logins(
    connection: &impl ConnectionTrait,
    volunteer: VolunteerId,
    keep: Option<&str>,
) -> Result<()> {
    let mut update = refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_tokens::Column::VolunteerId.eq(volunteer.0))
        .filter(refresh_tokens::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(refresh_tokens::Column::FamilyId.ne(keep));
    }
    update.exec(connection).await?;
    Ok(())
}

/// Stores `password_hash` as the volunteer's password and records the security event `action`,
/// in `connection` (the caller's transaction). Neither hash appears in the audit entry.
pub(crate) async fn store_password(
    connection: &impl ConnectionTrait,
    row: volunteers::Model,
    password_hash: String,
    action: &str,
) -> Result<()> {
    let (id, area) = (row.id, AreaId(row.area_id));
    let mut active: volunteers::ActiveModel = row.into();
    active.password_hash = Set(password_hash);
    active.updated_at = Set(Utc::now());
    active.update(connection).await?;
    audit::record::<(), ()>(
        connection,
        AuditRecord {
            actor: Some(VolunteerId(id)),
            action,
            entity_type: "volunteer",
            entity_id: id,
            area: Some(area),
            team_id: None,
            before: None,
            after: None,
        },
    )
    .await
}

impl Accounts {
    /// Changes the caller's password. A wrong current password is refused (`currentPassword`)
    /// and counts as a failed sign-in for the phone and address.
    pub async fn change_password(&self, actor: &Actor, change: PasswordChange<'_>) -> Result<()> {
        let row = volunteers::Entity::find_by_id(actor.volunteer.0)
            .one(&self.store.db)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let phone = Phone::from_stored(row.phone.clone());
        let new_password = Password::parse(change.new_password, &phone, "newPassword")?;
        self.throttle
            .reserve(phone.as_str(), change.client_address)
            .await?;
        if !self
            .hasher
            .verify(change.current_password, Some(&row.password_hash))
            .await?
        {
            return Err(Error::invalid("currentPassword", WRONG_CURRENT_PASSWORD));
        }
        self.throttle
            .succeeded(phone.as_str(), change.client_address)
            .await;
        let password_hash = self.hasher.hash(&new_password).await?;
        let txn = self.store.write().await?;
        lock_volunteer(&*txn, actor.volunteer).await?;
        let row = volunteers::Entity::find_by_id(actor.volunteer.0)
            .one(&*txn)
            .await?
            .ok_or(Error::Unauthenticated)?;
        store_password(&*txn, row, password_hash, PASSWORD_CHANGED).await?;
        revoke_logins(&*txn, actor.volunteer, change.keep_session.as_deref()).await?;
        txn.commit().await
    }

    /// The login an access token belongs to (for `change_password`), when it names one.
    pub fn session_of(&self, access_token: &str) -> Option<String> {
        self.tokens.session_of(access_token).ok().flatten()
    }
}
