//! Events and patrol schedules.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use feihong_domain::events::{
    self, CreateEvent, EventFilter as DomainEventFilter, LocationInput as DomainLocation,
    SchedulePatrols, UpdateEvent, UpdateSchedule,
};
use feihong_domain::geo::Position;
use feihong_domain::ids::{AreaId, EventId, ScheduleId, TeamId};
use feihong_domain::policy;

use super::area::Area;
use super::context::ContextExt as _;
use super::enums::{EventKind, EventStatus, ScheduleStatus, Visibility, Weekday};
use super::error::GqlResult;
use super::ids::GlobalId as _;
use super::limits::cost;
use super::scalars::{Date, ListConnection, connection, page_request};
use super::signup::SignUp;
use super::team::Team;

/// Where an event happens; self check-in must be within `radiusM` of the point.
#[derive(SimpleObject)]
pub struct Location {
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub radius_m: i32,
}

impl From<&events::Location> for Location {
    fn from(location: &events::Location) -> Self {
        Self {
            address: location.address.clone(),
            lat: location.position.lat,
            lng: location.position.lng,
            radius_m: location.radius_m,
        }
    }
}

/// Something volunteers do at a place and time.
pub struct Event(pub events::Event);

#[Object]
impl Event {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    async fn team(&self, ctx: &Context<'_>) -> GqlResult<Option<Team>> {
        ctx.request().load(|l| &l.teams, self.0.team_id, Team).await
    }

    async fn area(&self, ctx: &Context<'_>) -> Option<Area> {
        ctx.services().areas.get(self.0.area_id).map(Area)
    }

    async fn kind(&self) -> EventKind {
        self.0.kind.into()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }

    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }

    async fn capacity(&self) -> i32 {
        self.0.capacity
    }

    async fn confirmed_count(&self) -> i32 {
        self.0.confirmed_count
    }

    async fn waitlist_count(&self, ctx: &Context<'_>) -> GqlResult<i64> {
        Ok(ctx
            .request()
            .find(|l| &l.waitlist_counts, self.0.id)
            .await?
            .unwrap_or(0))
    }

    async fn seats_left(&self) -> i32 {
        (self.0.capacity - self.0.confirmed_count).max(0)
    }

    async fn location(&self) -> Location {
        Location::from(&self.0.location)
    }

    async fn visibility(&self) -> Visibility {
        self.0.visibility.into()
    }

    async fn status(&self) -> EventStatus {
        self.0.status.into()
    }

    /// After this, sign-up is closed (it always closes at the start).
    async fn sign_up_closes_at(&self) -> Option<DateTime<Utc>> {
        self.0.sign_up_closes_at
    }

    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }

    /// The patrol schedule that generated this event, if any (and if the caller may see it: a
    /// TEAM schedule is for those who see the team's TEAM events).
    async fn schedule(&self, ctx: &Context<'_>) -> GqlResult<Option<PatrolSchedule>> {
        let Some(id) = self.0.schedule_id else {
            return Ok(None);
        };
        let Some(schedule) = ctx.request().find(|l| &l.schedules, id).await? else {
            return Ok(None);
        };
        if policy::schedule_shown_with_event(self.0.visibility, schedule.visibility) {
            return Ok(Some(PatrolSchedule(schedule)));
        }
        let viewer = ctx.request().viewer().await?;
        Ok(ctx
            .services()
            .events
            .schedule(viewer, id)
            .await?
            .map(PatrolSchedule))
    }

    /// The caller's own sign-up (the active one, else the latest), or null.
    async fn viewer_sign_up(&self, ctx: &Context<'_>) -> GqlResult<Option<SignUp>> {
        let Some(actor) = ctx.request().viewer().await?.actor() else {
            return Ok(None);
        };
        ctx.request()
            .load(|l| &l.viewer_sign_ups, (actor.volunteer, self.0.id), SignUp)
            .await
    }

    /// Everyone signed up, in sign-up order: for the team's leaders and deputies.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn roster(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<SignUp>> {
        let actor = ctx.request().actor().await?;
        let page = ctx
            .services()
            .sign_ups
            .roster(actor, self.0.id, page_request(first, after)?)
            .await?;
        Ok(connection(page, SignUp))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A recurring patrol plan that generates PATROL events.
pub struct PatrolSchedule(pub events::PatrolSchedule);

#[Object]
impl PatrolSchedule {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    async fn team(&self, ctx: &Context<'_>) -> GqlResult<Option<Team>> {
        ctx.request().load(|l| &l.teams, self.0.team_id, Team).await
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn weekdays(&self) -> Vec<Weekday> {
        self.0.weekdays.iter().copied().map(Into::into).collect()
    }

    /// Local start time (`HH:MM`) in the city's time zone.
    async fn start_time(&self) -> &str {
        &self.0.start_time
    }

    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }

    async fn from(&self) -> Date {
        Date(self.0.from)
    }

    async fn until(&self) -> Date {
        Date(self.0.until)
    }

    async fn capacity(&self) -> i32 {
        self.0.capacity
    }

    async fn location(&self) -> Location {
        Location::from(&self.0.location)
    }

    async fn status(&self) -> ScheduleStatus {
        self.0.status.into()
    }

    /// TEAM: for the team's members, those who run it and area admins, like its events.
    async fn visibility(&self) -> Visibility {
        self.0.visibility.into()
    }
}

#[derive(InputObject)]
pub struct LocationInput {
    /// 1–200 characters.
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    /// Self check-in radius, 10–5000 m.
    #[graphql(default = 200)]
    pub radius_m: i32,
}

impl From<LocationInput> for DomainLocation {
    fn from(input: LocationInput) -> Self {
        Self {
            address: input.address,
            lat: input.lat,
            lng: input.lng,
            radius_m: Some(input.radius_m),
        }
    }
}

#[derive(InputObject)]
pub struct CreateEventInput {
    pub team_id: ID,
    pub kind: EventKind,
    /// 1–120 characters.
    pub title: String,
    /// Up to 5000 characters.
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// 1–100000 seats.
    pub capacity: i32,
    pub location: LocationInput,
    #[graphql(default_with = "Visibility::Public")]
    pub visibility: Visibility,
    pub sign_up_closes_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct UpdateEventInput {
    pub kind: Option<EventKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Raising it promotes from the waitlist; it cannot drop below the confirmed sign-ups.
    pub capacity: Option<i32>,
    pub location: Option<LocationInput>,
    pub visibility: Option<Visibility>,
    pub sign_up_closes_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct SchedulePatrolsInput {
    pub team_id: ID,
    pub title: String,
    pub weekdays: Vec<Weekday>,
    /// Local `HH:MM` in the city's time zone, e.g. `19:30`.
    pub start_time: String,
    /// 15–720 minutes.
    pub duration_minutes: i32,
    pub from: Date,
    /// At most one year after `from`.
    pub until: Date,
    pub capacity: i32,
    pub location: LocationInput,
    #[graphql(default_with = "Visibility::Team")]
    pub visibility: Visibility,
}

#[derive(InputObject)]
pub struct UpdatePatrolScheduleInput {
    pub title: Option<String>,
    pub capacity: Option<i32>,
    pub location: Option<LocationInput>,
}

#[derive(InputObject)]
pub struct NearInput {
    pub lat: f64,
    pub lng: f64,
    /// Up to 50000 m.
    pub radius_m: i32,
}

#[derive(InputObject, Default)]
pub struct EventFilter {
    pub team_id: Option<ID>,
    /// The area and everything below it.
    pub area_id: Option<ID>,
    pub kind: Option<EventKind>,
    pub status: Option<EventStatus>,
    pub starts_after: Option<DateTime<Utc>>,
    pub starts_before: Option<DateTime<Utc>>,
    /// Only events within the circle, nearest first.
    pub near: Option<NearInput>,
    /// Text the title, description or address contains (Chinese or Latin, any case): 1–50
    /// characters.
    pub search: Option<String>,
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// Events the caller may see, soonest first (or nearest first with `near`). Without a date
    /// filter (and unless asking for COMPLETED events) only events that have not ended yet.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Event>> {
        let filter = filter.unwrap_or_default();
        let near = match filter.near {
            Some(near) => Some((
                Position::parse(near.lat, near.lng, "filter.near")?,
                near.radius_m,
            )),
            None => None,
        };
        let domain = DomainEventFilter {
            team_id: filter
                .team_id
                .map(|id| TeamId::parse(&id, "filter.teamId"))
                .transpose()?,
            area_id: filter
                .area_id
                .map(|id| AreaId::parse(&id, "filter.areaId"))
                .transpose()?,
            kind: filter.kind.map(Into::into),
            status: filter.status.map(Into::into),
            starts_after: filter.starts_after,
            starts_before: filter.starts_before,
            near,
            search: filter.search,
        };
        let viewer = ctx.request().viewer().await?;
        let page = page_request(first, after)?;
        let services = ctx.services();
        let domain = domain
            .check(&services.areas)
            .map_err(|e| e.in_argument("filter"))?;
        let page = services.events.events(viewer, domain, page).await?;
        Ok(connection(page, Event))
    }

    async fn event(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Event>> {
        let id = EventId::parse(&id, "id")?;
        let viewer = ctx.request().viewer().await?;
        Ok(ctx.services().events.event(viewer, id).await?.map(Event))
    }
}

#[derive(Default)]
pub struct EventMutation;

#[Object]
impl EventMutation {
    /// A DRAFT event; leaders and deputies of the team only.
    async fn create_event(&self, ctx: &Context<'_>, input: CreateEventInput) -> GqlResult<Event> {
        let actor = ctx.request().actor().await?;
        let create = CreateEvent {
            team_id: TeamId::parse(&input.team_id, "input.teamId")?,
            kind: input.kind.into(),
            title: input.title,
            description: input.description,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            capacity: input.capacity,
            location: input.location.into(),
            visibility: input.visibility.into(),
            sign_up_closes_at: input.sign_up_closes_at,
        };
        Ok(Event(
            ctx.services()
                .events
                .create_event(actor, create)
                .await
                .map_err(|e| e.in_argument("input"))?,
        ))
    }

    async fn update_event(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        input: UpdateEventInput,
    ) -> GqlResult<Event> {
        let actor = ctx.request().actor().await?;
        let update = UpdateEvent {
            kind: input.kind.map(Into::into),
            title: input.title,
            description: input.description,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            capacity: input.capacity,
            location: input.location.map(Into::into),
            visibility: input.visibility.map(Into::into),
            sign_up_closes_at: input.sign_up_closes_at,
        };
        Ok(Event(
            ctx.services()
                .events
                .update_event(actor, EventId::parse(&event_id, "eventId")?, update)
                .await
                .map_err(|e| e.in_argument("input"))?,
        ))
    }

    async fn publish_event(&self, ctx: &Context<'_>, event_id: ID) -> GqlResult<Event> {
        let actor = ctx.request().actor().await?;
        Ok(Event(
            ctx.services()
                .events
                .publish_event(actor, EventId::parse(&event_id, "eventId")?)
                .await?,
        ))
    }

    /// Cancels the event and every active sign-up; the volunteers are told why.
    async fn cancel_event(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        reason: String,
    ) -> GqlResult<Event> {
        let actor = ctx.request().actor().await?;
        Ok(Event(
            ctx.services()
                .events
                .cancel_event(actor, EventId::parse(&event_id, "eventId")?, &reason)
                .await?,
        ))
    }

    /// Generates published PATROL events for every chosen weekday in the date range.
    async fn schedule_patrols(
        &self,
        ctx: &Context<'_>,
        input: SchedulePatrolsInput,
    ) -> GqlResult<PatrolSchedule> {
        let actor = ctx.request().actor().await?;
        let schedule = SchedulePatrols {
            team_id: TeamId::parse(&input.team_id, "input.teamId")?,
            title: input.title,
            weekdays: input.weekdays.into_iter().map(Into::into).collect(),
            start_time: input.start_time,
            duration_minutes: input.duration_minutes,
            from: input.from.0,
            until: input.until.0,
            capacity: input.capacity,
            location: input.location.into(),
            visibility: input.visibility.into(),
        };
        let (schedule, _events_created) = ctx
            .services()
            .events
            .schedule_patrols(actor, schedule)
            .await
            .map_err(|e| e.in_argument("input"))?;
        Ok(PatrolSchedule(schedule))
    }

    /// Changes title, capacity or place of the schedule and of its occurrences not yet started.
    /// To change days or times, cancel the schedule and create another.
    async fn update_patrol_schedule(
        &self,
        ctx: &Context<'_>,
        schedule_id: ID,
        input: UpdatePatrolScheduleInput,
    ) -> GqlResult<PatrolSchedule> {
        let actor = ctx.request().actor().await?;
        let id = ScheduleId::parse(&schedule_id, "scheduleId")?;
        let update = UpdateSchedule {
            title: input.title,
            capacity: input.capacity,
            location: input.location.map(Into::into),
        };
        Ok(PatrolSchedule(
            ctx.services()
                .events
                .update_schedule(actor, id, update)
                .await
                .map_err(|e| e.in_argument("input"))?,
        ))
    }

    /// Stops a schedule: occurrences not yet started are cancelled; past ones stay.
    async fn cancel_patrol_schedule(
        &self,
        ctx: &Context<'_>,
        schedule_id: ID,
        reason: String,
    ) -> GqlResult<PatrolSchedule> {
        let actor = ctx.request().actor().await?;
        let id = ScheduleId::parse(&schedule_id, "scheduleId")?;
        Ok(PatrolSchedule(
            ctx.services()
                .events
                .cancel_schedule(actor, id, &reason)
                .await?,
        ))
    }
}
