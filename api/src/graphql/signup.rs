//! Sign-ups (with waitlists) and attendance.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use feihong_domain::attendance::{CheckInput, Correction, WalkIn};
use feihong_domain::geo::Position;
use feihong_domain::ids::{EventId, SignUpId, VolunteerId};
use feihong_domain::policy::Relation;
use feihong_domain::signups;

use super::attendance::Attendance;
use super::context::{ContextExt as _, idempotent};
use super::enums::{SignUpStatus, SignUpWhen};
use super::error::GqlResult;
use super::event::Event;
use super::ids::GlobalId as _;
use super::limits::cost;
use super::scalars::{ListConnection, connection, page_request};
use super::volunteer::Volunteer;

/// A volunteer's place (or place in the queue) at an event.
pub struct SignUp(pub signups::SignUp);

#[Object]
impl SignUp {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    async fn event(&self, ctx: &Context<'_>) -> GqlResult<Option<Event>> {
        ctx.request()
            .load(|l| &l.events, self.0.event_id, Event)
            .await
    }

    /// Sign-ups are read by their volunteer and by those who run the event's team.
    async fn volunteer(&self, ctx: &Context<'_>) -> GqlResult<Option<Volunteer>> {
        ctx.request()
            .load(
                |l| &l.volunteers,
                self.0.volunteer_id,
                |v| Volunteer::seen_as(v, Relation::Supervisor),
            )
            .await
    }

    async fn status(&self) -> SignUpStatus {
        self.0.status.into()
    }

    /// The current place in the waitlist (1 = promoted next); null unless WAITLISTED. In the
    /// answer to `signUp`, the place as the sign-up committed (exact under any concurrency).
    async fn waitlist_position(&self, ctx: &Context<'_>) -> GqlResult<Option<i64>> {
        if self.0.status != feihong_domain::kinds::SignUpStatus::Waitlisted {
            return Ok(None);
        }
        if let Some(position) = self.0.waitlist_position {
            return Ok(Some(position));
        }
        Ok(ctx
            .request()
            .find(|l| &l.waitlist_positions, self.0.id)
            .await?)
    }

    async fn attendance(&self, ctx: &Context<'_>) -> GqlResult<Option<Attendance>> {
        ctx.request()
            .load(|l| &l.attendance, self.0.id, Attendance)
            .await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct PositionInput {
    pub lat: f64,
    pub lng: f64,
    /// The phone's reported accuracy, metres.
    pub accuracy_m: Option<f64>,
}

fn check_input(
    sign_up: &ID,
    position: Option<PositionInput>,
    at: Option<DateTime<Utc>>,
) -> GqlResult<CheckInput> {
    let position = position
        .map(|p| Position::parse_fix(p.lat, p.lng, p.accuracy_m, "position"))
        .transpose()?;
    Ok(CheckInput {
        sign_up_id: SignUpId::parse(sign_up, "signUpId")?,
        position,
        at,
    })
}

#[derive(Clone, Copy)]
enum Moment {
    CheckIn,
    CheckOut,
}

/// Checks in or out, once per idempotency key.
async fn record_attendance(
    ctx: &Context<'_>,
    moment: Moment,
    input: CheckInput,
    idempotency_key: Option<String>,
) -> GqlResult<Attendance> {
    let operation = match moment {
        Moment::CheckIn => "checkIn",
        Moment::CheckOut => "checkOut",
    };
    let key = idempotency_key.as_deref();
    let work = input.clone();
    idempotent(ctx, key, operation, &input, |services, actor| async move {
        match moment {
            Moment::CheckIn => services.attendance.check_in(actor, work).await,
            Moment::CheckOut => services.attendance.check_out(actor, work).await,
        }
    })
    .await
    .map(Attendance)
}

#[derive(Default)]
pub struct SignUpQuery;

#[Object]
impl SignUpQuery {
    /// The caller's sign-ups: upcoming soonest first, past latest first.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn my_sign_ups(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "SignUpWhen::Upcoming")] when: SignUpWhen,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<SignUp>> {
        let actor = ctx.request().actor().await?;
        let page = ctx
            .services()
            .sign_ups
            .my_sign_ups(actor, when.into(), page_request(first, after)?)
            .await?;
        Ok(connection(page, SignUp))
    }
}

#[derive(Default)]
pub struct SignUpMutation;

#[Object]
impl SignUpMutation {
    /// CONFIRMED while seats remain, else WAITLISTED with a place in the queue. Retrying with the
    /// same `idempotencyKey` returns the first answer.
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        idempotency_key: Option<String>,
    ) -> GqlResult<SignUp> {
        let event = EventId::parse(&event_id, "eventId")?;
        let key = idempotency_key.as_deref();
        idempotent(ctx, key, "signUp", &event, |services, actor| {
            services.sign_ups.sign_up(actor, event)
        })
        .await
        .map(SignUp)
    }

    /// Frees the seat (the head of the waitlist takes it at once) or leaves the queue.
    async fn cancel_sign_up(
        &self,
        ctx: &Context<'_>,
        sign_up_id: ID,
        idempotency_key: Option<String>,
    ) -> GqlResult<SignUp> {
        let id = SignUpId::parse(&sign_up_id, "signUpId")?;
        let key = idempotency_key.as_deref();
        idempotent(ctx, key, "cancelSignUp", &id, |services, actor| {
            services.sign_ups.cancel_sign_up(actor, id)
        })
        .await
        .map(SignUp)
    }

    /// By the volunteer with the phone's position (within the event's radius, from 30 minutes
    /// before the start to the end), or by a leader without one. `at` reports an offline
    /// check-in; it is validated like a live one and never in the future. One reaching the
    /// server more than ten minutes after `at` is marked `offline` (`checkedInBy: SELF_OFFLINE`
    /// for the volunteer's own) and accepted until 24 hours after the event's end.
    async fn check_in(
        &self,
        ctx: &Context<'_>,
        sign_up_id: ID,
        position: Option<PositionInput>,
        at: Option<DateTime<Utc>>,
        idempotency_key: Option<String>,
    ) -> GqlResult<Attendance> {
        let input = check_input(&sign_up_id, position, at)?;
        record_attendance(ctx, Moment::CheckIn, input, idempotency_key).await
    }

    /// Only after checking in; creates a PENDING service record of the attended part of the event.
    /// By the volunteer with the phone's position, within the event's radius as for checking in;
    /// by a leader without one. A report reaching the server more than ten minutes after its
    /// time (`at`) is offline: accepted until 24 hours after the event's end, and the record of
    /// a volunteer's offline report waits for review with the reason (`reviewReason`).
    async fn check_out(
        &self,
        ctx: &Context<'_>,
        sign_up_id: ID,
        position: Option<PositionInput>,
        at: Option<DateTime<Utc>>,
        idempotency_key: Option<String>,
    ) -> GqlResult<Attendance> {
        let input = check_input(&sign_up_id, position, at)?;
        record_attendance(ctx, Moment::CheckOut, input, idempotency_key).await
    }

    /// A leader or deputy of the event's team records a member's attendance after the fact,
    /// within 7 days after the event's end: the sign-up counts as attended (a NO_SHOW too), with
    /// the PENDING record a check-out creates, recorded as by the leader and audited. A check-in
    /// nobody checked out of is completed. `checkInAt` from 30 minutes before the start until
    /// the end, `checkOutAt` after it and within two hours after the end; `reason` up to 500
    /// characters (the record's note). Not for one's own attendance.
    async fn mark_attendance(
        &self,
        ctx: &Context<'_>,
        sign_up_id: ID,
        check_in_at: DateTime<Utc>,
        check_out_at: DateTime<Utc>,
        reason: String,
    ) -> GqlResult<SignUp> {
        let input = Correction {
            sign_up_id: SignUpId::parse(&sign_up_id, "signUpId")?,
            check_in_at,
            check_out_at,
            reason,
        };
        let actor = ctx.request().actor().await?;
        let sign_up = ctx
            .services()
            .attendance
            .mark_attendance(actor, input)
            .await?;
        Ok(SignUp(sign_up))
    }

    /// A leader or deputy of the event's team records an active member who came without
    /// signing up: a CONFIRMED sign-up with its attendance and PENDING record, as
    /// `markAttendance` (same limits). Someone already signed up is refused: mark their
    /// attendance instead.
    async fn add_walk_in(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        volunteer_id: ID,
        check_in_at: DateTime<Utc>,
        check_out_at: DateTime<Utc>,
        reason: String,
    ) -> GqlResult<SignUp> {
        let input = WalkIn {
            event_id: EventId::parse(&event_id, "eventId")?,
            volunteer_id: VolunteerId::parse(&volunteer_id, "volunteerId")?,
            check_in_at,
            check_out_at,
            reason,
        };
        let actor = ctx.request().actor().await?;
        let sign_up = ctx.services().attendance.add_walk_in(actor, input).await?;
        Ok(SignUp(sign_up))
    }
}
