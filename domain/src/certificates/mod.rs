//! Service-hour certificates: a numbered record of a volunteer's APPROVED hours at the moment of
//! issue. A certificate never changes; asking again with unchanged hours returns the latest one,
//! and changed hours (or a changed name) issue a new one: the older one is then SUPERSEDED and
//! still verifies as of its own issue time. A certificate counting hours that are no longer
//! approved as they were is REVOKED (`revocation`), by the review that withdrew them.
//!
//! Codes (`code`) are `FH-` and 17 Crockford base32 characters: 80 random bits, so they cannot be
//! guessed or enumerated, and a Luhn mod 32 check character, so a mistyped code is refused
//! without a lookup (every wrong character, nearly every swap of neighbours). Reading is
//! forgiving the way Crockford intends: any case, spaces and hyphens anywhere, `O` for `0` and
//! `I`/`L` for `1`.

mod code;
mod revocation;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::deps::{Deps, whole_seconds};
use crate::entity::{certificates, service_records, teams, volunteers};
use crate::error::{Error, Result};
use crate::ids::{TeamId, VolunteerId};
use crate::kinds::RecordStatus;
use crate::real_names::{DataCipher, real_name_of};
use crate::store::lock_volunteer;

use code::new_code;
pub use code::normalize_code;
pub(crate) use revocation::revoke_counting;
pub use revocation::{CertificateStatus, status_of};

/// Who certifies the hours: the programme this deployment serves.
pub const ISSUING_ORGANISATION: &str = "佛山市志愿服务联合会 Foshan Volunteer Federation";

/// One team's share of a certificate, with the team's name as it was at issue time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateLine {
    pub team_id: TeamId,
    pub team_name: String,
    pub minutes: i64,
}

#[derive(Debug, Clone)]
pub struct Certificate {
    pub code: String,
    pub volunteer_id: VolunteerId,
    pub holder_name: String,
    pub total_minutes: i64,
    /// Most minutes first.
    pub by_team: Vec<CertificateLine>,
    pub first_service_date: Option<NaiveDate>,
    pub last_service_date: Option<NaiveDate>,
    pub issued_at: DateTime<Utc>,
    pub issuing_organisation: &'static str,
    /// When hours it counted were withdrawn; None while they all stand.
    pub revoked_at: Option<DateTime<Utc>>,
    /// CURRENT, SUPERSEDED or REVOKED, as of reading.
    pub status: CertificateStatus,
}

/// What anyone holding a code may learn: that it is genuine, and nothing that identifies the
/// holder beyond a masked name.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The canonical code when the input parsed, else the input as given (trimmed, shortened).
    pub code: String,
    pub certificate: Option<VerifiedCertificate>,
}

#[derive(Debug, Clone)]
pub struct VerifiedCertificate {
    pub holder_masked_name: String,
    pub total_minutes: i64,
    pub issued_at: DateTime<Utc>,
    pub status: CertificateStatus,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl VerifiedCertificate {
    /// Genuine and not revoked: a superseded certificate still states hours that stand.
    pub fn valid(&self) -> bool {
        self.status != CertificateStatus::Revoked
    }
}

/// The hours a certificate would state right now; compared with the latest certificate.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    holder_name: String,
    total_minutes: i64,
    by_team: Vec<CertificateLine>,
    first_service_date: Option<NaiveDate>,
    last_service_date: Option<NaiveDate>,
    /// Each approved record counted: (id, minutes).
    records: Vec<(i64, i32)>,
}

impl Certificate {
    fn states(&self, snapshot: &Snapshot) -> bool {
        self.holder_name == snapshot.holder_name
            && self.total_minutes == snapshot.total_minutes
            && self.by_team == snapshot.by_team
            && self.first_service_date == snapshot.first_service_date
            && self.last_service_date == snapshot.last_service_date
    }
}

impl Certificate {
    /// The certificate as stored, with `newer` telling whether the holder has a later one.
    fn from_row(row: certificates::Model, newer: bool) -> Result<Self> {
        let by_team = serde_json::from_str(&row.by_team).map_err(|error| {
            Error::internal(format!("certificate {}: by_team: {error}", row.id))
        })?;
        Ok(Self {
            code: row.code,
            volunteer_id: VolunteerId(row.volunteer_id),
            holder_name: row.holder_name,
            total_minutes: row.total_minutes,
            by_team,
            first_service_date: row.first_service_date,
            last_service_date: row.last_service_date,
            issued_at: row.issued_at,
            issuing_organisation: ISSUING_ORGANISATION,
            revoked_at: row.revoked_at,
            status: status_of(row.revoked_at, newer),
        })
    }
}

/// The first character, then one `*` for each further one: `黄飞鸿` → `黄**`. An erased holder
/// shows as [`crate::values::ERASED_NAME`], unmasked: it names nobody.
pub fn mask_name(name: &str) -> String {
    if name == crate::values::ERASED_NAME {
        return name.to_owned();
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// The holder's name (their real name when recorded, else their display name) and approved
/// hours as they stand. A volunteer has at most a few thousand
/// records (12 h a day at most), so they are summed here rather than kept in another table.
async fn snapshot(
    conn: &impl ConnectionTrait,
    cipher: &DataCipher,
    volunteer: VolunteerId,
) -> Result<Snapshot> {
    let real_name = real_name_of(conn, cipher, volunteer).await?;
    let holder = volunteers::Entity::find_by_id(volunteer.0)
        .one(conn)
        .await?
        .ok_or(Error::NotFound("volunteer"))?;
    let records: Vec<(i64, i64, i32, NaiveDate)> = service_records::Entity::find()
        .select_only()
        .column(service_records::Column::Id)
        .column(service_records::Column::TeamId)
        .column(service_records::Column::Minutes)
        .column(service_records::Column::ServiceDate)
        .filter(service_records::Column::VolunteerId.eq(volunteer.0))
        .filter(service_records::Column::Status.eq(RecordStatus::Approved))
        .into_tuple()
        .all(conn)
        .await?;
    let mut per_team: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, team, minutes, _) in &records {
        *per_team.entry(*team).or_default() += i64::from(*minutes);
    }
    let names: BTreeMap<i64, String> = teams::Entity::find()
        .select_only()
        .column(teams::Column::Id)
        .column(teams::Column::Name)
        .filter(teams::Column::Id.is_in(per_team.keys().copied()))
        .into_tuple::<(i64, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut by_team: Vec<CertificateLine> = per_team
        .into_iter()
        .map(|(team, minutes)| CertificateLine {
            team_id: TeamId(team),
            team_name: names.get(&team).cloned().unwrap_or_default(),
            minutes,
        })
        .collect();
    // A fixed order, so an unchanged record set compares equal to the latest certificate.
    by_team.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.team_id.cmp(&b.team_id)));
    Ok(Snapshot {
        holder_name: real_name.unwrap_or(holder.display_name),
        total_minutes: by_team.iter().map(|line| line.minutes).sum(),
        by_team,
        first_service_date: records.iter().map(|(_, _, _, day)| *day).min(),
        last_service_date: records.iter().map(|(_, _, _, day)| *day).max(),
        records: records
            .iter()
            .map(|(id, _, minutes, _)| (*id, *minutes))
            .collect(),
    })
}

async fn latest(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
) -> Result<Option<Certificate>> {
    certificates::Entity::find()
        .filter(certificates::Column::VolunteerId.eq(volunteer.0))
        .order_by_desc(certificates::Column::Id)
        .one(conn)
        .await?
        .map(|row| Certificate::from_row(row, false))
        .transpose()
}

pub struct Certificates {
    deps: Deps,
    cipher: Arc<DataCipher>,
}

impl Certificates {
    pub fn new(deps: Deps, cipher: Arc<DataCipher>) -> Self {
        Self { deps, cipher }
    }

    /// The caller's certificate: the latest one when it still states their hours, else a new one.
    pub async fn issue(&self, actor: &Actor) -> Result<Certificate> {
        let db = &self.deps.store.db;
        // Most requests change nothing: answer them without taking a write lock.
        let current = snapshot(db, &self.cipher, actor.volunteer).await?;
        if let Some(latest) = latest(db, actor.volunteer).await?
            && latest.states(&current)
            && latest.revoked_at.is_none()
        {
            return Ok(latest);
        }
        let txn = self.deps.store.write().await?;
        // Reviews of this volunteer's hours take the same lock, so the hours read below are the
        // committed ones, and two requests at once issue one certificate, not two.
        lock_volunteer(&*txn, actor.volunteer).await?;
        let current = snapshot(&*txn, &self.cipher, actor.volunteer).await?;
        if let Some(latest) = latest(&*txn, actor.volunteer).await?
            && latest.states(&current)
            && latest.revoked_at.is_none()
        {
            return Ok(latest);
        }
        let by_team = serde_json::to_string(&current.by_team).map_err(Error::internal)?;
        let row = certificates::ActiveModel {
            code: Set(new_code()),
            volunteer_id: Set(actor.volunteer.0),
            holder_name: Set(current.holder_name),
            total_minutes: Set(current.total_minutes),
            first_service_date: Set(current.first_service_date),
            last_service_date: Set(current.last_service_date),
            by_team: Set(by_team),
            issued_at: Set(whole_seconds(Utc::now())),
            revoked_at: Set(None),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        revocation::record_counted(&*txn, row.id, &current.records).await?;
        txn.commit().await?;
        Certificate::from_row(row, false)
    }

    /// The caller's latest certificate, as issued (it may no longer state their hours).
    pub async fn latest(&self, actor: &Actor) -> Result<Option<Certificate>> {
        latest(&self.deps.store.db, actor.volunteer).await
    }

    /// The certificate with this code (typed in any accepted form), for its printable page.
    pub async fn find(&self, code: &str) -> Result<Option<Certificate>> {
        let Some(code) = normalize_code(code) else {
            return Ok(None);
        };
        let db = &self.deps.store.db;
        let Some(row) = certificates::Entity::find()
            .filter(certificates::Column::Code.eq(code))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        let newer = revocation::has_newer(db, &row).await?;
        Certificate::from_row(row, newer).map(Some)
    }

    /// Whether a code is genuine and its hours still stand; anyone may ask. Unknown and malformed
    /// codes are simply not valid: there is nothing to tell a forger apart from a typo.
    pub async fn verify(&self, code: &str) -> Result<Verification> {
        let certificate = self.find(code).await?;
        let code = match &certificate {
            Some(certificate) => certificate.code.clone(),
            None => code.trim().chars().take(64).collect(),
        };
        Ok(Verification {
            code,
            certificate: certificate.map(|certificate| VerifiedCertificate {
                holder_masked_name: mask_name(&certificate.holder_name),
                total_minutes: certificate.total_minutes,
                issued_at: certificate.issued_at,
                status: certificate.status,
                revoked_at: certificate.revoked_at,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_only_their_first_character() {
        assert_eq!(mask_name("黄飞鸿"), "黄**");
        assert_eq!(mask_name("Wong"), "W***");
        assert_eq!(mask_name("黄"), "黄");
        assert_eq!(mask_name(""), "");
    }
}
