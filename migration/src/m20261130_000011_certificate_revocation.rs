//! Certificates can be revoked: when a service record a certificate counted is no longer
//! approved as it stood (rejected, or approved with fewer minutes), the certificate no longer
//! tells the truth. `certificate_records` remembers which records (and how many minutes of each)
//! every certificate counted; `certificates.revoked_at` says when one was revoked, set by the
//! review that withdrew the hours, in the same transaction.
//!
//! Certificates issued before this migration have no lines and so are never revoked.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000011_certificate_revocation"
    }
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    RevokedAt,
}

#[derive(DeriveIden)]
enum ServiceRecords {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CertificateRecords {
    Table,
    CertificateId,
    ServiceRecordId,
    Minutes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Certificates::Table)
                    .add_column(
                        ColumnDef::new(Certificates::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CertificateRecords::Table)
                    .col(big_integer(CertificateRecords::CertificateId))
                    .col(big_integer(CertificateRecords::ServiceRecordId))
                    // The record's approved minutes when the certificate was issued.
                    .col(integer(CertificateRecords::Minutes))
                    .primary_key(
                        Index::create()
                            .col(CertificateRecords::CertificateId)
                            .col(CertificateRecords::ServiceRecordId),
                    )
                    .foreign_key(&mut fk(
                        "fk_certificate_records_certificate",
                        (CertificateRecords::Table, CertificateRecords::CertificateId),
                        (Certificates::Table, Certificates::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_certificate_records_record",
                        (
                            CertificateRecords::Table,
                            CertificateRecords::ServiceRecordId,
                        ),
                        (ServiceRecords::Table, ServiceRecords::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // The certificates that counted a record, found by the review that withdraws it.
        manager
            .create_index(index(
                "ix_certificate_records_record",
                CertificateRecords::Table,
                &["service_record_id"],
            ))
            .await?;
        Ok(())
    }
}
