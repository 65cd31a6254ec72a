//! Volunteer accounts: registration, profiles and admin roles. Sessions live in `sessions`.

mod admin;
mod erasure;
mod lookup;
mod name_search;
mod password;
mod people;
mod sessions;
mod sign_ins;
mod sms;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};

pub use password::{PASSWORD_CHANGED, PASSWORD_RESET, PasswordChange};
pub use people::PEOPLE_CACHE_TTL;
use people::People;
pub use sessions::Session;
pub use sign_ins::SIGN_IN_CACHE_TTL;
use sign_ins::SignIns;

use crate::actor::Actor;
use crate::areas::AreaTree;
use crate::entity::{admin_roles, volunteers};
use crate::error::{Error, Result};
use crate::hashing::PasswordHasher;
use crate::ids::{AreaId, VolunteerId};
use crate::sms::SmsCodes;
use crate::stats;
use crate::store::{Store, WriteTxn, is_unique_violation};
use crate::throttle::{LoginThrottle, RateLimiter};
use crate::tokens::AccessTokens;
use crate::values::{DisplayName, Password, Phone};

pub use lookup::{MAX_NAME_SEARCH_CHARS, VolunteerLookup};

/// A volunteer's account as the rest of the system sees it (no password hash, no national ID).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Volunteer {
    pub id: VolunteerId,
    #[serde(skip)]
    pub phone: Phone,
    pub display_name: String,
    pub area_id: AreaId,
    pub show_on_leaderboards: bool,
    pub created_at: DateTime<Utc>,
    /// The privacy policy version last accepted, and when (`privacy::consent`).
    pub accepted_policy_version: Option<String>,
    pub accepted_policy_at: Option<DateTime<Utc>>,
}

impl From<volunteers::Model> for Volunteer {
    fn from(row: volunteers::Model) -> Self {
        Self {
            id: VolunteerId(row.id),
            phone: Phone::from_stored(row.phone),
            display_name: row.display_name,
            area_id: AreaId(row.area_id),
            show_on_leaderboards: row.show_on_leaderboards,
            created_at: row.created_at,
            accepted_policy_version: row.accepted_policy_version,
            accepted_policy_at: row.accepted_policy_at,
        }
    }
}

/// An admin role: power over an area and everything below it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AdminRole {
    pub volunteer_id: VolunteerId,
    pub area_id: AreaId,
    pub granted_at: DateTime<Utc>,
}

/// What `register` takes, as the client sent it; parsed here.
pub struct RegisterInput {
    pub phone: String,
    pub password: String,
    pub display_name: String,
    pub area_id: AreaId,
    /// The privacy policy version accepted with the registration, checked to be the one in force.
    pub accepted_policy: Option<crate::privacy::AcceptedPolicy>,
    /// Where the request came from: registrations are limited per client address.
    pub client_address: String,
}

/// Inserts a volunteer whose password is hashed already, and marks the area's statistics of the
/// day (a registration counts there), in `txn`. The unique index on the phone decides a taken
/// phone, after the same work (a hash, an insert) as a free one, so a taken phone is not answered
/// faster (which would tell who is registered).
async fn add_volunteer(
    txn: &WriteTxn<'_>,
    timezone: chrono_tz::Tz,
    phone: &Phone,
    display_name: &DisplayName,
    password_hash: String,
    area_id: AreaId,
    accepted_policy: Option<&crate::privacy::AcceptedPolicy>,
) -> Result<Volunteer> {
    let now = Utc::now();
    let row = volunteers::ActiveModel {
        phone: Set(phone.as_str().to_owned()),
        password_hash: Set(password_hash),
        display_name: Set(display_name.as_str().to_owned()),
        area_id: Set(area_id.0),
        real_name: Set(None),
        national_id: Set(None),
        show_on_leaderboards: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        accepted_policy_version: Set(accepted_policy.map(|policy| policy.as_str().to_owned())),
        accepted_policy_at: Set(accepted_policy.map(|_| now)),
        ..Default::default()
    }
    .insert(&**txn)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            Error::conflict("phone-number-already-registered")
        } else {
            error.into()
        }
    })?;
    lookup::refresh_name_grams(&**txn, row.id).await?;
    stats::mark_area_day(txn, timezone, row.area_id, row.created_at);
    Ok(row.into())
}

/// What guards sign-in and registration against floods.
pub struct AccountLimits {
    pub logins: LoginThrottle,
    pub registrations: RateLimiter,
    /// SMS one-time codes: their limits and key.
    pub sms: SmsCodes,
}

/// Accounts read through the store's connection and write through `Store::write`, like every
/// other service, so registrations and sessions keep the store's lock order and commit effects.
pub struct Accounts {
    store: Arc<Store>,
    areas: Arc<AreaTree>,
    hasher: PasswordHasher,
    tokens: AccessTokens,
    throttle: LoginThrottle,
    registrations: RateLimiter,
    sms: SmsCodes,
    refresh_ttl: chrono::Duration,
    timezone: chrono_tz::Tz,
    /// What signing in read of accounts, per node (`sign_ins`).
    sign_ins: SignIns,
    /// Volunteers as shown, per node (`people`).
    people: People,
}

impl Accounts {
    pub fn new(
        store: Arc<Store>,
        areas: Arc<AreaTree>,
        hasher: PasswordHasher,
        tokens: AccessTokens,
        limits: AccountLimits,
        refresh_ttl: std::time::Duration,
        timezone: chrono_tz::Tz,
    ) -> Result<Self> {
        Ok(Self {
            store,
            areas,
            hasher,
            tokens,
            throttle: limits.logins,
            registrations: limits.registrations,
            sms: limits.sms,
            refresh_ttl: chrono::Duration::from_std(refresh_ttl).map_err(Error::internal)?,
            timezone,
            sign_ins: sign_ins::sign_ins(),
            people: people::people(),
        })
    }

    /// Creates an account and signs it in. Registrations are limited per client address, and a
    /// phone already registered costs the same work (a password hash, an insert) as a new one.
    pub async fn register(&self, input: RegisterInput) -> Result<Session> {
        let phone = Phone::parse(&input.phone, "phone")?;
        let display_name = DisplayName::parse(&input.display_name, "displayName")?;
        let password = Password::parse(&input.password, &phone, "password")?;
        if self.areas.get(input.area_id).is_none() {
            return Err(Error::invalid("areaId", "no-such-area"));
        }
        self.registrations.reserve(&input.client_address).await?;
        // Hashed before the transaction opens: the write lock is never held while hashing.
        let password_hash = self.hasher.hash(&password).await?;
        let txn = self.store.write().await?;
        let volunteer = add_volunteer(
            &txn,
            self.timezone,
            &phone,
            &display_name,
            password_hash,
            input.area_id,
            input.accepted_policy.as_ref(),
        )
        .await?;
        txn.commit().await?;
        self.throttle
            .remember(phone.as_str(), &input.client_address)
            .await;
        self.start_session(volunteer).await
    }

    async fn find_by_phone(&self, phone: &Phone) -> Result<Option<volunteers::Model>> {
        Ok(volunteers::Entity::find()
            .filter(volunteers::Column::Phone.eq(phone.as_str()))
            .one(&self.store.db)
            .await?)
    }

    pub async fn volunteer(&self, id: VolunteerId) -> Result<Option<Volunteer>> {
        Ok(volunteers::Entity::find_by_id(id.0)
            .one(&self.store.db)
            .await?
            .map(Volunteer::from))
    }

    /// Batch lookup of admin roles for DataLoaders; volunteers without roles are absent.
    pub async fn admin_roles(
        &self,
        ids: &[VolunteerId],
    ) -> Result<HashMap<VolunteerId, Vec<AdminRole>>> {
        let rows = admin_roles::Entity::find()
            .filter(admin_roles::Column::VolunteerId.is_in(ids.iter().map(|id| id.0)))
            .order_by_asc(admin_roles::Column::Id)
            .all(&self.store.db)
            .await?;
        let mut out: HashMap<VolunteerId, Vec<AdminRole>> = HashMap::new();
        for row in rows {
            out.entry(VolunteerId(row.volunteer_id))
                .or_default()
                .push(AdminRole {
                    volunteer_id: VolunteerId(row.volunteer_id),
                    area_id: AreaId(row.area_id),
                    granted_at: row.created_at,
                });
        }
        Ok(out)
    }

    /// Forgets what this node cached of a volunteer whose account changed (sign-in state and
    /// profile), as the bus delivers the change: register with `Bus::listen`.
    pub fn account_listener(&self) -> crate::bus::Listener {
        let sign_ins = self.sign_ins.clone();
        let people = self.people.clone();
        std::sync::Arc::new(move |change| {
            if let crate::bus::Change::Account(volunteer) = change {
                sign_ins.forget(*volunteer);
                people.forget(*volunteer);
            }
        })
    }

    /// Whom a valid access token speaks for and when it stops being accepted, from the token
    /// alone (no database read): for budgets, and for subscriptions, which end at the expiry
    /// (the app reconnects with a fresh token, so a logout or a lost role takes effect there too).
    pub fn verify_access_token(
        &self,
        token: &str,
    ) -> Result<(VolunteerId, chrono::DateTime<chrono::Utc>)> {
        self.tokens.verify_until(token)
    }
}

/// What a volunteer may change about themself.
#[derive(Default)]
pub struct ProfileChange {
    pub display_name: Option<String>,
    pub show_on_leaderboards: Option<bool>,
    /// A new home area (an existing area).
    pub area_id: Option<AreaId>,
}

impl Accounts {
    pub async fn update_profile(&self, actor: &Actor, change: ProfileChange) -> Result<Volunteer> {
        let display_name = change
            .display_name
            .as_deref()
            .map(|name| DisplayName::parse(name, "displayName"))
            .transpose()?;
        if let Some(area) = change.area_id
            && self.areas.get(area).is_none()
        {
            return Err(Error::invalid("areaId", "no-such-area"));
        }
        let txn = self.store.write().await?;
        let row = volunteers::Entity::find_by_id(actor.volunteer.0)
            .one(&*txn)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let mut active: volunteers::ActiveModel = row.into();
        let renamed = display_name.is_some();
        if let Some(name) = display_name {
            active.display_name = Set(name.as_str().to_owned());
        }
        if let Some(show) = change.show_on_leaderboards {
            active.show_on_leaderboards = Set(show);
        }
        if let Some(area) = change.area_id {
            active.area_id = Set(area.0);
        }
        active.updated_at = Set(Utc::now());
        let volunteer: Volunteer = active.update(&*txn).await?.into();
        if renamed {
            lookup::refresh_name_grams(&*txn, volunteer.id.0).await?;
        }
        txn.changed(crate::bus::Change::Account(volunteer.id));
        txn.commit().await?;
        Ok(volunteer)
    }
}
