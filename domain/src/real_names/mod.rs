//! Real names (`setRealName`): the legal name and the 18-character resident ID number, checked
//! (`id_number`, `name`), sealed at rest (`cipher`) and unique across accounts through a blind
//! index, so no number is decrypted to find a duplicate. The number is only ever shown masked.
//!
//! A recorded number is well formed and no other account holds it; nothing here proves that it
//! is the caller's own (`docs/privacy.md`, "Real names").

pub mod cipher;
pub mod id_number;
pub mod name;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};

use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::deps::{Deps, whole_seconds};
use crate::entity::volunteer_real_names::{self, Column as C, Entity as RealNameRows};
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::store::{is_unique_violation, lock_volunteer};

use cipher::Column;
pub use cipher::DataCipher;
pub use id_number::{IdNumber, mask_id_number};
pub use name::RealName;

/// The one answer for a number another account holds: it never says whose.
pub const TAKEN: &str = "id-number-taken";

/// What the volunteer themself sees of their real name. `Debug` hides the name.
#[derive(Clone)]
pub struct RealNameRecord {
    pub name: String,
    /// `4406**********123X`.
    pub id_number_masked: String,
    pub set_at: DateTime<Utc>,
}

impl std::fmt::Debug for RealNameRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealNameRecord")
            .field("name", &"***")
            .field("id_number_masked", &self.id_number_masked)
            .field("set_at", &self.set_at)
            .finish()
    }
}

pub struct RealNames {
    deps: Deps,
    cipher: Arc<DataCipher>,
}

impl RealNames {
    pub fn new(deps: Deps, cipher: Arc<DataCipher>) -> Self {
        Self { deps, cipher }
    }

    /// Records (or replaces) the caller's real name and ID number. A number another account
    /// holds is a conflict, decided by the unique blind index even when two accounts race.
    pub async fn set(&self, actor: &Actor, name: &str, id_number: &str) -> Result<RealNameRecord> {
        let name = RealName::parse(name, "name")?;
        let today = Utc::now().with_timezone(&self.deps.timezone).date_naive();
        let number = IdNumber::parse(id_number, "idNumber", today)?;
        let me = actor.volunteer;
        let index = self.cipher.blind_index(number.expose());
        let row = volunteer_real_names::ActiveModel {
            volunteer_id: Set(me.0),
            name_sealed: Set(self.cipher.seal(me, Column::Name, name.as_str())?),
            id_number_sealed: Set(self.cipher.seal(me, Column::IdNumber, number.expose())?),
            id_number_index: Set(index.clone()),
            id_number_masked: Set(number.masked()),
            set_at: Set(whole_seconds(Utc::now())),
        };
        let txn = self.deps.store.write().await?;
        lock_volunteer(&*txn, me).await?;
        let holder: Option<i64> = RealNameRows::find()
            .select_only()
            .column(C::VolunteerId)
            .filter(C::IdNumberIndex.eq(index))
            .into_tuple()
            .one(&*txn)
            .await?;
        if holder.is_some_and(|holder| holder != me.0) {
            return Err(Error::conflict(TAKEN));
        }
        let existed = RealNameRows::find_by_id(me.0).one(&*txn).await?.is_some();
        let written = if existed {
            row.update(&*txn).await
        } else {
            row.insert(&*txn).await
        };
        let written = written.map_err(|error| {
            if is_unique_violation(&error) {
                Error::conflict(TAKEN)
            } else {
                error.into()
            }
        })?;
        audit::record(&*txn, set_audit(me, existed)).await?;
        txn.commit().await?;
        Ok(RealNameRecord {
            name: name.as_str().to_owned(),
            id_number_masked: written.id_number_masked,
            set_at: written.set_at,
        })
    }

    /// The volunteer's own real name, decrypted; for them alone.
    pub async fn own(&self, volunteer: VolunteerId) -> Result<Option<RealNameRecord>> {
        let Some(row) = RealNameRows::find_by_id(volunteer.0)
            .one(&self.deps.store.db)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(RealNameRecord {
            name: self
                .cipher
                .open(volunteer, Column::Name, &row.name_sealed)?,
            id_number_masked: row.id_number_masked,
            set_at: row.set_at,
        }))
    }

    /// Which of these volunteers have a well-formed, unique ID number recorded (those without
    /// are absent).
    pub async fn verified(&self, volunteers: &[VolunteerId]) -> Result<HashMap<VolunteerId, bool>> {
        let ids: Vec<i64> = RealNameRows::find()
            .select_only()
            .column(C::VolunteerId)
            .filter(C::VolunteerId.is_in(volunteers.iter().map(|id| id.0)))
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(ids.into_iter().map(|id| (VolunteerId(id), true)).collect())
    }
}

/// The volunteer's real name, if recorded: for their certificates.
pub(crate) async fn real_name_of(
    conn: &impl ConnectionTrait,
    cipher: &DataCipher,
    volunteer: VolunteerId,
) -> Result<Option<String>> {
    let sealed: Option<String> = RealNameRows::find_by_id(volunteer.0)
        .select_only()
        .column(C::NameSealed)
        .into_tuple()
        .one(conn)
        .await?;
    sealed
        .map(|sealed| cipher.open(volunteer, Column::Name, &sealed))
        .transpose()
}

/// The audit entry of a real name set or replaced: that it happened, never the name or number.
fn set_audit(
    me: VolunteerId,
    replaced: bool,
) -> AuditRecord<'static, serde_json::Value, serde_json::Value> {
    AuditRecord {
        actor: Some(me),
        action: if replaced {
            "real_name.replace"
        } else {
            "real_name.set"
        },
        entity_type: "volunteer",
        entity_id: me.0,
        area: None,
        team_id: None,
        before: None,
        after: None,
    }
}
