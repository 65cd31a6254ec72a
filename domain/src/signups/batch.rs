//! Group commit for a hot event's sign-ups. Sign-ups for one event wait for each other on the
//! event's row lock and each paid a whole commit (a disk flush) while holding it: 1,000 phones
//! for one event took seconds. Now the sign-ups that arrive for an event while its previous batch
//! runs on this node wait in a line, and whichever of them gets the line's gate next serves them
//! all in one transaction: their volunteers locked in id order (the store's lock order: all
//! volunteer rows before the event row), then each sign-up in arrival order in a savepoint of its
//! own, exactly as a lone sign-up runs (a refusal rolls back only its own savepoint), then one
//! commit. Every phone is still told its own exact outcome and place.
//!
//! The batch runs on a task of its own, so a phone that gives up does not abort the others'
//! batch; what the batch did to the database is handed to each member's request
//! (`request_writes::absorb`), so the API's retry-after-outage and idempotency rules see it as
//! their own. Batches on different nodes are kept apart by the database's locks, as before.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, TransactionTrait as _};
use tokio::sync::oneshot;

use super::{SignUp, check_free, queue_place};
use crate::actor::Actor;
use crate::bus::Change;
use crate::deps::Deps;
use crate::entity::sign_ups;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{EventId, VolunteerId};
use crate::kinds::{SignUpStatus, Visibility};
use crate::request_writes::{self, RequestWrites};
use crate::seats::{lock_published, take_seat};
use crate::stats;
use crate::store::{is_unique_violation, lock_volunteers};
use crate::teams::Teams;

/// Histogram of how many sign-ups each batch served (through the `metrics` facade: the API's
/// `/metrics` exports it).
pub const SIGN_UP_BATCH: &str = "feihong_sign_up_batch_size";

/// Sign-ups one transaction serves at most.
const MAX_BATCH: usize = 100;

/// One sign-up waiting in its event's line.
pub(super) struct Waiting {
    pub actor: Actor,
    pub event: Event,
    pub now: DateTime<Utc>,
    reply: oneshot::Sender<Served>,
}

/// What a member is told: its outcome, and what its batch did to the database.
struct Served {
    outcome: Result<SignUp>,
    writes: RequestWrites,
    commits: u32,
}

#[derive(Default)]
struct Line {
    /// Held by whoever serves the line; the next holder serves who arrived meanwhile.
    gate: tokio::sync::Mutex<()>,
    waiting: std::sync::Mutex<Vec<Waiting>>,
}

/// The lines of this node's events with sign-ups under way.
pub(super) struct Lines(Cache<EventId, Arc<Line>>);

impl Lines {
    pub(super) fn new() -> Self {
        // An idle line is dropped; one still in use stays valid for those holding it (a new
        // arrival then starts a fresh line, and the database's locks keep the two apart).
        Self(
            Cache::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(60))
                .build(),
        )
    }

    /// Signs `actor` up for `event` (already checked to be open to them) in the event's next
    /// batch, serving that batch itself if its turn comes first.
    pub(super) async fn sign_up(
        &self,
        deps: &Deps,
        teams: &Arc<Teams>,
        actor: &Actor,
        event: Event,
        now: DateTime<Utc>,
    ) -> Result<SignUp> {
        let line = self.0.get_with(event.id, || Arc::new(Line::default()));
        let (reply, mut answer) = oneshot::channel();
        lock(&line.waiting).push(Waiting {
            actor: actor.clone(),
            event,
            now,
            reply,
        });
        // Answered by whoever serves the batch it falls into: this request when its turn at the
        // gate comes first, else another, in which case it leaves the gate's queue at once.
        let served = tokio::select! {
            biased;
            served = &mut answer => served,
            turn = line.gate.lock() => {
                // Serves batches until its own was among them (the line's head may be ahead of
                // it), then leaves the rest to their own requests.
                loop {
                    let batch: Vec<Waiting> = {
                        let mut waiting = lock(&line.waiting);
                        let take = waiting.len().min(MAX_BATCH);
                        waiting.drain(..take).collect()
                    };
                    if batch.is_empty() {
                        break;
                    }
                    // Awaited while holding the gate, so batches of this line run one at a time.
                    let _ = tokio::spawn(serve(deps.clone(), teams.clone(), batch)).await;
                    if !answer.is_empty() {
                        break;
                    }
                }
                drop(turn);
                answer.await
            }
        };
        let served =
            served.map_err(|_| Error::internal("a sign-up batch ended without answering"))?;
        request_writes::absorb(served.writes, served.commits);
        served.outcome
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs one batch and answers each member.
async fn serve(deps: Deps, teams: Arc<Teams>, batch: Vec<Waiting>) {
    metrics::histogram!(SIGN_UP_BATCH).record(batch.len() as f64);
    let ((outcome, commits), writes) = request_writes::watch_writes(async {
        let outcome = run(&deps, &teams, &batch).await;
        (outcome, request_writes::commits_sent().unwrap_or(0))
    })
    .await;
    let mut outcomes = match outcome {
        Ok(outcomes) => outcomes,
        Err(error) => batch.iter().map(|_| Err(error.clone())).collect(),
    };
    for (waiting, outcome) in batch.into_iter().zip(outcomes.drain(..)) {
        let _ = waiting.reply.send(Served {
            outcome,
            writes,
            commits,
        });
    }
}

/// One transaction for the whole batch; each member's own outcome.
async fn run(deps: &Deps, teams: &Teams, batch: &[Waiting]) -> Result<Vec<Result<SignUp>>> {
    let Some(first) = batch.first() else {
        return Ok(Vec::new());
    };
    let event = &first.event;
    let txn = deps.store.write().await?;
    let volunteers: Vec<VolunteerId> = batch.iter().map(|w| w.actor.volunteer).collect();
    lock_volunteers(&*txn, &volunteers).await?;
    // The event's lock, whether or not a seat is free, and only while the event is published
    // (it may have closed since it was read): the batch's sign-ups join the queue one at a time,
    // each seeing the one before it, so seats and places are exact. Nobody else can take a seat
    // or join the queue until this transaction ends.
    let mut queue = Queue {
        open: lock_published(&*txn, event.id).await?,
        seats_left: true,
        last_place: None,
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for waiting in batch {
        let savepoint = txn.begin().await?;
        let before = queue.clone();
        match enter(&savepoint, teams, waiting, &mut queue).await {
            Ok(sign_up) => {
                savepoint.commit().await?;
                outcomes.push(Ok(sign_up));
            }
            Err(error) => {
                savepoint.rollback().await?;
                queue = before;
                outcomes.push(Err(error));
            }
        }
    }
    if outcomes.iter().any(Result::is_ok) {
        stats::mark_team_day(&txn, deps.timezone, event.team_id.0, event.starts_at);
        txn.changed(Change::Event(event.id));
    }
    txn.commit().await?;
    Ok(outcomes)
}

/// What a batch knows of its event's seats and queue while it holds the event's lock.
#[derive(Clone)]
struct Queue {
    /// Whether the event was published when the batch locked it.
    open: bool,
    /// False once a seat could not be taken: none frees up before the batch commits.
    seats_left: bool,
    /// The place the batch's last waiting sign-up got.
    last_place: Option<i64>,
}

/// One sign-up inside its batch's transaction (`conn`: its own savepoint), the volunteer's and
/// the event's rows already locked.
async fn enter(
    conn: &impl ConnectionTrait,
    teams: &Teams,
    waiting: &Waiting,
    queue: &mut Queue,
) -> Result<SignUp> {
    let (actor, event) = (&waiting.actor, &waiting.event);
    // Under the volunteer's lock, which `leave_team` takes too: a member leaving meanwhile
    // either cancels this sign-up or is no longer a member here.
    if event.visibility == Visibility::Team
        && teams
            .role_of(conn, actor.volunteer, event.team_id)
            .await?
            .is_none()
    {
        return Err(Error::forbidden("event-for-members-of-team"));
    }
    check_free(conn, actor.volunteer, event).await?;
    if !queue.open {
        return Err(Error::conflict("event-no-longer-open-for-sign"));
    }
    queue.seats_left = queue.seats_left && take_seat(conn, event.id).await?;
    let status = if queue.seats_left {
        SignUpStatus::Confirmed
    } else {
        SignUpStatus::Waitlisted
    };
    let row = sign_ups::ActiveModel {
        event_id: Set(event.id.0),
        volunteer_id: Set(actor.volunteer.0),
        status: Set(status),
        starts_at: Set(event.starts_at),
        ends_at: Set(event.ends_at),
        created_at: Set(waiting.now),
        updated_at: Set(waiting.now),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map_err(|error| {
        if is_unique_violation(&error) {
            Error::conflict("you-are-already-signed-up-for")
        } else {
            error.into()
        }
    })?;
    let mut sign_up = SignUp::from(row);
    if status == SignUpStatus::Waitlisted {
        // The queue grows only by this batch while it holds the event's lock: counted once, then
        // one more for each waiting sign-up after.
        let place = match queue.last_place {
            Some(last) => last + 1,
            None => queue_place(conn, event.id, sign_up.id).await?,
        };
        queue.last_place = Some(place);
        sign_up.waitlist_position = Some(place);
    }
    Ok(sign_up)
}
