//! Admin roles, granted by the operator (`feihong create-admin`), never through the API.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::{Accounts, AdminRole, Volunteer, add_volunteer};
use crate::audit::{self, AuditRecord};
use crate::bus::Change;
use crate::entity::admin_roles;
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};
use crate::store::{WriteTxn, is_unique_violation};
use crate::text::Text;
use crate::values::{DisplayName, Password, Phone};

/// What `create_admin` did.
#[derive(Debug)]
pub struct AdminGrant {
    pub volunteer: Volunteer,
    pub account_created: bool,
    pub role_created: bool,
}

/// The account an admin role goes to: one that exists (its password proven), or one to create.
enum Grantee {
    Existing(Volunteer),
    New {
        name: DisplayName,
        password_hash: String,
    },
}

impl Accounts {
    /// Makes the account with this phone an admin of the area with this code, creating the
    /// account when there is none (the account and the role in one transaction). For an existing
    /// account the password must be its own: the operator proves they speak for that person.
    pub async fn create_admin(
        &self,
        phone: &str,
        password: &str,
        area_code: &str,
        display_name: &str,
    ) -> Result<AdminGrant> {
        let phone = Phone::parse(phone, "--phone")?;
        let area = self.areas.by_code(area_code).ok_or_else(|| {
            Error::invalid(
                "--area",
                Text::new("no-area-has-code").arg("code", area_code),
            )
        })?;
        // Passwords are hashed or verified before the transaction opens.
        let grantee = match self.find_by_phone(&phone).await? {
            Some(existing) => {
                if !self
                    .hasher
                    .verify(password, Some(&existing.password_hash))
                    .await?
                {
                    return Err(Error::invalid(
                        "--password-stdin",
                        "account-with-phone-exists-password-not",
                    ));
                }
                Grantee::Existing(Volunteer::from(existing))
            }
            None => {
                let password = Password::parse(password, &phone, "--password-stdin")?;
                let name = DisplayName::parse(display_name, "--name")?;
                let password_hash = self.hasher.hash(&password).await?;
                Grantee::New {
                    name,
                    password_hash,
                }
            }
        };
        let txn = self.store.write().await?;
        let (volunteer, account_created) = match grantee {
            Grantee::Existing(volunteer) => (volunteer, false),
            Grantee::New {
                name,
                password_hash,
            } => {
                let volunteer = add_volunteer(
                    &txn,
                    self.timezone,
                    &phone,
                    &name,
                    password_hash,
                    area.id,
                    None,
                )
                .await?;
                (volunteer, true)
            }
        };
        let role_created = grant_admin(&txn, volunteer.id, area.id).await?;
        txn.commit().await?;
        Ok(AdminGrant {
            volunteer,
            account_created,
            role_created,
        })
    }
}

/// Grants the role unless the volunteer holds it already; whether it was granted. A role the
/// unique index finds granted meanwhile counts as held (only an existing account can meet one:
/// nobody else knows an account created in this transaction).
async fn grant_admin(txn: &WriteTxn<'_>, volunteer: VolunteerId, area: AreaId) -> Result<bool> {
    let exists = admin_roles::Entity::find()
        .filter(admin_roles::Column::VolunteerId.eq(volunteer.0))
        .filter(admin_roles::Column::AreaId.eq(area.0))
        .one(&**txn)
        .await?
        .is_some();
    if exists {
        return Ok(false);
    }
    let role = AdminRole {
        volunteer_id: volunteer,
        area_id: area,
        granted_at: Utc::now(),
    };
    let row = admin_roles::ActiveModel {
        volunteer_id: Set(volunteer.0),
        area_id: Set(area.0),
        created_at: Set(role.granted_at),
        ..Default::default()
    }
    .insert(&**txn)
    .await;
    let row = match row {
        Ok(row) => row,
        Err(error) if is_unique_violation(&error) => return Ok(false),
        Err(error) => return Err(error.into()),
    };
    // Every node forgets what it read of the account: the new powers apply to its next request.
    txn.changed(Change::Account(volunteer));
    audit::record(
        &**txn,
        AuditRecord::<(), _> {
            actor: None,
            action: "admin_role.grant",
            entity_type: "admin_role",
            entity_id: row.id,
            area: Some(area),
            team_id: None,
            before: None,
            after: Some(&role),
        },
    )
    .await?;
    Ok(true)
}
