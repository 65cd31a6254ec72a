//! Revocation: a certificate states approved hours; once a record it counted is approved for
//! fewer minutes than it counted (rejected, or corrected downwards), it no longer tells the
//! truth. The review that withdraws the hours revokes every certificate that counted them, in
//! its own transaction (under the holder's row lock, which issuing takes too), so a verification
//! never sees withdrawn hours as still certified. Reading a certificate's status is then one row.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::entity::{certificate_records, certificates};
use crate::error::Result;

/// Where a certificate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateStatus {
    /// The holder's latest certificate, its hours all approved.
    Current,
    /// A newer one was issued to the same holder; its own hours all still stand.
    Superseded,
    /// Hours it counted were withdrawn.
    Revoked,
}

/// Revoked wins over superseded: withdrawn hours make a certificate untrue, however old.
pub fn status_of(revoked_at: Option<DateTime<Utc>>, newer: bool) -> CertificateStatus {
    match (revoked_at, newer) {
        (Some(_), _) => CertificateStatus::Revoked,
        (None, true) => CertificateStatus::Superseded,
        (None, false) => CertificateStatus::Current,
    }
}

/// Whether the holder was issued a certificate after this one.
pub(super) async fn has_newer(
    conn: &impl ConnectionTrait,
    row: &certificates::Model,
) -> Result<bool> {
    Ok(certificates::Entity::find()
        .filter(certificates::Column::VolunteerId.eq(row.volunteer_id))
        .filter(certificates::Column::Id.gt(row.id))
        .one(conn)
        .await?
        .is_some())
}

/// Remembers which records (and how many of their minutes) a new certificate counted.
pub(super) async fn record_counted(
    conn: &impl ConnectionTrait,
    certificate: i64,
    records: &[(i64, i32)],
) -> Result<()> {
    // A volunteer has at most a few thousand records; 500 rows (1 500 values) per statement
    // stays far inside both databases' limits on bound values.
    for chunk in records.chunks(500) {
        let rows = chunk
            .iter()
            .map(|(record, minutes)| certificate_records::ActiveModel {
                certificate_id: Set(certificate),
                service_record_id: Set(*record),
                minutes: Set(*minutes),
            });
        certificate_records::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Revokes, as of `at`, every certificate not yet revoked that counted more minutes of `record`
/// than are approved now (`approved_now`: 0 when the record is no longer approved). Returns how
/// many. Called by the review that changed the record, in its transaction.
pub(crate) async fn revoke_counting(
    conn: &impl ConnectionTrait,
    record: i64,
    approved_now: i32,
    at: DateTime<Utc>,
) -> Result<u64> {
    let counted = Query::select()
        .column(certificate_records::Column::CertificateId)
        .from(certificate_records::Entity)
        .and_where(certificate_records::Column::ServiceRecordId.eq(record))
        .and_where(certificate_records::Column::Minutes.gt(approved_now))
        .to_owned();
    let revoked = certificates::Entity::update_many()
        .col_expr(certificates::Column::RevokedAt, Expr::value(at))
        .filter(certificates::Column::RevokedAt.is_null())
        .filter(certificates::Column::Id.in_subquery(counted))
        .exec(conn)
        .await?;
    Ok(revoked.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_wins_over_superseded_and_the_latest_unrevoked_is_current() {
        let at = Some(Utc::now());
        assert_eq!(status_of(None, false), CertificateStatus::Current);
        assert_eq!(status_of(None, true), CertificateStatus::Superseded);
        assert_eq!(status_of(at, false), CertificateStatus::Revoked);
        assert_eq!(status_of(at, true), CertificateStatus::Revoked);
    }
}
