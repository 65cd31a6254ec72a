//! Authorization decisions: pure functions of who asks and what is asked for, so each rule is
//! tested on its own and the API only calls them (`check_*` refuses, `can_*` answers).

use crate::actor::{Actor, Viewer};
use crate::areas::AreaTree;
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};

/// The signed-in actor, or `Unauthenticated`.
pub fn check_signed_in(viewer: &Viewer) -> Result<&Actor> {
    viewer.actor().ok_or(Error::Unauthenticated)
}

/// Private details (the unmasked phone number, roles) are shown to the volunteer themself only;
/// not even an admin sees another's phone in full.
pub fn can_see_private_details(viewer: &Viewer, owner: VolunteerId) -> bool {
    viewer.actor().is_some_and(|actor| actor.volunteer == owner)
}

/// Another volunteer's profile (name, area) is visible to any signed-in volunteer.
pub fn check_can_view_volunteer(viewer: &Viewer) -> Result<()> {
    check_signed_in(viewer).map(drop)
}

/// An admin's power ends at the border of their area: `area` must lie inside one they administer.
pub fn check_admin_of(actor: &Actor, tree: &AreaTree, area: AreaId) -> Result<()> {
    if actor
        .admin_areas
        .iter()
        .any(|scope| tree.is_within(area, *scope))
    {
        Ok(())
    } else {
        Err(Error::forbidden("only an admin of this area may do this"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::areas::{Area, AreaLevel};

    fn tree() -> AreaTree {
        let area = |id: i64, parent: Option<i64>| Area {
            id: AreaId(id),
            code: id.to_string(),
            name: String::new(),
            name_en: String::new(),
            level: AreaLevel::District,
            parent_id: parent.map(AreaId),
            lat: 0.0,
            lng: 0.0,
        };
        AreaTree::from_areas(vec![
            area(1, None),
            area(2, Some(1)),
            area(3, Some(1)),
            area(4, Some(2)),
        ])
    }

    fn actor(id: i64, admin_areas: &[i64]) -> Actor {
        Actor {
            volunteer: VolunteerId(id),
            admin_areas: admin_areas.iter().copied().map(AreaId).collect(),
        }
    }

    #[test]
    fn anonymous_callers_are_asked_to_sign_in() {
        assert!(matches!(
            check_signed_in(&Viewer::Anonymous),
            Err(Error::Unauthenticated)
        ));
        assert!(check_can_view_volunteer(&Viewer::Anonymous).is_err());
    }

    #[test]
    fn only_the_owner_sees_a_full_phone_number() {
        let me = Viewer::Volunteer(actor(1, &[]));
        let city_admin = Viewer::Volunteer(actor(9, &[1]));
        assert!(can_see_private_details(&me, VolunteerId(1)));
        assert!(!can_see_private_details(&me, VolunteerId(2)));
        assert!(!can_see_private_details(&city_admin, VolunteerId(1)));
        assert!(!can_see_private_details(&Viewer::Anonymous, VolunteerId(1)));
    }

    #[test]
    fn a_district_admin_acts_inside_their_district_only() {
        let tree = tree();
        let district_admin = actor(5, &[2]);
        assert!(check_admin_of(&district_admin, &tree, AreaId(2)).is_ok());
        assert!(check_admin_of(&district_admin, &tree, AreaId(4)).is_ok());
        assert!(matches!(
            check_admin_of(&district_admin, &tree, AreaId(3)),
            Err(Error::Forbidden(_))
        ));
        assert!(check_admin_of(&district_admin, &tree, AreaId(1)).is_err());
        assert!(check_admin_of(&actor(6, &[]), &tree, AreaId(4)).is_err());
        assert!(check_admin_of(&actor(7, &[1]), &tree, AreaId(3)).is_ok());
    }
}
