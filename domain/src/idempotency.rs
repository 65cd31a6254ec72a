//! Idempotent mutations (invariant 4): a phone that retries with the same key gets the first
//! answer and causes no second effect; the same key with other input is refused. Keys are kept
//! for 48 hours (the contract promises at least 24).

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use crate::entity::idempotency_records;
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::request_writes;
use crate::store::is_unique_violation;

const KEEP_FOR: chrono::Duration = chrono::Duration::hours(48);
/// A first attempt that has not answered after this long is taken to have died.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::seconds(60);
const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);

fn fingerprint(operation: &str, input: &impl Serialize) -> Result<String> {
    let body = serde_json::to_vec(input).map_err(Error::internal)?;
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(&body);
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 100 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            "idempotencyKey",
            "must-be-1-100-printable-ascii",
        ));
    }
    Ok(())
}

enum Claim {
    /// This call runs the operation.
    Mine(i64),
    /// An earlier call's stored answer.
    Answered(String),
}

async fn claim(
    db: &DatabaseConnection,
    volunteer: VolunteerId,
    key: &str,
    operation: &str,
    hash: &str,
) -> Result<Claim> {
    let started = tokio::time::Instant::now();
    loop {
        let now = Utc::now();
        let inserted = idempotency_records::ActiveModel {
            volunteer_id: Set(volunteer.0),
            key: Set(key.to_owned()),
            operation: Set(operation.to_owned()),
            request_hash: Set(hash.to_owned()),
            response: Set(None),
            created_at: Set(now),
            expires_at: Set(now + KEEP_FOR),
            ..Default::default()
        }
        .insert(db)
        .await;
        match inserted {
            Ok(row) => return Ok(Claim::Mine(row.id)),
            Err(error) if is_unique_violation(&error) => {}
            Err(error) => return Err(error.into()),
        }
        let existing = idempotency_records::Entity::find()
            .filter(idempotency_records::Column::VolunteerId.eq(volunteer.0))
            .filter(idempotency_records::Column::Key.eq(key))
            .one(db)
            .await?;
        let Some(existing) = existing else { continue };
        let abandoned = existing.response.is_none() && existing.created_at < now - ABANDONED_AFTER;
        if existing.expires_at <= now || abandoned {
            idempotency_records::Entity::delete_by_id(existing.id)
                .exec(db)
                .await?;
            continue;
        }
        if existing.request_hash != hash || existing.operation != operation {
            return Err(Error::conflict(
                "idempotencykey-was-already-used-for-different",
            ));
        }
        if let Some(response) = existing.response {
            return Ok(Claim::Answered(response));
        }
        if started.elapsed() > WAIT_FOR_FIRST {
            return Err(Error::conflict(
                "request-with-idempotencykey-still-being-processed",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `operation` once per (volunteer, key); without a key it simply runs.
pub async fn run<T, F, Fut>(
    db: &DatabaseConnection,
    volunteer: VolunteerId,
    key: Option<&str>,
    operation: &str,
    input: &impl Serialize,
    run: F,
) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let Some(key) = key else {
        return run().await;
    };
    check_key(key)?;
    let hash = fingerprint(operation, input)?;
    let record = match claim(db, volunteer, key, operation, &hash).await? {
        Claim::Answered(response) => {
            return serde_json::from_str(&response).map_err(Error::internal);
        }
        Claim::Mine(record) => record,
    };
    let commits_before = request_writes::commits_sent();
    match run().await {
        Ok(value) => {
            let response = serde_json::to_string(&value).map_err(Error::internal)?;
            idempotency_records::Entity::update_many()
                .col_expr(idempotency_records::Column::Response, Expr::value(response))
                .filter(idempotency_records::Column::Id.eq(record))
                .exec(db)
                .await?;
            Ok(value)
        }
        Err(error) => {
            // A refused or failed attempt leaves no trace: the retry runs afresh. Except when
            // the database went away while the work's commit was on its way: it may have
            // committed, so the claim stays (unanswered, it is taken as abandoned after a
            // minute).
            let ambiguous = matches!(error, Error::Unavailable(_))
                && request_writes::commits_sent() != commits_before;
            if !ambiguous {
                forget_claim(db, record).await;
            }
            Err(error)
        }
    }
}

/// Deletes a claim whose work failed. When the database is away, keeps trying in the
/// background for a while, so the phone's retry with the same key runs as soon as it is back
/// instead of waiting for the claim to count as abandoned.
async fn forget_claim(db: &DatabaseConnection, record: i64) {
    let delete = move |db: DatabaseConnection| async move {
        idempotency_records::Entity::delete_by_id(record)
            .exec(&db)
            .await
    };
    if delete(db.clone()).await.is_ok() {
        return;
    }
    let db = db.clone();
    tokio::spawn(async move {
        for _ in 0..ABANDONED_AFTER.num_seconds() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if delete(db.clone()).await.is_ok() {
                return;
            }
        }
        tracing::warn!(record, "could not forget a failed idempotency claim");
    });
}

/// Forgets expired keys; run periodically.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64> {
    let result = idempotency_records::Entity::delete_many()
        .filter(idempotency_records::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
