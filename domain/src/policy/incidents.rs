//! Who raises, dispatches and answers incidents (issue 13).

use super::is_admin_of;
use crate::actor::Actor;
use crate::areas::AreaTree;
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};

/// The area an incident is raised in, and whether the actor may raise it there: an admin of the
/// area, or a leader or deputy of a team whose area contains it. Without an area given, the
/// area of the first team the actor runs, else the first area they administer. `led` are the
/// areas of the teams the actor leads or deputises.
pub fn check_raises_incident(
    actor: &Actor,
    tree: &AreaTree,
    led: &[AreaId],
    area: Option<AreaId>,
) -> Result<AreaId> {
    let area = match area {
        Some(area) => area,
        None => led
            .first()
            .or(actor.admin_areas.first())
            .copied()
            .ok_or_else(|| Error::forbidden("only-admins-and-leaders-raise-incidents"))?,
    };
    if tree.get(area).is_none() {
        return Err(Error::NotFound("area"));
    }
    let leads_there = led.iter().any(|team_area| tree.is_within(area, *team_area));
    if leads_there || is_admin_of(actor, tree, area) {
        Ok(area)
    } else {
        Err(Error::forbidden("only-admins-and-leaders-raise-incidents"))
    }
}

/// Follows and closes an incident, and sees its responders (their positions included, for
/// those who accepted): whoever raised it, and the admins of its area.
pub fn can_dispatch(
    actor: &Actor,
    tree: &AreaTree,
    area: AreaId,
    raised_by: Option<VolunteerId>,
) -> bool {
    raised_by == Some(actor.volunteer) || is_admin_of(actor, tree, area)
}

pub fn check_dispatches(
    actor: &Actor,
    tree: &AreaTree,
    area: AreaId,
    raised_by: Option<VolunteerId>,
) -> Result<()> {
    if can_dispatch(actor, tree, area, raised_by) {
        Ok(())
    } else {
        // Not told whether it exists: an incident is not public.
        Err(Error::NotFound("incident"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// City 1, districts 2 and 3, town 4 in district 2.
    fn tree() -> AreaTree {
        crate::areas::test_tree()
    }

    fn actor(id: i64, admin_areas: &[i64]) -> Actor {
        Actor {
            volunteer: VolunteerId(id),
            admin_areas: admin_areas.iter().copied().map(AreaId).collect(),
        }
    }

    #[test]
    fn admins_raise_in_their_areas_and_leaders_where_their_team_is() {
        let tree = tree();
        let admin = actor(1, &[2]);
        assert_eq!(
            check_raises_incident(&admin, &tree, &[], Some(AreaId(4))).unwrap(),
            AreaId(4)
        );
        assert!(check_raises_incident(&admin, &tree, &[], Some(AreaId(3))).is_err());
        assert_eq!(
            check_raises_incident(&admin, &tree, &[], None).unwrap(),
            AreaId(2)
        );
        let leader = actor(2, &[]);
        assert_eq!(
            check_raises_incident(&leader, &tree, &[AreaId(2)], None).unwrap(),
            AreaId(2)
        );
        assert!(check_raises_incident(&leader, &tree, &[AreaId(2)], Some(AreaId(4))).is_ok());
        assert!(check_raises_incident(&leader, &tree, &[AreaId(4)], Some(AreaId(2))).is_err());
        let volunteer = actor(3, &[]);
        assert!(check_raises_incident(&volunteer, &tree, &[], None).is_err());
        assert!(check_raises_incident(&volunteer, &tree, &[], Some(AreaId(4))).is_err());
    }

    #[test]
    fn the_raiser_and_the_area_admins_dispatch_and_nobody_else() {
        let tree = tree();
        assert!(can_dispatch(
            &actor(5, &[]),
            &tree,
            AreaId(4),
            Some(VolunteerId(5))
        ));
        assert!(can_dispatch(
            &actor(6, &[1]),
            &tree,
            AreaId(4),
            Some(VolunteerId(5))
        ));
        assert!(!can_dispatch(
            &actor(7, &[3]),
            &tree,
            AreaId(4),
            Some(VolunteerId(5))
        ));
        assert!(!can_dispatch(&actor(8, &[]), &tree, AreaId(4), None));
    }
}
