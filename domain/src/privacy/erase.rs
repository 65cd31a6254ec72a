//! Erasure (`deleteMyAccount`): what is wiped of a volunteer, inside the transaction that
//! `SignUps::erase_account` opened (after it cancelled their upcoming sign-ups and ended their
//! memberships, in the lock order: the volunteer row, events, teams, then the rows here).
//!
//! The volunteer row stays, wiped, so that approved minutes stay in statistics and team totals
//! (which refer to it by id) and certificates already issued still verify, naming the holder
//! [`ERASED_NAME`]. The phone becomes a tombstone that is no phone number, so the unique index
//! lets the number register again as a new person and no sign-in can find the old row.

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, sea_query::Expr};

use crate::entity::{
    admin_roles, attendances, certificates, devices, duty_shifts, idempotency_records,
    leaderboard_outbox, notifications, push_outbox, refresh_tokens, service_records, sms_codes,
    sms_outbox, tallies, volunteer_real_names, volunteers,
};
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::kinds::RecordStatus;
use crate::store::WriteTxn;
use crate::tallies::{KIND_MEMBER, KIND_VOLUNTEER, request_rebuild};
use crate::values::ERASED_NAME;

/// Why a record still waiting for review was rejected by an erasure.
pub const ERASED_RECORD_REASON: &str = "account deleted before review";

/// The stored phone of an erased account: unique per row, and never a phone number.
pub fn phone_tombstone(volunteer: VolunteerId) -> String {
    format!("erased:{}", volunteer.0)
}

/// A password hash no password matches (not in the hasher's format).
const NO_PASSWORD: &str = "!erased";

/// Wipes what identifies the volunteer; see the module's description.
pub(crate) async fn wipe(txn: &WriteTxn<'_>, volunteer: VolunteerId) -> Result<()> {
    let now = Utc::now();
    let id = volunteer.0;
    forget_devices_and_codes(txn, volunteer).await?;
    let wiped = volunteers::Entity::update_many()
        .col_expr(
            volunteers::Column::Phone,
            Expr::value(phone_tombstone(volunteer)),
        )
        .col_expr(volunteers::Column::PasswordHash, Expr::value(NO_PASSWORD))
        .col_expr(volunteers::Column::DisplayName, Expr::value(ERASED_NAME))
        .col_expr(
            volunteers::Column::RealName,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            volunteers::Column::NationalId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(volunteers::Column::ShowOnLeaderboards, Expr::value(false))
        .col_expr(
            volunteers::Column::Locale,
            Expr::value(Option::<String>::None),
        )
        .col_expr(volunteers::Column::DeletedAt, Expr::value(now))
        .col_expr(volunteers::Column::UpdatedAt, Expr::value(now))
        .filter(volunteers::Column::Id.eq(id))
        .filter(volunteers::Column::DeletedAt.is_null())
        .exec(&**txn)
        .await?;
    if wiped.rows_affected != 1 {
        return Err(Error::Unauthenticated);
    }
    let backend = txn.get_database_backend();
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            sea_orm::DbBackend::Postgres => {
                "DELETE FROM volunteer_name_grams WHERE volunteer_id = $1"
            }
            _ => "DELETE FROM volunteer_name_grams WHERE volunteer_id = ?",
        },
        [id.into()],
    ))
    .await?;
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::RevokedAt, Expr::value(now))
        .filter(refresh_tokens::Column::VolunteerId.eq(id))
        .filter(refresh_tokens::Column::RevokedAt.is_null())
        .exec(&**txn)
        .await?;
    wipe_positions(txn, volunteer).await?;
    certificates::Entity::update_many()
        .col_expr(certificates::Column::HolderName, Expr::value(ERASED_NAME))
        .filter(certificates::Column::VolunteerId.eq(id))
        .exec(&**txn)
        .await?;
    idempotency_records::Entity::delete_many()
        .filter(idempotency_records::Column::VolunteerId.eq(id))
        .exec(&**txn)
        .await?;
    // Messages to a person who is gone, and powers nobody can use any more.
    notifications::Entity::delete_many()
        .filter(notifications::Column::VolunteerId.eq(id))
        .exec(&**txn)
        .await?;
    // The real name and resident ID (sealed): gone, so the number may serve a new account.
    volunteer_real_names::Entity::delete_many()
        .filter(volunteer_real_names::Column::VolunteerId.eq(id))
        .exec(&**txn)
        .await?;
    admin_roles::Entity::delete_many()
        .filter(admin_roles::Column::VolunteerId.eq(id))
        .exec(&**txn)
        .await?;
    reject_pending_records(txn, volunteer).await?;
    leave_leaderboards(txn, volunteer).await
}

/// Push devices and pushes not yet sent; SMS codes asked for the phone (their hashes, and a
/// code still waiting in the outbox). Read before the phone is replaced by its tombstone.
async fn forget_devices_and_codes(txn: &WriteTxn<'_>, volunteer: VolunteerId) -> Result<()> {
    devices::Entity::delete_many()
        .filter(devices::Column::VolunteerId.eq(volunteer.0))
        .exec(&**txn)
        .await?;
    push_outbox::Entity::delete_many()
        .filter(push_outbox::Column::VolunteerId.eq(volunteer.0))
        .exec(&**txn)
        .await?;
    // Their duty, and their last positions as a responder (the verdicts stay). What the
    // position index still holds of them expires within 10 minutes, and matching never alerts
    // an erased account meanwhile (`Duty::reachable_among`).
    duty_shifts::Entity::delete_many()
        .filter(duty_shifts::Column::VolunteerId.eq(volunteer.0))
        .exec(&**txn)
        .await?;
    let theirs = super::retention::ResponderPositions::OfVolunteer(volunteer.0);
    super::retention::clear_responder_positions(&**txn, theirs).await?;
    let Some(person) = volunteers::Entity::find_by_id(volunteer.0)
        .one(&**txn)
        .await?
    else {
        return Ok(());
    };
    sms_codes::Entity::delete_many()
        .filter(sms_codes::Column::Phone.eq(person.phone.clone()))
        .exec(&**txn)
        .await?;
    sms_outbox::Entity::delete_many()
        .filter(sms_outbox::Column::Phone.eq(person.phone))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// Positions recorded at check-in and check-out (the verdict, who recorded it, stays).
async fn wipe_positions(txn: &WriteTxn<'_>, volunteer: VolunteerId) -> Result<()> {
    use attendances::Column;
    let none = Option::<f64>::None;
    attendances::Entity::update_many()
        .col_expr(Column::CheckInLat, Expr::value(none))
        .col_expr(Column::CheckInLng, Expr::value(none))
        .col_expr(Column::CheckInAccuracyM, Expr::value(none))
        .col_expr(Column::CheckOutLat, Expr::value(none))
        .col_expr(Column::CheckOutLng, Expr::value(none))
        .col_expr(Column::CheckOutAccuracyM, Expr::value(none))
        .col_expr(Column::PositionsDroppedAt, Expr::value(Utc::now()))
        .filter(Column::VolunteerId.eq(volunteer.0))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// Records never approved do not become minutes of a person who is gone.
async fn reject_pending_records(txn: &WriteTxn<'_>, volunteer: VolunteerId) -> Result<()> {
    use service_records::Column;
    service_records::Entity::update_many()
        .col_expr(Column::Status, Expr::value(RecordStatus::Rejected))
        .col_expr(Column::Reason, Expr::value(ERASED_RECORD_REASON))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::VolunteerId.eq(volunteer.0))
        .filter(Column::Status.eq(RecordStatus::Pending))
        .exec(&**txn)
        .await?;
    Ok(())
}

/// The volunteer's own tallies (their lines on area and team boards) go; team totals stay. The
/// leaderboard store (Redis or in-process) is rebuilt from the tallies that remain, by the
/// outbox worker after commit: the person leaves every board, and a later rebuild (which reads
/// the same tallies) cannot bring them back.
async fn leave_leaderboards(txn: &WriteTxn<'_>, volunteer: VolunteerId) -> Result<()> {
    tallies::Entity::delete_many()
        .filter(tallies::Column::VolunteerId.eq(volunteer.0))
        .filter(tallies::Column::Kind.is_in([KIND_VOLUNTEER, KIND_MEMBER]))
        .exec(&**txn)
        .await?;
    leaderboard_outbox::Entity::delete_many()
        .filter(leaderboard_outbox::Column::VolunteerId.eq(volunteer.0))
        .exec(&**txn)
        .await?;
    request_rebuild(&**txn).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificates::mask_name;
    use crate::values::Phone;

    #[test]
    fn a_tombstone_is_no_phone_number_and_an_erased_holder_is_shown_unmasked() {
        let tombstone = phone_tombstone(VolunteerId(42));
        assert_eq!(tombstone, "erased:42");
        assert!(Phone::parse(&tombstone, "phone").is_err());
        assert_eq!(mask_name(ERASED_NAME), ERASED_NAME);
        assert_eq!(mask_name("黄飞鸿"), "黄**");
    }
}
