//! Sign-in sessions. A login starts a refresh-token family; each refresh marks the presented token
//! used and issues the next one in the family. Presenting a used token means it was stolen or
//! replayed, so the whole family is revoked and both holders must sign in again.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};

use super::{Accounts, Volunteer};
use crate::entity::{refresh_tokens, volunteers};
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::tokens::{IssuedAccessToken, hash_refresh_token, random_token};
use crate::values::Phone;

/// What a successful sign-in hands the client.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: IssuedAccessToken,
    pub refresh_token: String,
    pub volunteer: Volunteer,
}

impl Accounts {
    pub(crate) async fn start_session(&self, volunteer: Volunteer) -> Result<Session> {
        let family = uuid::Uuid::new_v4().to_string();
        let txn = self.store.write().await?;
        let refresh_token = self
            .insert_refresh_token(&*txn, volunteer.id, &family)
            .await?;
        txn.commit().await?;
        Ok(Session {
            access: self.tokens.issue(volunteer.id, &family)?,
            refresh_token,
            volunteer,
        })
    }

    async fn insert_refresh_token(
        &self,
        connection: &impl ConnectionTrait,
        volunteer: VolunteerId,
        family: &str,
    ) -> Result<String> {
        let token = random_token();
        let now = Utc::now();
        refresh_tokens::ActiveModel {
            volunteer_id: Set(volunteer.0),
            family_id: Set(family.to_owned()),
            token_hash: Set(hash_refresh_token(&token)),
            created_at: Set(now),
            expires_at: Set(now + self.refresh_ttl),
            used_at: Set(None),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(connection)
        .await?;
        Ok(token)
    }

    /// Signs in with phone and password. The attempt is reserved against the limits (per phone
    /// and address, per address, per phone) before the password is verified, so concurrent
    /// attempts cannot all be checked; a right password clears the phone's reservations.
    pub async fn login(
        &self,
        phone: &str,
        password: &str,
        client_address: &str,
    ) -> Result<Session> {
        let phone = Phone::parse(phone, "phone")?;
        self.throttle
            .reserve(phone.as_str(), client_address)
            .await?;
        let account = self.find_by_phone(&phone).await?;
        let stored_hash = account.as_ref().map(|row| row.password_hash.as_str());
        if !self.hasher.verify(password, stored_hash).await? {
            return Err(Error::WrongCredentials);
        }
        let Some(account) = account else {
            return Err(Error::WrongCredentials);
        };
        self.throttle
            .succeeded(phone.as_str(), client_address)
            .await;
        self.start_session(account.into()).await
    }

    /// Exchanges a live refresh token for a new pair; the presented token is spent.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        let hash = hash_refresh_token(refresh_token);
        let row = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::TokenHash.eq(&hash))
            .one(&self.store.db)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let now = Utc::now();
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(Error::Unauthenticated);
        }
        if row.used_at.is_some() {
            self.revoke_family_after_reuse(&row).await?;
            return Err(Error::Unauthenticated);
        }
        let txn = self.store.write().await?;
        // Conditional update: of two concurrent refreshes with one token, exactly one wins.
        let spent = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::UsedAt, Expr::value(now))
            .filter(refresh_tokens::Column::Id.eq(row.id))
            .filter(refresh_tokens::Column::UsedAt.is_null())
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .exec(&*txn)
            .await?;
        if spent.rows_affected != 1 {
            txn.rollback().await?;
            self.revoke_family_after_reuse(&row).await?;
            return Err(Error::Unauthenticated);
        }
        let volunteer: Volunteer = volunteers::Entity::find_by_id(row.volunteer_id)
            .one(&*txn)
            .await?
            .ok_or(Error::Unauthenticated)?
            .into();
        let next = self
            .insert_refresh_token(&*txn, volunteer.id, &row.family_id)
            .await?;
        txn.commit().await?;
        Ok(Session {
            access: self.tokens.issue(volunteer.id, &row.family_id)?,
            refresh_token: next,
            volunteer,
        })
    }

    async fn revoke_family_after_reuse(&self, row: &refresh_tokens::Model) -> Result<()> {
        tracing::warn!(
            volunteer = row.volunteer_id,
            family = %row.family_id,
            "a spent refresh token was presented again; revoking its login"
        );
        self.revoke_family(&row.family_id).await
    }

    async fn revoke_family(&self, family: &str) -> Result<()> {
        let txn = self.store.write().await?;
        refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(refresh_tokens::Column::FamilyId.eq(family))
            .filter(refresh_tokens::Column::RevokedAt.is_null())
            .exec(&*txn)
            .await?;
        txn.commit().await
    }

    /// Ends the login the refresh token belongs to. Returns false for a token never issued.
    pub async fn logout(&self, refresh_token: &str) -> Result<bool> {
        let row = refresh_tokens::Entity::find()
            .filter(refresh_tokens::Column::TokenHash.eq(hash_refresh_token(refresh_token)))
            .one(&self.store.db)
            .await?;
        match row {
            Some(row) => {
                self.revoke_family(&row.family_id).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
