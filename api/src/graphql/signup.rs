//! Sign-ups (with waitlists) and attendance.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use feihong_domain::attendance::{self, CheckInput};
use feihong_domain::geo::Position;
use feihong_domain::ids::{EventId, SignUpId};
use feihong_domain::policy::Relation;
use feihong_domain::signups;

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

    /// The current place in the waitlist (1 = promoted next); null unless WAITLISTED.
    async fn waitlist_position(&self, ctx: &Context<'_>) -> GqlResult<Option<i64>> {
        if self.0.status != feihong_domain::kinds::SignUpStatus::Waitlisted {
            return Ok(None);
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

/// How an attendance moment was recorded.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RecordedBy {
    /// The volunteer, by the phone's position.
    SelfByGps,
    /// A leader or deputy, by hand.
    Leader,
}

#[derive(SimpleObject)]
pub struct GeoPosition {
    pub lat: f64,
    pub lng: f64,
}

/// Check-in and check-out of a sign-up.
pub struct Attendance(pub attendance::Attendance);

#[Object]
impl Attendance {
    async fn check_in_at(&self) -> DateTime<Utc> {
        self.0.check_in_at
    }

    async fn check_in_position(&self) -> Option<GeoPosition> {
        self.0.check_in_position.map(|p| GeoPosition {
            lat: p.lat,
            lng: p.lng,
        })
    }

    async fn checked_in_by(&self) -> RecordedBy {
        if self.0.checked_in_by == self.0.volunteer_id {
            RecordedBy::SelfByGps
        } else {
            RecordedBy::Leader
        }
    }

    async fn check_out_at(&self) -> Option<DateTime<Utc>> {
        self.0.check_out_at
    }

    async fn check_out_position(&self) -> Option<GeoPosition> {
        self.0.check_out_position.map(|p| GeoPosition {
            lat: p.lat,
            lng: p.lng,
        })
    }

    async fn checked_out_by(&self) -> Option<RecordedBy> {
        self.0.checked_out_by.map(|by| {
            if by == self.0.volunteer_id {
                RecordedBy::SelfByGps
            } else {
                RecordedBy::Leader
            }
        })
    }

    /// Closed by the server at the event's end because nobody checked out; its service record
    /// waits for review.
    async fn auto_closed(&self) -> bool {
        self.0.auto_closed
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
    /// check-in; it is validated like a live one and never in the future.
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
}
