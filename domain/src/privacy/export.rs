//! `exportMyData`: everything held about one volunteer, as one JSON document made of per-table
//! sections. A table holding personal data is one entry of [`SECTIONS`]; the test
//! `every_table_referring_to_a_volunteer_is_exported_or_explained` fails when a table referring
//! to a volunteer is neither here nor in its commented allow-list.
//!
//! Secrets are left out: password and token hashes, idempotency request hashes and responses
//! (each [`Section::omit`]). Identifiers are the database's row ids.

use chrono::Utc;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value, json};

use super::Privacy;
use crate::actor::Actor;
use crate::entity::{
    admin_roles, attendances, audit_entries, certificate_records, certificates, devices,
    duty_shifts, idempotency_records, incident_responders, incidents, memberships, notifications,
    push_outbox, refresh_tokens, service_records, sign_ups, stats_volunteer_days, tallies,
    volunteer_real_names, volunteers,
};
use crate::error::Result;
use crate::ids::VolunteerId;

/// Names the document's format, so a reader knows what it holds.
pub const FORMAT: &str = "feihong-export/1";

/// One table's rows about the volunteer.
pub struct Section {
    /// The table, as named in the database.
    pub table: &'static str,
    /// Columns never exported (secrets, or hashes of them).
    pub omit: &'static [&'static str],
}

/// Every table exported, in the document's order.
pub const SECTIONS: &[Section] = &[
    Section {
        table: "volunteers",
        omit: &["password_hash", "national_id"],
    },
    Section {
        table: "volunteer_real_names",
        omit: &["name_sealed", "id_number_sealed", "id_number_index"],
    },
    Section {
        table: "admin_roles",
        omit: &[],
    },
    Section {
        table: "memberships",
        omit: &[],
    },
    Section {
        table: "sign_ups",
        omit: &[],
    },
    Section {
        table: "attendances",
        omit: &[],
    },
    Section {
        table: "service_records",
        omit: &[],
    },
    Section {
        table: "notifications",
        omit: &[],
    },
    Section {
        table: "devices",
        omit: &[],
    },
    Section {
        table: "push_outbox",
        omit: &[],
    },
    Section {
        table: "certificates",
        omit: &[],
    },
    Section {
        table: "certificate_records",
        omit: &[],
    },
    Section {
        table: "tallies",
        omit: &[],
    },
    Section {
        table: "stats_volunteer_days",
        omit: &[],
    },
    Section {
        table: "refresh_tokens",
        omit: &["token_hash", "family_id"],
    },
    Section {
        table: "idempotency_records",
        omit: &["request_hash", "response"],
    },
    Section {
        table: "duty_shifts",
        omit: &[],
    },
    Section {
        table: "incidents",
        omit: &[],
    },
    Section {
        table: "incident_responders",
        omit: &[],
    },
    Section {
        table: "audit_entries",
        omit: &[],
    },
];

/// The names of the exported tables.
pub fn exported_tables() -> impl Iterator<Item = &'static str> {
    SECTIONS.iter().map(|section| section.table)
}

impl Privacy {
    /// The caller's data as a JSON document. Exports are limited per volunteer (a few an hour:
    /// each reads every table about them).
    pub async fn export(&self, actor: &Actor) -> Result<String> {
        self.exports
            .reserve_for(&actor.volunteer.0.to_string())
            .await?;
        let document = export_document(&self.store.db, actor.volunteer).await?;
        serde_json::to_string_pretty(&document).map_err(crate::error::Error::internal)
    }
}

/// The document: `{format, volunteerId, exportedAt, sections: [{table, rows}]}`.
pub async fn export_document(db: &impl ConnectionTrait, volunteer: VolunteerId) -> Result<Value> {
    let mut sections = Vec::with_capacity(SECTIONS.len());
    for section in SECTIONS {
        let rows = section_rows(db, section.table, volunteer)
            .await?
            .into_iter()
            .map(|row| without(row, section.omit))
            .collect::<Vec<_>>();
        sections.push(json!({ "table": section.table, "rows": rows }));
    }
    Ok(json!({
        "format": FORMAT,
        "volunteerId": volunteer.0,
        "exportedAt": Utc::now(),
        "sections": sections,
    }))
}

fn without(row: Value, omit: &[&str]) -> Value {
    match row {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| !omit.contains(&key.as_str()))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// The rows of `table` about `volunteer`, oldest first.
async fn section_rows(
    db: &impl ConnectionTrait,
    table: &str,
    volunteer: VolunteerId,
) -> Result<Vec<Value>> {
    let id = volunteer.0;
    macro_rules! rows_of {
        ($module:ident, $column:ident, $order:ident) => {
            $module::Entity::find()
                .filter($module::Column::$column.eq(id))
                .order_by_asc($module::Column::$order)
                .into_json()
                .all(db)
                .await?
        };
    }
    Ok(match table {
        "volunteers" => rows_of!(volunteers, Id, Id),
        "volunteer_real_names" => {
            volunteer_real_names::Entity::find()
                .filter(volunteer_real_names::Column::VolunteerId.eq(id))
                .into_json()
                .all(db)
                .await?
        }
        "admin_roles" => rows_of!(admin_roles, VolunteerId, Id),
        "memberships" => rows_of!(memberships, VolunteerId, Id),
        "sign_ups" => rows_of!(sign_ups, VolunteerId, Id),
        "attendances" => rows_of!(attendances, VolunteerId, Id),
        "service_records" => rows_of!(service_records, VolunteerId, Id),
        "notifications" => rows_of!(notifications, VolunteerId, Id),
        "devices" => rows_of!(devices, VolunteerId, Id),
        "push_outbox" => rows_of!(push_outbox, VolunteerId, Id),
        "certificates" => rows_of!(certificates, VolunteerId, Id),
        "certificate_records" => certificate_records_of(db, volunteer).await?,
        "tallies" => rows_of!(tallies, VolunteerId, Id),
        "stats_volunteer_days" => rows_of!(stats_volunteer_days, VolunteerId, Id),
        "refresh_tokens" => rows_of!(refresh_tokens, VolunteerId, Id),
        "idempotency_records" => rows_of!(idempotency_records, VolunteerId, Id),
        "duty_shifts" => rows_of!(duty_shifts, VolunteerId, VolunteerId),
        // The incidents they raised or closed.
        "incidents" => {
            incidents::Entity::find()
                .filter(
                    Condition::any()
                        .add(incidents::Column::RaisedBy.eq(id))
                        .add(incidents::Column::ClosedBy.eq(id)),
                )
                .order_by_asc(incidents::Column::Id)
                .into_json()
                .all(db)
                .await?
        }
        "incident_responders" => rows_of!(incident_responders, VolunteerId, AlertedAt),
        "audit_entries" => audit_entries_about(db, volunteer).await?,
        _ => Vec::new(),
    })
}

/// The records each of the volunteer's certificates counted.
async fn certificate_records_of(
    db: &impl ConnectionTrait,
    volunteer: VolunteerId,
) -> Result<Vec<Value>> {
    let ids =
        ids_of::<certificates::Entity>(db, certificates::Column::VolunteerId, volunteer).await?;
    Ok(certificate_records::Entity::find()
        .filter(certificate_records::Column::CertificateId.is_in(ids))
        .order_by_asc(certificate_records::Column::CertificateId)
        .order_by_asc(certificate_records::Column::ServiceRecordId)
        .into_json()
        .all(db)
        .await?)
}

/// The ids of `E`'s rows whose `column` is the volunteer.
async fn ids_of<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    volunteer: VolunteerId,
) -> Result<Vec<i64>>
where
    E::Model: HasId,
{
    Ok(E::find()
        .filter(column.eq(volunteer.0))
        .all(db)
        .await?
        .iter()
        .map(HasId::id)
        .collect())
}

trait HasId {
    fn id(&self) -> i64;
}

macro_rules! has_id {
    ($($module:ident),*) => { $(impl HasId for $module::Model { fn id(&self) -> i64 { self.id } })* };
}
has_id!(
    certificates,
    attendances,
    memberships,
    sign_ups,
    service_records,
    admin_roles
);

/// Audit entries the volunteer made (as actor) and those about them (as subject: their
/// attendances, memberships, sign-ups, service records and admin roles).
async fn audit_entries_about(
    db: &impl ConnectionTrait,
    volunteer: VolunteerId,
) -> Result<Vec<Value>> {
    use audit_entries::Column;
    let subjects = [
        (
            "attendance",
            ids_of::<attendances::Entity>(db, attendances::Column::VolunteerId, volunteer).await?,
        ),
        (
            "membership",
            ids_of::<memberships::Entity>(db, memberships::Column::VolunteerId, volunteer).await?,
        ),
        (
            "sign_up",
            ids_of::<sign_ups::Entity>(db, sign_ups::Column::VolunteerId, volunteer).await?,
        ),
        (
            "service_record",
            ids_of::<service_records::Entity>(db, service_records::Column::VolunteerId, volunteer)
                .await?,
        ),
        (
            "admin_role",
            ids_of::<admin_roles::Entity>(db, admin_roles::Column::VolunteerId, volunteer).await?,
        ),
    ];
    let mut about = Condition::any().add(Column::ActorId.eq(volunteer.0));
    for (entity_type, ids) in subjects {
        if !ids.is_empty() {
            about = about.add(
                Condition::all()
                    .add(Column::EntityType.eq(entity_type))
                    .add(Column::EntityId.is_in(ids)),
            );
        }
    }
    Ok(audit_entries::Entity::find()
        .filter(about)
        .order_by_asc(Column::Id)
        .into_json()
        .all(db)
        .await?)
}
