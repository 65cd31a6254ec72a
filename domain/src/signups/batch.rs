//! Group commit for a hot event's sign-ups. Sign-ups for one event wait for each other on the
//! event's row lock and each paid a whole commit (a disk flush) while holding it: 1,000 phones
//! for one event took seconds. Now the sign-ups that arrive for an event while its previous batch
//! runs on this node wait in a line, and whichever of them gets the line's gate next serves them
//! all in one transaction of a few statements, whatever its size: their volunteers locked in id
//! order in one statement (the store's lock order: all volunteer rows before the event row), the
//! event locked and its free seats read, what decides each member (team membership, an active
//! sign-up already, an overlapping confirmed one) read for all at once, each member decided in
//! arrival order by a pure rule (`admission`: a refusal takes no seat from those after it), the
//! seats taken in one update, the rows written in one insert, then one commit. Every phone is
//! still told its own exact outcome and place.
//!
//! The batch runs on a task of its own, so a phone that gives up does not abort the others'
//! batch; what the batch did to the database is handed to each member's request
//! (`request_writes::absorb`), so the API's retry-after-outage and idempotency rules see it as
//! their own. Batches on different nodes are kept apart by the database's locks, as before.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use moka::sync::Cache;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait as _};
use tokio::sync::oneshot;

use super::admission::{self, Standing};
use super::{SignUp, clashes, queue_place};
use crate::actor::Actor;
use crate::bus::Change;
use crate::deps::Deps;
use crate::entity::sign_ups;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{EventId, VolunteerId};
use crate::kinds::{SignUpStatus, Visibility};
use crate::request_writes::{self, RequestWrites};
use crate::seats::{free_seats, lock_published, take_seats};
use crate::stats;
use crate::store::lock_volunteers;
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

/// One transaction for the whole batch, a few statements whatever its size: the volunteers'
/// locks, the event's and its free seats, what `admission` needs to know of the members, one
/// seat update, one insert and (when anyone waits) one count of the queue. Each member's own
/// outcome, in arrival order.
async fn run(deps: &Deps, teams: &Teams, batch: &[Waiting]) -> Result<Vec<Result<SignUp>>> {
    let Some(first) = batch.first() else {
        return Ok(Vec::new());
    };
    let event = &first.event;
    let txn = deps.store.write().await?;
    let volunteers: Vec<VolunteerId> = batch.iter().map(|w| w.actor.volunteer).collect();
    lock_volunteers(&*txn, &volunteers).await?;
    // The event's lock, whether or not a seat is free, and only while the event is published (it
    // may have closed since it was read): nobody else takes a seat or joins the queue until this
    // transaction ends, so the seats and places decided here are exact.
    let seats = match lock_published(&*txn, event.id).await? {
        true => Some(free_seats(&*txn, event.id).await?),
        false => None,
    };
    let members = standings(&*txn, teams, event, &volunteers).await?;
    let verdicts = admission::admit(&members, seats);
    let mut entered = record(&*txn, batch, &verdicts).await?;
    if !entered.is_empty() {
        stats::mark_team_day(&txn, deps.timezone, event.team_id.0, event.starts_at);
        txn.changed(Change::Event(event.id));
    }
    txn.commit().await?;
    Ok(verdicts
        .into_iter()
        .zip(&volunteers)
        .map(|(verdict, volunteer)| {
            verdict.and_then(|_| {
                entered
                    .remove(volunteer)
                    .ok_or_else(|| Error::internal("an admitted sign-up was not recorded"))
            })
        })
        .collect())
}

/// What `admission` needs to know of each member (in arrival order), read for all at once.
async fn standings(
    conn: &impl ConnectionTrait,
    teams: &Teams,
    event: &Event,
    volunteers: &[VolunteerId],
) -> Result<Vec<(VolunteerId, Standing)>> {
    // Under the volunteers' locks, which `leave_team` takes too: a member leaving meanwhile
    // either cancels these sign-ups or is no longer a member here.
    let members = match event.visibility {
        Visibility::Team => Some(
            teams
                .active_members_among(conn, event.team_id, volunteers)
                .await?,
        ),
        _ => None,
    };
    let clashes = clashes(conn, volunteers, event).await?;
    Ok(volunteers
        .iter()
        .map(|volunteer| {
            let mine = || clashes.iter().filter(|(v, _)| v == volunteer);
            let standing = Standing {
                may_join: members.as_ref().is_none_or(|m| m.contains(volunteer)),
                signed_up: mine().any(|(_, e)| *e == event.id),
                busy: mine().any(|(_, e)| *e != event.id),
            };
            (*volunteer, standing)
        })
        .collect())
}

/// Records the admitted members' sign-ups (their seats taken in one update, their rows in one
/// insert) and tells each their place in the queue when they wait; by volunteer (each volunteer
/// is admitted at most once).
async fn record(
    conn: &impl ConnectionTrait,
    batch: &[Waiting],
    verdicts: &[Result<SignUpStatus>],
) -> Result<HashMap<VolunteerId, SignUp>> {
    let admitted: Vec<(&Waiting, SignUpStatus)> = batch
        .iter()
        .zip(verdicts)
        .filter_map(|(waiting, verdict)| verdict.as_ref().ok().map(|status| (waiting, *status)))
        .collect();
    let Some((first, _)) = admitted.first() else {
        return Ok(HashMap::new());
    };
    let event = &first.event;
    let confirmed = admitted
        .iter()
        .filter(|(_, status)| *status == SignUpStatus::Confirmed)
        .count();
    take_seats(conn, event.id, confirmed as i64).await?;
    let rows = admitted
        .iter()
        .map(|(waiting, status)| sign_ups::ActiveModel {
            event_id: Set(event.id.0),
            volunteer_id: Set(waiting.actor.volunteer.0),
            status: Set(*status),
            starts_at: Set(event.starts_at),
            ends_at: Set(event.ends_at),
            created_at: Set(waiting.now),
            updated_at: Set(waiting.now),
            ..Default::default()
        });
    let mut rows: Vec<SignUp> = sign_ups::Entity::insert_many(rows)
        .exec_with_returning(conn)
        .await?
        .into_iter()
        .map(SignUp::from)
        .collect();
    // Ids follow the insert's order, which is arrival order: the queue's order.
    rows.sort_unstable_by_key(|row| row.id.0);
    let head = rows
        .iter()
        .find(|row| row.status == SignUpStatus::Waitlisted)
        .map(|row| row.id);
    if let Some(head) = head {
        let mut place = queue_place(conn, event.id, head).await?;
        for row in &mut rows {
            if row.status == SignUpStatus::Waitlisted {
                row.waitlist_position = Some(place);
                place += 1;
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| (row.volunteer_id, row))
        .collect())
}
