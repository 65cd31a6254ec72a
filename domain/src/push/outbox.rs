//! The push worker: drains `push_outbox` following `workers` — each row on its own; a failed one
//! logged, set aside and retried with a growing delay; the others keep flowing.
//!
//! Several nodes drain the same outbox. A node first claims a row with a conditional update
//! (`claimed_until` unset or past, and the row due): the database lets one node win, the others
//! skip it. The winner sends it, then deletes it (delivered) or sets it aside (failed, lease
//! released). A node that dies while holding a row leaves it to the others once its lease
//! ([`CLAIM_LEASE`], far longer than a send may take) has passed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Push, PushDevice, PushSender};
use crate::deps::whole_seconds;
use crate::devices::MAX_DEVICES;
use crate::entity::{devices, push_outbox};
use crate::error::{Error, Result};
use crate::workers;

/// How long a node holds a row it claimed before others may take it (a send times out sooner).
pub const CLAIM_LEASE: Duration = Duration::from_secs(120);
/// Rows looked at per round.
const BATCH: u64 = 100;

pub struct Pusher {
    db: DatabaseConnection,
    sender: Arc<dyn PushSender>,
}

impl Pusher {
    pub fn new(db: DatabaseConnection, sender: Arc<dyn PushSender>) -> Self {
        Self { db, sender }
    }

    /// Drains the outbox every `every` (sooner while there is more), until dropped.
    pub async fn run(self: Arc<Self>, every: Duration) {
        loop {
            match self.drain_once().await {
                Ok(BATCH_USIZE..) => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "draining the push outbox failed"),
            }
            tokio::time::sleep(every).await;
        }
    }

    /// One round: claims, sends and settles each due row; how many rows it looked at.
    pub async fn drain_once(&self) -> Result<usize> {
        let now = whole_seconds(Utc::now());
        let ids: Vec<i64> = push_outbox::Entity::find()
            .select_only()
            .column(push_outbox::Column::Id)
            .filter(due(now))
            .order_by_asc(push_outbox::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(&self.db)
            .await?;
        for id in &ids {
            if !self.claim(*id, now).await? {
                continue; // another node has it
            }
            match workers::isolated(self.deliver(*id)).await {
                Ok(()) => {
                    push_outbox::Entity::delete_by_id(*id)
                        .exec(&self.db)
                        .await?;
                }
                Err(error) if workers::is_outage(&error) => return Err(error),
                Err(error) => self.set_aside(*id, &error).await?,
            }
        }
        Ok(ids.len())
    }

    /// Takes the row for this node unless another holds it: one conditional update.
    async fn claim(&self, id: i64, now: chrono::DateTime<Utc>) -> Result<bool> {
        let lease = chrono::Duration::from_std(CLAIM_LEASE).map_err(Error::internal)?;
        let claimed = push_outbox::Entity::update_many()
            .col_expr(push_outbox::Column::ClaimedUntil, Expr::value(now + lease))
            .filter(push_outbox::Column::Id.eq(id))
            .filter(due(now))
            .exec(&self.db)
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    async fn deliver(&self, id: i64) -> Result<()> {
        let Some(row) = push_outbox::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(());
        };
        let devices: Vec<PushDevice> = devices::Entity::find()
            .filter(devices::Column::VolunteerId.eq(row.volunteer_id))
            .order_by_asc(devices::Column::Id)
            .limit(MAX_DEVICES)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|device| PushDevice {
                platform: device.platform,
                token: device.token,
            })
            .collect();
        if devices.is_empty() {
            return Ok(()); // every device was removed meanwhile: nobody to push to
        }
        let push = Push {
            id: row.id,
            kind: row.kind,
            text: row.message,
            devices,
        };
        self.sender.send(&push).await
    }

    /// Leaves a failed row alone until its retry time, which grows with each failure.
    async fn set_aside(&self, id: i64, error: &Error) -> Result<()> {
        let attempts = push_outbox::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .map_or(0, |row| row.attempts);
        let attempts = u32::try_from(attempts).unwrap_or(0).saturating_add(1);
        let delay = workers::retry_delay(attempts);
        let retry_at = whole_seconds(Utc::now())
            + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::minutes(15));
        tracing::warn!(
            id, attempts, %error, retry_in_s = delay.as_secs(),
            "push failed; set aside"
        );
        push_outbox::Entity::update_many()
            .col_expr(
                push_outbox::Column::Attempts,
                Expr::col(push_outbox::Column::Attempts).add(1),
            )
            .col_expr(push_outbox::Column::RetryAt, Expr::value(retry_at))
            .col_expr(
                push_outbox::Column::ClaimedUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(push_outbox::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

const BATCH_USIZE: usize = BATCH as usize;

/// A row that is due (not waiting for a retry) and held by nobody.
fn due(now: chrono::DateTime<Utc>) -> Condition {
    Condition::all()
        .add(
            Condition::any()
                .add(push_outbox::Column::RetryAt.is_null())
                .add(push_outbox::Column::RetryAt.lte(now)),
        )
        .add(
            Condition::any()
                .add(push_outbox::Column::ClaimedUntil.is_null())
                .add(push_outbox::Column::ClaimedUntil.lte(now)),
        )
}
