//! Quick response's subscriptions: `incidentAlerts` (a volunteer on duty hears of incidents near
//! them) and `incidentUpdates` (a dispatcher follows an incident). Both hear changes from every
//! node through the bus, and read what they send fresh, with the subscriber's permissions.

use std::sync::Arc;

use async_graphql::{Context, Error, ID, Subscription};
use feihong_domain::bus::Change;
use feihong_domain::ids::IncidentId;
use feihong_domain::incidents::{Incident as DomainIncident, Seen};
use feihong_domain::{Error as DomainError, Services};
use futures::{Stream, StreamExt as _};

use super::changes::changes;
use super::context::ContextExt as _;
use super::error::{GqlError, GqlResult};
use super::ids::GlobalId as _;
use super::incident_types::{Incident, IncidentAlert};

#[derive(Default)]
pub struct IncidentSubscription;

#[Subscription]
impl IncidentSubscription {
    /// Incidents the caller is alerted to, as they are alerted (also pushed, and listed by
    /// `myIncidentAlerts`): the incident, its distance and ring; never who else was alerted.
    async fn incident_alerts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = GqlResult<IncidentAlert>>> {
        // Listening starts first, before anything is awaited.
        let services: Arc<Services> = ctx.services().clone();
        let changes = changes(&services, ctx.request().token_expiry());
        let volunteer = ctx.request().actor().await.map_err(Error::from)?.volunteer;
        Ok(changes.filter_map(move |change| {
            let services = services.clone();
            async move {
                let Change::IncidentAlerted {
                    incident,
                    volunteers,
                } = change
                else {
                    return None;
                };
                volunteers.binary_search(&volunteer).ok()?;
                services
                    .incidents
                    .alert_for(incident, volunteer)
                    .await
                    .map_err(GqlError::from)
                    .transpose()
                    .map(|alert| alert.map(IncidentAlert))
            }
        }))
    }

    /// The incident as it is now, then again at each alert, answer, arrival, responder's
    /// position and its close: for its dispatchers (whoever raised it, admins of its area);
    /// `NOT_FOUND` for others. Ends once it is closed.
    async fn incident_updates(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = GqlResult<Incident>>> {
        let services: Arc<Services> = ctx.services().clone();
        let changes = changes(&services, ctx.request().token_expiry());
        let id = IncidentId::parse(&incident_id, "incidentId").map_err(Error::from)?;
        let actor = ctx.request().actor().await.map_err(Error::from)?.clone();
        as_dispatcher(
            services
                .incidents
                .seen_by(&actor, id)
                .await
                .map_err(GqlError::from)?,
        )
        .ok_or_else(|| Error::from(GqlError::from(DomainError::NotFound("incident"))))?;
        let changed = changes
            .filter(move |change| std::future::ready(*change == Change::Incident(id)))
            .map(drop);
        let updates = futures::stream::once(std::future::ready(()))
            .chain(changed)
            .then(move |()| {
                let (services, actor) = (services.clone(), actor.clone());
                async move { services.incidents.seen_by(&actor, id).await }
            })
            .flat_map(|seen| {
                // The update that shows the close (or that the caller may no longer see it) is
                // the last: an end marker follows it at once.
                let (item, last) = match as_dispatcher(seen.unwrap_or_default()) {
                    Some((inner, seen)) => {
                        let closed = inner.status == feihong_domain::kinds::IncidentStatus::Closed;
                        (Ok(Incident::new(inner, seen)), closed)
                    }
                    None => (Err(GqlError::from(DomainError::NotFound("incident"))), true),
                };
                futures::stream::iter(std::iter::once(Some(item)).chain(last.then_some(None)))
            })
            .take_while(|item| std::future::ready(item.is_some()))
            .filter_map(std::future::ready);
        Ok(updates)
    }
}

/// What a dispatcher sees, or nothing for anyone else.
fn as_dispatcher(seen: Option<(DomainIncident, Seen)>) -> Option<(DomainIncident, Seen)> {
    seen.filter(|(_, seen)| *seen == Seen::Dispatcher)
}
