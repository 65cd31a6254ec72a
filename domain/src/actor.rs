//! Who is asking: the one input every authorization decision takes.

use crate::ids::{AreaId, VolunteerId};

/// The caller of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    Volunteer(Actor),
}

/// A signed-in volunteer, with the areas they administer (empty for most).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub volunteer: VolunteerId,
    pub admin_areas: Vec<AreaId>,
}

impl Viewer {
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Self::Anonymous => None,
            Self::Volunteer(actor) => Some(actor),
        }
    }
}
