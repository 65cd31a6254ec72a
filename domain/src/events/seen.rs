//! What a viewer sees of the events, as conditions on the events table.

use sea_orm::{ColumnTrait, Condition};

use super::Events;
use crate::actor::Viewer;
use crate::entity::events;
use crate::error::Result;
use crate::kinds::{EventStatus, Visibility};

/// What a viewer sees of the events: those everybody sees (published or cancelled PUBLIC events),
/// their teams' events, drafts of teams they run, and everything in areas they administer.
pub(crate) struct Seen {
    member_of: Vec<i64>,
    runs: Vec<i64>,
    admin_areas: Vec<i64>,
}

impl Seen {
    /// The events everybody sees.
    pub(crate) fn public() -> Condition {
        Condition::all()
            .add(events::Column::Visibility.eq(Visibility::Public))
            .add(events::Column::Status.ne(EventStatus::Draft))
    }

    /// What the viewer sees besides: `None` when nothing.
    fn own(&self) -> Option<Condition> {
        let mut own = Condition::any();
        if !self.member_of.is_empty() {
            own = own.add(
                Condition::all()
                    .add(events::Column::TeamId.is_in(self.member_of.iter().copied()))
                    .add(events::Column::Status.ne(EventStatus::Draft)),
            );
        }
        if !self.runs.is_empty() {
            own = own.add(events::Column::TeamId.is_in(self.runs.iter().copied()));
        }
        if !self.admin_areas.is_empty() {
            own = own.add(events::Column::AreaId.is_in(self.admin_areas.iter().copied()));
        }
        (!own.is_empty()).then_some(own)
    }

    pub(super) fn condition(&self) -> Condition {
        let mut seen = Condition::any().add(Self::public());
        if let Some(own) = self.own() {
            seen = seen.add(own);
        }
        seen
    }

    /// The events the viewer sees that not everybody sees: `None` when there are none.
    pub(crate) fn beyond_public(&self) -> Option<Condition> {
        let not_public = Condition::any()
            .add(events::Column::Visibility.ne(Visibility::Public))
            .add(events::Column::Status.eq(EventStatus::Draft));
        self.own()
            .map(|own| Condition::all().add(not_public).add(own))
    }
}

impl Events {
    /// What the viewer sees (`Seen`).
    pub(super) async fn seen_by(&self, viewer: &Viewer) -> Result<Seen> {
        let mut seen = Seen {
            member_of: Vec::new(),
            runs: Vec::new(),
            admin_areas: Vec::new(),
        };
        let Some(actor) = viewer.actor() else {
            return Ok(seen);
        };
        let roles = self.teams.active_roles(actor.volunteer).await?;
        seen.member_of = roles.keys().map(|id| id.0).collect();
        seen.runs = roles
            .iter()
            .filter(|(_, role)| role.manages())
            .map(|(id, _)| id.0)
            .collect();
        seen.admin_areas = actor
            .admin_areas
            .iter()
            .flat_map(|area| self.deps.areas.subtree(*area))
            .map(|a| a.0)
            .collect();
        Ok(seen)
    }
}
