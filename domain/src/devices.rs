//! Push devices (`registerDevice`, `unregisterDevice`): the phones and browsers a volunteer's
//! notifications are pushed to. A token belongs to one account at a time — the one that
//! registered it last (a unique index on the token; registering upserts) — so a phone handed to
//! someone else stops receiving its former owner's notifications. A volunteer keeps at most
//! [`MAX_DEVICES`]; registering another drops the oldest. Tokens are shown to their owner only,
//! masked ([`masked_token`]).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use crate::actor::Actor;
use crate::deps::{Deps, whole_seconds};
use crate::entity::{devices, volunteers};
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::kinds::DevicePlatform;
use crate::policy;
use crate::store::lock_volunteer;
use crate::text::{Locale, Text};

/// A volunteer keeps at most this many devices; registering one more drops the oldest.
pub const MAX_DEVICES: u64 = 10;
/// A token is 1–512 printable ASCII characters (APNs, FCM, HarmonyOS and Web Push tokens fit).
pub const MAX_TOKEN_CHARS: usize = 512;

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub volunteer_id: VolunteerId,
    pub platform: DevicePlatform,
    /// The token as its owner sees it: masked ([`masked_token`]).
    pub masked_token: String,
    pub registered_at: DateTime<Utc>,
}

/// Checks a device token: 1–[`MAX_TOKEN_CHARS`] printable ASCII characters, no spaces.
pub fn check_token(raw: &str) -> Result<&str> {
    if raw.is_empty() {
        return Err(Error::invalid("token", "must-not-be-empty"));
    }
    if raw.len() > MAX_TOKEN_CHARS {
        return Err(Error::invalid(
            "token",
            Text::new("must-be-at-most-n-characters").arg("max", MAX_TOKEN_CHARS),
        ));
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "token",
            "must-be-printable-ascii-without-spaces",
        ));
    }
    Ok(raw)
}

/// A token as shown back: its last four characters only.
pub fn masked_token(token: &str) -> String {
    let tail: String = token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

fn from_row(row: devices::Model) -> Device {
    Device {
        volunteer_id: VolunteerId(row.volunteer_id),
        platform: row.platform,
        masked_token: masked_token(&row.token),
        registered_at: row.registered_at,
    }
}

pub struct Devices {
    deps: Deps,
}

impl Devices {
    pub fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Registers (or moves here) a device token; drops the volunteer's oldest beyond
    /// [`MAX_DEVICES`].
    pub async fn register(
        &self,
        actor: &Actor,
        platform: DevicePlatform,
        raw_token: &str,
        locale: Locale,
    ) -> Result<Device> {
        let token = check_token(raw_token)?;
        let now = whole_seconds(Utc::now());
        let txn = self.deps.store.write().await?;
        lock_volunteer(&*txn, actor.volunteer).await?;
        // The phone's language becomes the person's: their pushes are written in it.
        volunteers::Entity::update_many()
            .col_expr(volunteers::Column::Locale, Expr::value(locale.tag()))
            .filter(volunteers::Column::Id.eq(actor.volunteer.0))
            .exec(&*txn)
            .await?;
        devices::Entity::insert(devices::ActiveModel {
            volunteer_id: Set(actor.volunteer.0),
            platform: Set(platform),
            token: Set(token.to_owned()),
            registered_at: Set(now),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::column(devices::Column::Token)
                .update_columns([
                    devices::Column::VolunteerId,
                    devices::Column::Platform,
                    devices::Column::RegisteredAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await?;
        let surplus: Vec<i64> = devices::Entity::find()
            .select_only()
            .column(devices::Column::Id)
            .filter(devices::Column::VolunteerId.eq(actor.volunteer.0))
            .order_by_desc(devices::Column::RegisteredAt)
            .order_by_desc(devices::Column::Id)
            .offset(MAX_DEVICES)
            .limit(100)
            .into_tuple()
            .all(&*txn)
            .await?;
        if !surplus.is_empty() {
            devices::Entity::delete_many()
                .filter(devices::Column::Id.is_in(surplus))
                .exec(&*txn)
                .await?;
        }
        let row = devices::Entity::find()
            .filter(devices::Column::Token.eq(token))
            .one(&*txn)
            .await?
            .ok_or_else(|| Error::internal("a device vanished while registering"))?;
        txn.commit().await?;
        Ok(from_row(row))
    }

    /// Removes one of the caller's own devices. Whether it was theirs and is now gone: an
    /// unknown token and another volunteer's get the same answer (`false`).
    pub async fn unregister(&self, actor: &Actor, raw_token: &str) -> Result<bool> {
        let token = check_token(raw_token)?;
        let txn = self.deps.store.write().await?;
        let found = devices::Entity::find()
            .filter(devices::Column::Token.eq(token))
            .one(&*txn)
            .await?;
        let Some(row) = found else {
            return Ok(false);
        };
        if !policy::can_manage_device(actor, VolunteerId(row.volunteer_id)) {
            return Ok(false);
        }
        let removed = devices::Entity::delete_many()
            .filter(devices::Column::Id.eq(row.id))
            .filter(devices::Column::VolunteerId.eq(actor.volunteer.0))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        Ok(removed.rows_affected > 0)
    }

    /// The caller's devices, newest first (at most [`MAX_DEVICES`]), tokens masked.
    pub async fn mine(&self, actor: &Actor) -> Result<Vec<Device>> {
        let rows = devices::Entity::find()
            .filter(devices::Column::VolunteerId.eq(actor.volunteer.0))
            .order_by_desc(devices::Column::RegisteredAt)
            .order_by_desc(devices::Column::Id)
            .limit(MAX_DEVICES)
            .all(&self.deps.store.db)
            .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bounded_printable_ascii() {
        assert!(check_token("fcm:APA91bH-abc_123").is_ok());
        assert!(check_token("").is_err());
        assert!(check_token("has space").is_err());
        assert!(check_token("tab\there").is_err());
        assert!(check_token("令牌").is_err());
        assert!(check_token(&"a".repeat(MAX_TOKEN_CHARS)).is_ok());
        assert!(check_token(&"a".repeat(MAX_TOKEN_CHARS + 1)).is_err());
    }

    #[test]
    fn a_masked_token_shows_its_last_four_characters() {
        assert_eq!(masked_token("abcdef123456"), "…3456");
        assert_eq!(masked_token("ab"), "…ab");
    }
}
