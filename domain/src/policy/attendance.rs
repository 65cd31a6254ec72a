//! Who corrects attendance after the fact (`markAttendance`, `addWalkIn`).

use super::TeamScope;
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::kinds::MemberRole;

/// Records a member's attendance after the fact: a leader or deputy of the event's team (they
/// were there; an area admin was not), never for their own attendance, which another leader or
/// deputy records (the hours it credits are theirs).
pub fn check_corrects_attendance(
    actor: &Actor,
    team: TeamScope,
    volunteer: VolunteerId,
) -> Result<()> {
    if !team.actor_role.is_some_and(MemberRole::manages) {
        return Err(Error::forbidden("only-leader-or-deputy-of-team"));
    }
    if actor.volunteer == volunteer {
        return Err(Error::forbidden("another-leader-or-deputy-records-your"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AreaId;

    fn actor(id: i64, admin_areas: &[i64]) -> Actor {
        Actor {
            volunteer: VolunteerId(id),
            admin_areas: admin_areas.iter().copied().map(AreaId).collect(),
        }
    }

    fn scope(role: Option<MemberRole>) -> TeamScope {
        TeamScope {
            area: AreaId(4),
            actor_role: role,
        }
    }

    #[test]
    fn leaders_and_deputies_correct_others_attendance_and_nobody_else() {
        let member = VolunteerId(7);
        for role in [MemberRole::Leader, MemberRole::Deputy] {
            assert!(check_corrects_attendance(&actor(1, &[]), scope(Some(role)), member).is_ok());
            assert!(
                check_corrects_attendance(&actor(7, &[]), scope(Some(role)), member).is_err(),
                "not their own"
            );
        }
        let plain = scope(Some(MemberRole::Member));
        assert!(check_corrects_attendance(&actor(1, &[]), plain, member).is_err());
        // An admin of the area, not in the team, was not there.
        assert!(check_corrects_attendance(&actor(9, &[4]), scope(None), member).is_err());
    }
}
