//! Subscriptions, served over WebSocket at `/graphql/ws` (graphql-transport-ws or graphql-ws;
//! the access token goes in the `connection_init` payload). Each update is read fresh from the
//! database when it arrives, with the subscriber's permissions. Updates reach whoever is
//! connected at the time; `myNotifications` holds everything a volunteer was told, for catching
//! up after a reconnect. A subscription ends when the access token it was opened with expires:
//! the app reconnects with a fresh one.

use std::sync::Arc;

use async_graphql::{Context, Error, ID, MergedSubscription, Object, Subscription};
use chrono::{DateTime, Utc};
use feihong_domain::bus::Change;
use feihong_domain::ids::{EventId, VolunteerId};
use feihong_domain::notifications::{self, Notification};
use feihong_domain::{Error as DomainError, Services};
use futures::{Stream, StreamExt as _};

use super::changes::changes;
use super::context::ContextExt as _;
use super::enums::NotificationKind;
use super::error::{GqlError, GqlResult};
use super::event::Event;
use super::ids::GlobalId as _;
use super::incident_subscription::IncidentSubscription;
use super::signup::SignUp;
use crate::locale::current_locale;

/// Something that happened to one of the caller's sign-ups.
pub struct SignUpUpdate(Notification);

#[Object]
impl SignUpUpdate {
    /// PROMOTED from the waitlist, SIGN_UP_CANCELLED by the team, EVENT_CHANGED (time or place),
    /// EVENT_CANCELLED, or MESSAGE from a team's leaders (no sign-up or event then).
    async fn kind(&self) -> NotificationKind {
        self.0.kind.into()
    }

    /// What the volunteer is told, in the connection's language (`locale` in the
    /// `connection_init` payload, else the upgrade request's `Accept-Language`).
    async fn message(&self) -> String {
        self.0.message_in(current_locale())
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The sign-up as it is now.
    async fn sign_up(&self, ctx: &Context<'_>) -> GqlResult<Option<SignUp>> {
        let Some(id) = self.0.sign_up_id else {
            return Ok(None);
        };
        Ok(ctx.services().sign_ups.sign_up_by_id(id).await?.map(SignUp))
    }

    /// The event as it is now.
    async fn event(&self, ctx: &Context<'_>) -> GqlResult<Option<Event>> {
        let Some(id) = self.0.event_id else {
            return Ok(None);
        };
        let viewer = ctx.request().viewer().await?;
        Ok(ctx.services().events.event(viewer, id).await?.map(Event))
    }
}

/// Every subscription: the caller's sign-ups and events here, quick response's alerts and
/// updates in `incident_subscription.rs`.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(SignUpSubscription, IncidentSubscription);

#[derive(Default)]
pub struct SignUpSubscription;

#[Subscription]
impl SignUpSubscription {
    /// The caller's sign-ups as they change: promoted from the waitlist, cancelled by the team or
    /// with their event, the event's time or place changed; and messages from the leaders of the
    /// caller's teams (`messageTeam`). Subscriptions run over WebSocket at
    /// `/graphql/ws` (token in the `connection_init` payload) and end when that token expires.
    /// Updates reach apps connected at the time; `myNotifications` holds every one of them.
    async fn my_sign_up_updates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = GqlResult<SignUpUpdate>>> {
        // Listening starts first, before anything is awaited.
        let services: Arc<Services> = ctx.services().clone();
        let changes = changes(&services, ctx.request().token_expiry());
        let volunteer: VolunteerId = ctx.request().actor().await.map_err(Error::from)?.volunteer;
        Ok(changes.filter_map(move |change| {
            let services = services.clone();
            async move {
                let id = match change {
                    Change::Notified { volunteer: to, id } if to == volunteer => id,
                    Change::Told(recipients) => recipients.notification_for(volunteer)?,
                    _ => return None,
                };
                notifications::one_for_volunteer(&services.db, volunteer, id)
                    .await
                    .map_err(GqlError::from)
                    .transpose()
                    .map(|told| told.map(SignUpUpdate))
            }
        }))
    }

    /// The event as it is now, then again each time its seats, status, time or place change.
    /// Only for events the caller may see (`NOT_FOUND` otherwise); the stream ends if the caller
    /// can no longer see it.
    async fn event_updates(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = GqlResult<Event>>> {
        // Listening starts first, before anything is awaited, so no change falls between it and
        // the first read.
        let services: Arc<Services> = ctx.services().clone();
        let changes = changes(&services, ctx.request().token_expiry());
        let id = EventId::parse(&event_id, "eventId").map_err(Error::from)?;
        let viewer = ctx.request().viewer().await.map_err(Error::from)?.clone();
        services
            .events
            .event(&viewer, id)
            .await
            .map_err(|error| Error::from(GqlError::from(error)))?
            .ok_or_else(|| Error::from(GqlError::from(DomainError::NotFound("event"))))?;
        let changed = changes
            .filter(move |change| std::future::ready(*change == Change::Event(id)))
            .map(drop);
        let updates = futures::stream::once(std::future::ready(()))
            .chain(changed)
            .then(move |()| {
                let (services, viewer) = (services.clone(), viewer.clone());
                async move { services.events.event(&viewer, id).await }
            })
            .take_while(|seen| std::future::ready(!matches!(seen, Ok(None))))
            .map(|seen| match seen {
                Ok(event) => event
                    .map(Event)
                    .ok_or_else(|| GqlError::from(DomainError::NotFound("event"))),
                Err(error) => Err(GqlError::from(error)),
            });
        Ok(updates)
    }
}
