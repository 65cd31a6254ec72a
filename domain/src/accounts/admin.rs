//! Admin roles, granted by the operator (`feihong create-admin`), never through the API.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait,
};

use super::{Accounts, AdminRole, Volunteer, is_unique_violation};
use crate::audit::{self, AuditRecord};
use crate::entity::admin_roles;
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};
use crate::values::{DisplayName, Password, Phone};

/// What `create_admin` did.
#[derive(Debug)]
pub struct AdminGrant {
    pub volunteer: Volunteer,
    pub account_created: bool,
    pub role_created: bool,
}

impl Accounts {
    /// Makes the account with this phone an admin of the area with this code, creating the
    /// account when there is none. For an existing account the password must be its own: the
    /// operator proves they speak for that person.
    pub async fn create_admin(
        &self,
        phone: &str,
        password: &str,
        area_code: &str,
        display_name: &str,
    ) -> Result<AdminGrant> {
        let phone = Phone::parse(phone, "--phone")?;
        let area = self
            .areas
            .by_code(area_code)
            .ok_or_else(|| Error::invalid("--area", format!("no area has code {area_code}")))?;
        let (volunteer, account_created) = match self.find_by_phone(&phone).await? {
            Some(existing) => {
                if !self
                    .hasher
                    .verify(password, Some(&existing.password_hash))
                    .await?
                {
                    return Err(Error::invalid(
                        "--password-stdin",
                        "an account with this phone exists and the password is not its own",
                    ));
                }
                (Volunteer::from(existing), false)
            }
            None => {
                let password = Password::parse(password, &phone, "--password-stdin")?;
                let name = DisplayName::parse(display_name, "--name")?;
                let volunteer = self
                    .insert_volunteer(&phone, &name, &password, area.id)
                    .await?;
                (volunteer, true)
            }
        };
        let role_created = self.grant_admin(volunteer.id, area.id).await?;
        Ok(AdminGrant {
            volunteer,
            account_created,
            role_created,
        })
    }

    async fn grant_admin(&self, volunteer: VolunteerId, area: AreaId) -> Result<bool> {
        let exists = admin_roles::Entity::find()
            .filter(admin_roles::Column::VolunteerId.eq(volunteer.0))
            .filter(admin_roles::Column::AreaId.eq(area.0))
            .one(&self.db)
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
        let txn = self.db.begin().await?;
        let row = admin_roles::ActiveModel {
            volunteer_id: Set(volunteer.0),
            area_id: Set(area.0),
            created_at: Set(role.granted_at),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        let row = match row {
            Ok(row) => row,
            Err(error) if is_unique_violation(&error) => return Ok(false),
            Err(error) => return Err(error.into()),
        };
        audit::record(
            &txn,
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
        txn.commit().await?;
        Ok(true)
    }
}
