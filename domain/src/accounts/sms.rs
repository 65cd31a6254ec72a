//! Signing in and resetting a forgotten password with SMS one-time codes (`sms` holds the code
//! rules, the limits and the outbox).
//!
//! `request_sms_code` does the same work for every phone, registered or not: the same limits are
//! counted, a code is made, hashed and stored, and an outbox row is written in one transaction;
//! only the row's `deliver` flag differs (a phone with no account is never sent anything). The
//! answer is the same, and so is the time it takes.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait as _},
};

use super::password::{PASSWORD_RESET, revoke_logins, store_password};
use super::{Accounts, Session};
use crate::entity::{sms_codes, sms_outbox, volunteers};
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::sms::codes::{generate_code, well_formed};
use crate::sms::{CODE_TTL, MAX_TRIES, SmsPurpose};
use crate::store::lock_volunteer;
use crate::values::{Password, Phone};

/// What a wrong, expired, spent or dead code is told (one text: which of them it was is not said).
const WRONG_CODE: &str = "sms-code-wrong-or-expired";

fn wrong_code() -> Error {
    Error::invalid("code", WRONG_CODE)
}

impl Accounts {
    /// Makes a code for `phone` and queues its message; answers the same whether or not the
    /// phone has an account. The phone's earlier codes for the purpose stop working.
    pub async fn request_sms_code(
        &self,
        phone: &str,
        purpose: SmsPurpose,
        client_address: &str,
    ) -> Result<()> {
        let phone = Phone::parse(phone, "phone")?;
        self.sms.reserve(phone.as_str(), client_address).await?;
        let known = self.find_by_phone(&phone).await?.is_some();
        let code = generate_code();
        let code_hash = self.sms.key.hash(phone.as_str(), purpose, &code);
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(CODE_TTL).map_err(Error::internal)?;
        let txn = self.store.write().await?;
        sms_codes::Entity::update_many()
            .col_expr(sms_codes::Column::UsedAt, Expr::value(now))
            .filter(sms_codes::Column::Phone.eq(phone.as_str()))
            .filter(sms_codes::Column::Purpose.eq(purpose.as_str()))
            .filter(sms_codes::Column::UsedAt.is_null())
            .exec(&*txn)
            .await?;
        sms_codes::ActiveModel {
            phone: Set(phone.as_str().to_owned()),
            purpose: Set(purpose.as_str().to_owned()),
            code_hash: Set(code_hash),
            tries: Set(0),
            created_at: Set(now),
            expires_at: Set(expires_at),
            used_at: Set(None),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        sms_outbox::ActiveModel {
            phone: Set(phone.as_str().to_owned()),
            purpose: Set(purpose.as_str().to_owned()),
            code: Set(known.then_some(code)),
            deliver: Set(known),
            attempts: Set(0),
            retry_at: Set(now),
            claimed_until: Set(None),
            expires_at: Set(expires_at),
            created_at: Set(now),
            done_at: Set(None),
            outcome: Set(None),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
        self.sms.written.notify_one();
        Ok(())
    }

    /// Spends one try of the phone's live code for `purpose`; Ok when it was the code (which is
    /// then used up). Each try is counted, in the database, before the code is compared: a code
    /// dies after [`MAX_TRIES`] wrong ones, however many arrive at once.
    async fn spend_code(&self, phone: &Phone, purpose: SmsPurpose, code: &str) -> Result<()> {
        if !well_formed(code) {
            return Err(wrong_code());
        }
        let now = Utc::now();
        let txn = self.store.write().await?;
        let Some(row) = sms_codes::Entity::find()
            .filter(sms_codes::Column::Phone.eq(phone.as_str()))
            .filter(sms_codes::Column::Purpose.eq(purpose.as_str()))
            .filter(sms_codes::Column::UsedAt.is_null())
            .filter(sms_codes::Column::ExpiresAt.gt(now))
            .filter(sms_codes::Column::Tries.lt(MAX_TRIES))
            .order_by_desc(sms_codes::Column::Id)
            .one(&*txn)
            .await?
        else {
            txn.rollback().await?;
            return Err(wrong_code());
        };
        let counted = sms_codes::Entity::update_many()
            .col_expr(
                sms_codes::Column::Tries,
                Expr::col(sms_codes::Column::Tries).add(1),
            )
            .filter(sms_codes::Column::Id.eq(row.id))
            .filter(sms_codes::Column::UsedAt.is_null())
            .filter(sms_codes::Column::Tries.lt(MAX_TRIES))
            .exec(&*txn)
            .await?;
        let right = counted.rows_affected == 1
            && self
                .sms
                .key
                .matches(phone.as_str(), purpose, code, &row.code_hash);
        let spent = right
            && sms_codes::Entity::update_many()
                .col_expr(sms_codes::Column::UsedAt, Expr::value(now))
                .filter(sms_codes::Column::Id.eq(row.id))
                .filter(sms_codes::Column::UsedAt.is_null())
                .exec(&*txn)
                .await?
                .rows_affected
                == 1;
        // Committed whatever the outcome: a wrong try stays counted.
        txn.commit().await?;
        if spent { Ok(()) } else { Err(wrong_code()) }
    }

    /// Signs in with a LOGIN code; answers like `login`. Also counted by the sign-in throttle.
    pub async fn login_with_sms_code(
        &self,
        phone: &str,
        code: &str,
        client_address: &str,
    ) -> Result<Session> {
        let phone = Phone::parse(phone, "phone")?;
        self.throttle
            .reserve(phone.as_str(), client_address)
            .await?;
        self.spend_code(&phone, SmsPurpose::Login, code).await?;
        let account = self.find_by_phone(&phone).await?.ok_or_else(wrong_code)?;
        self.throttle
            .succeeded(phone.as_str(), client_address)
            .await;
        self.start_session(account.into()).await
    }

    /// Sets a new password with a RESET_PASSWORD code and ends every login of the account.
    pub async fn reset_password(
        &self,
        phone: &str,
        code: &str,
        new_password: &str,
        client_address: &str,
    ) -> Result<()> {
        let phone = Phone::parse(phone, "phone")?;
        let password = Password::parse(new_password, &phone, "newPassword")?;
        self.throttle
            .reserve(phone.as_str(), client_address)
            .await?;
        self.spend_code(&phone, SmsPurpose::ResetPassword, code)
            .await?;
        let account = self.find_by_phone(&phone).await?.ok_or_else(wrong_code)?;
        let password_hash = self.hasher.hash(&password).await?;
        let volunteer = VolunteerId(account.id);
        let txn = self.store.write().await?;
        lock_volunteer(&*txn, volunteer).await?;
        let row = volunteers::Entity::find_by_id(volunteer.0)
            .one(&*txn)
            .await?
            .ok_or_else(wrong_code)?;
        store_password(&*txn, row, password_hash, PASSWORD_RESET).await?;
        revoke_logins(&*txn, volunteer, None).await?;
        txn.commit().await?;
        self.throttle
            .succeeded(phone.as_str(), client_address)
            .await;
        Ok(())
    }
}
