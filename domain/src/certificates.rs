//! Service-hour certificates: a numbered record of a volunteer's APPROVED hours at the moment of
//! issue. A certificate never changes; asking again with unchanged hours returns the latest one,
//! and changed hours (or a changed name) issue a new one while the old codes keep verifying as of
//! their own issue time.
//!
//! Codes are `FH-` and 17 Crockford base32 characters: 80 random bits (16 characters), so they
//! cannot be guessed or enumerated, and a Luhn mod 32 check character, so a mistyped code is
//! refused without a lookup (every wrong character, nearly every swap of
//! neighbours). Reading is forgiving the way Crockford intends: any case, spaces
//! and hyphens anywhere, `O` for `0` and `I`/`L` for `1`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rand::RngCore as _;
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
use crate::store::lock_volunteer;

/// Who certifies the hours: the programme this deployment serves.
pub const ISSUING_ORGANISATION: &str = "佛山市志愿服务联合会 Foshan Volunteer Federation";

const CODE_PREFIX: &str = "FH-";
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 80 random bits in 5-bit characters.
const RANDOM_CHARS: usize = 16;

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
}

/// The hours a certificate would state right now; compared with the latest certificate.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    holder_name: String,
    total_minutes: i64,
    by_team: Vec<CertificateLine>,
    first_service_date: Option<NaiveDate>,
    last_service_date: Option<NaiveDate>,
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

impl TryFrom<certificates::Model> for Certificate {
    type Error = Error;

    fn try_from(row: certificates::Model) -> Result<Self> {
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
        })
    }
}

/// Luhn mod 32 over character values: catches every single wrong character and every swap of
/// two neighbours except `0`↔`Z`.
fn check_value(values: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, value) in values.iter().rev().enumerate() {
        let addend = u32::from(*value) * if i % 2 == 0 { 2 } else { 1 };
        sum += addend / 32 + addend % 32;
    }
    ((32 - sum % 32) % 32) as u8
}

fn encode(values: &[u8]) -> String {
    values
        .iter()
        .map(|value| char::from(ALPHABET[usize::from(*value & 31)]))
        .collect()
}

/// A fresh code from 80 random bits.
fn new_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let bits = bytes
        .iter()
        .fold(0u128, |bits, byte| (bits << 8) | u128::from(*byte));
    let mut values: Vec<u8> = (0..RANDOM_CHARS)
        .rev()
        .map(|group| ((bits >> (group * 5)) & 31) as u8)
        .collect();
    values.push(check_value(&values));
    format!("{CODE_PREFIX}{}", encode(&values))
}

/// The canonical form of a typed code, or None when it cannot be one of ours.
pub fn normalize_code(raw: &str) -> Option<String> {
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let body = compact.strip_prefix("FH")?;
    let values = body
        .chars()
        .map(|c| match c {
            'O' => Some(0),
            'I' | 'L' => Some(1),
            _ => ALPHABET
                .iter()
                .position(|a| char::from(*a) == c)
                .map(|value| value as u8),
        })
        .collect::<Option<Vec<u8>>>()?;
    let (data, check) = values.split_at_checked(RANDOM_CHARS)?;
    if check.len() != 1 || check_value(data) != check[0] {
        return None;
    }
    Some(format!("{CODE_PREFIX}{}", encode(&values)))
}

/// The first character, then one `*` for each further one: `黄飞鸿` → `黄**`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// The holder's name and approved hours as they stand. A volunteer has at most a few thousand
/// records (12 h a day at most), so they are summed here rather than kept in another table.
async fn snapshot(conn: &impl ConnectionTrait, volunteer: VolunteerId) -> Result<Snapshot> {
    let holder = volunteers::Entity::find_by_id(volunteer.0)
        .one(conn)
        .await?
        .ok_or(Error::NotFound("volunteer"))?;
    let records: Vec<(i64, i32, NaiveDate)> = service_records::Entity::find()
        .select_only()
        .column(service_records::Column::TeamId)
        .column(service_records::Column::Minutes)
        .column(service_records::Column::ServiceDate)
        .filter(service_records::Column::VolunteerId.eq(volunteer.0))
        .filter(service_records::Column::Status.eq(RecordStatus::Approved))
        .into_tuple()
        .all(conn)
        .await?;
    let mut per_team: BTreeMap<i64, i64> = BTreeMap::new();
    for (team, minutes, _) in &records {
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
        holder_name: holder.display_name,
        total_minutes: by_team.iter().map(|line| line.minutes).sum(),
        by_team,
        first_service_date: records.iter().map(|(_, _, day)| *day).min(),
        last_service_date: records.iter().map(|(_, _, day)| *day).max(),
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
        .map(Certificate::try_from)
        .transpose()
}

pub struct Certificates {
    deps: Deps,
}

impl Certificates {
    pub fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// The caller's certificate: the latest one when it still states their hours, else a new one.
    pub async fn issue(&self, actor: &Actor) -> Result<Certificate> {
        let db = &self.deps.store.db;
        // Most requests change nothing: answer them without taking a write lock.
        let current = snapshot(db, actor.volunteer).await?;
        if let Some(latest) = latest(db, actor.volunteer).await?
            && latest.states(&current)
        {
            return Ok(latest);
        }
        let txn = self.deps.store.write().await?;
        // Reviews of this volunteer's hours take the same lock, so the hours read below are the
        // committed ones, and two requests at once issue one certificate, not two.
        lock_volunteer(&*txn, actor.volunteer).await?;
        let current = snapshot(&*txn, actor.volunteer).await?;
        if let Some(latest) = latest(&*txn, actor.volunteer).await?
            && latest.states(&current)
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
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
        Certificate::try_from(row)
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
        certificates::Entity::find()
            .filter(certificates::Column::Code.eq(code))
            .one(&self.deps.store.db)
            .await?
            .map(Certificate::try_from)
            .transpose()
    }

    /// Whether a code is genuine; anyone may ask. Unknown and malformed codes are simply not
    /// valid: there is nothing to tell a forger apart from a typo.
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
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_codes_read_back_in_any_typed_form() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_PREFIX.len() + RANDOM_CHARS + 1);
            assert_eq!(normalize_code(&code).as_deref(), Some(code.as_str()));
            let typed = format!(
                " {} ",
                code.to_lowercase().replace('0', "o").replace('1', "l")
            );
            assert_eq!(normalize_code(&typed).as_deref(), Some(code.as_str()));
        }
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn a_mistyped_character_or_swapped_neighbours_are_refused() {
        for _ in 0..100 {
            let chars: Vec<char> = new_code().chars().collect();
            mistypes_are_refused(&chars);
        }
    }

    fn mistypes_are_refused(chars: &[char]) {
        for i in CODE_PREFIX.len()..chars.len() {
            for replacement in ALPHABET.iter().map(|a| char::from(*a)) {
                if replacement != chars[i] {
                    let mut typo = chars.to_vec();
                    typo[i] = replacement;
                    let typo: String = typo.into_iter().collect();
                    assert_eq!(normalize_code(&typo), None, "{typo}");
                }
            }
            let pair = [chars[i], chars.get(i + 1).copied().unwrap_or(chars[i])];
            if pair[0] != pair[1] && pair != ['0', 'Z'] && pair != ['Z', '0'] {
                let mut swapped = chars.to_vec();
                swapped.swap(i, i + 1);
                let swapped: String = swapped.into_iter().collect();
                assert_eq!(normalize_code(&swapped), None, "{swapped}");
            }
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        let code = new_code();
        for malformed in [
            "",
            "FH-",
            "FH-0000",
            "XX-0000000000000000",
            "FH-000000000000000U0",
        ] {
            assert_eq!(normalize_code(malformed), None, "{malformed}");
        }
        assert_eq!(normalize_code(&format!("{code}0")), None, "too long");
    }

    #[test]
    fn names_keep_only_their_first_character() {
        assert_eq!(mask_name("黄飞鸿"), "黄**");
        assert_eq!(mask_name("Wong"), "W***");
        assert_eq!(mask_name("黄"), "黄");
        assert_eq!(mask_name(""), "");
    }
}
