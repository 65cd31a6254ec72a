//! The SMS outbox: a code's message is written in the same transaction as the code and sent
//! after commit by this worker, so a provider outage never blocks `requestSmsCode` and loses no
//! message. Following `workers`: each row on its own, a failed one logged and set aside (its
//! attempts and retry time in the row), retried with growing delays until its code expires.
//! Several nodes may drain at once: a row is claimed with a conditional update, so exactly one
//! node sends it (a node that dies mid-send leaves the claim to lapse, and the row is tried again).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::Notify;

use super::codes::SmsPurpose;
use super::sender::{SmsMessage, SmsSender};
use crate::entity::{sms_codes, sms_outbox};
use crate::error::{Error, Result};
use crate::values::mask_phone;
use crate::workers::{is_outage, isolated, retry_delay};

/// Rows looked at per round.
const BATCH: u64 = 50;
/// How long a claim holds a row: longer than any send may take (the sender times out first).
const CLAIM: Duration = Duration::from_secs(60);
/// Sent, expired and skipped rows, and spent codes, are deleted this long after.
const KEEP: Duration = Duration::from_secs(24 * 3600);

pub struct SmsOutbox {
    db: DatabaseConnection,
    sender: Arc<dyn SmsSender>,
    written: Arc<Notify>,
}

fn chrono_of(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

impl SmsOutbox {
    pub fn new(db: DatabaseConnection, sender: Arc<dyn SmsSender>, written: Arc<Notify>) -> Self {
        Self {
            db,
            sender,
            written,
        }
    }

    /// Drains the outbox for as long as the server runs: at once when this node wrote a row,
    /// else every `every` (rows written by other nodes, retries).
    pub async fn run(self: Arc<Self>, every: Duration) {
        loop {
            if let Err(error) = self.drain_once().await {
                tracing::warn!(%error, "SMS outbox round stopped; trying again on the next tick");
            }
            tokio::select! {
                () = self.written.notified() => {}
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One round: every due row this node can claim; returns how many rows were settled.
    pub async fn drain_once(&self) -> Result<usize> {
        let now = Utc::now();
        let rows = sms_outbox::Entity::find()
            .filter(sms_outbox::Column::DoneAt.is_null())
            .filter(sms_outbox::Column::RetryAt.lte(now))
            .filter(
                Condition::any()
                    .add(sms_outbox::Column::ClaimedUntil.is_null())
                    .add(sms_outbox::Column::ClaimedUntil.lt(now)),
            )
            .order_by_asc(sms_outbox::Column::Id)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut settled = 0;
        for row in rows {
            if !self.claim(&row).await? {
                continue;
            }
            match isolated(self.deliver(&row)).await {
                Ok(outcome) => {
                    self.settle(&row, outcome).await?;
                    settled += 1;
                }
                Err(error) if is_outage(&error) => return Err(error),
                Err(error) => self.set_aside(&row, &error).await?,
            }
        }
        self.forget_old().await?;
        Ok(settled)
    }

    /// Takes the row for this node; false when another node has it or it is done.
    async fn claim(&self, row: &sms_outbox::Model) -> Result<bool> {
        let now = Utc::now();
        let claimed = sms_outbox::Entity::update_many()
            .col_expr(
                sms_outbox::Column::ClaimedUntil,
                Expr::value(now + chrono_of(CLAIM)),
            )
            .filter(sms_outbox::Column::Id.eq(row.id))
            .filter(sms_outbox::Column::DoneAt.is_null())
            .filter(
                Condition::any()
                    .add(sms_outbox::Column::ClaimedUntil.is_null())
                    .add(sms_outbox::Column::ClaimedUntil.lt(now)),
            )
            .exec(&self.db)
            .await?;
        Ok(claimed.rows_affected == 1)
    }

    /// Sends the row's message; what became of it.
    async fn deliver(&self, row: &sms_outbox::Model) -> Result<&'static str> {
        if !row.deliver {
            return Ok("skipped");
        }
        let (Some(code), Some(purpose)) = (&row.code, SmsPurpose::parse(&row.purpose)) else {
            return Ok("expired");
        };
        if row.expires_at <= Utc::now() {
            return Ok("expired");
        }
        let message = SmsMessage {
            phone: row.phone.clone(),
            purpose,
            code: code.clone(),
        };
        self.sender.send(&message).await?;
        Ok("sent")
    }

    /// Marks the row done and wipes its code.
    async fn settle(&self, row: &sms_outbox::Model, outcome: &str) -> Result<()> {
        sms_outbox::Entity::update_many()
            .col_expr(sms_outbox::Column::DoneAt, Expr::value(Utc::now()))
            .col_expr(sms_outbox::Column::Outcome, Expr::value(outcome))
            .col_expr(
                sms_outbox::Column::Code,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                sms_outbox::Column::ClaimedUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(sms_outbox::Column::Id.eq(row.id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Leaves a failed row alone until its retry time, which grows with each failure.
    async fn set_aside(&self, row: &sms_outbox::Model, error: &Error) -> Result<()> {
        let attempts = row.attempts.saturating_add(1);
        let delay = retry_delay(u32::try_from(attempts).unwrap_or(u32::MAX));
        tracing::warn!(
            outbox = row.id,
            phone = %mask_phone(&row.phone),
            attempts,
            %error,
            "sending an SMS failed; set aside, will retry"
        );
        sms_outbox::Entity::update_many()
            .col_expr(sms_outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(
                sms_outbox::Column::RetryAt,
                Expr::value(Utc::now() + chrono_of(delay)),
            )
            .col_expr(
                sms_outbox::Column::ClaimedUntil,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(sms_outbox::Column::Id.eq(row.id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Deletes settled rows and codes that expired more than [`KEEP`] ago. (A row still pending
    /// past its code's expiry is settled `expired` when next due, never sent.)
    async fn forget_old(&self) -> Result<()> {
        let now = Utc::now();
        let before = now - chrono_of(KEEP);
        sms_outbox::Entity::delete_many()
            .filter(sms_outbox::Column::DoneAt.lt(before))
            .exec(&self.db)
            .await?;
        sms_codes::Entity::delete_many()
            .filter(sms_codes::Column::ExpiresAt.lt(before))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
