//! Authorization decisions: pure functions of who asks and what is asked for, so each rule is
//! tested on its own and the API only calls them (`check_*` refuses, `can_*` answers).

mod attendance;
mod devices;
mod incidents;
mod members;
mod people;
mod real_names;

pub use attendance::check_corrects_attendance;
pub use devices::can_manage_device;
pub use incidents::{can_dispatch, check_dispatches, check_raises_incident};
pub use members::{PhoneShown, TeamReader, check_reads_members, member_phone};
pub use people::{
    CallerRoles, Relation, TeamTie, anonymous_on_leaderboards, member_list_reader, relation_to,
};
pub use real_names::{sees_real_name, sees_real_name_verified};

use crate::actor::{Actor, Viewer};
use crate::areas::AreaTree;
use crate::error::{Error, Result};
use crate::ids::{AreaId, VolunteerId};
use crate::kinds::{EventStatus, MemberRole, Visibility};

/// The signed-in actor, or `Unauthenticated`.
pub fn check_signed_in(viewer: &Viewer) -> Result<&Actor> {
    viewer.actor().ok_or(Error::Unauthenticated)
}

/// Private details (the unmasked phone number, roles) are shown to the volunteer themself only;
/// not even an admin sees another's phone in full.
pub fn can_see_private_details(viewer: &Viewer, owner: VolunteerId) -> bool {
    viewer.actor().is_some_and(|actor| actor.volunteer == owner)
}

/// An admin's power ends at the border of their area: `area` must lie inside one they administer.
pub fn check_admin_of(actor: &Actor, tree: &AreaTree, area: AreaId) -> Result<()> {
    if is_admin_of(actor, tree, area) {
        Ok(())
    } else {
        Err(Error::forbidden("only-admin-of-area-may-do"))
    }
}

/// Finds volunteers by phone or name (`volunteers(filter:)`): admins only, among volunteers homed
/// in their areas. The areas to look in: `area` when given (it must lie inside one they
/// administer), else all of theirs.
pub fn check_finds_volunteers(
    actor: &Actor,
    tree: &AreaTree,
    area: Option<AreaId>,
) -> Result<Vec<AreaId>> {
    match area {
        Some(area) => check_admin_of(actor, tree, area).map(|()| vec![area]),
        None if actor.admin_areas.is_empty() => {
            Err(Error::forbidden("only-admins-may-look-volunteers-up"))
        }
        None => Ok(actor.admin_areas.clone()),
    }
}

/// The facts about a team that its authorization rules depend on.
#[derive(Debug, Clone, Copy)]
pub struct TeamScope {
    pub area: AreaId,
    /// The actor's role when they are an ACTIVE member, else `None`.
    pub actor_role: Option<MemberRole>,
}

/// Sees every event in `area` (the whole city when `None`), whatever its visibility or status:
/// an admin of that area or of one above it.
pub fn sees_every_event_in(actor: &Actor, tree: &AreaTree, area: Option<AreaId>) -> bool {
    match area {
        Some(area) => is_admin_of(actor, tree, area),
        None => tree
            .children(None)
            .iter()
            .all(|root| is_admin_of(actor, tree, root.id)),
    }
}

fn is_admin_of(actor: &Actor, tree: &AreaTree, area: AreaId) -> bool {
    actor
        .admin_areas
        .iter()
        .any(|scope| tree.is_within(area, *scope))
}

/// Runs the team (events, schedules, join requests, attendance, hours): its leaders and deputies,
/// or an admin of its area.
pub fn check_manages_team(actor: &Actor, tree: &AreaTree, team: TeamScope) -> Result<()> {
    if team.actor_role.is_some_and(MemberRole::manages) || is_admin_of(actor, tree, team.area) {
        Ok(())
    } else {
        Err(Error::forbidden("only-leader-or-deputy-of-team-2"))
    }
}

/// Appoints and removes leaders and deputies: the team's leaders, or an admin of its area.
pub fn check_leads_team(actor: &Actor, tree: &AreaTree, team: TeamScope) -> Result<()> {
    if team.actor_role == Some(MemberRole::Leader) || is_admin_of(actor, tree, team.area) {
        Ok(())
    } else {
        Err(Error::forbidden("only-leader-of-team-may-change"))
    }
}

/// Messages the whole team (`messageTeam`): its ACTIVE leaders and deputies only. Area admins run
/// the team but are not among its members; they do not speak to the team in its leaders' name.
pub fn check_messages_team(_actor: &Actor, _tree: &AreaTree, team: TeamScope) -> Result<()> {
    if team.actor_role.is_some_and(MemberRole::manages) {
        Ok(())
    } else {
        Err(Error::forbidden("only-leader-or-deputy-of-team-3"))
    }
}

/// Sees the team's member list: its members (names), managers and area admins
/// ([`check_reads_members`], which also says how they read it).
pub fn check_sees_members(actor: &Actor, tree: &AreaTree, team: TeamScope) -> Result<()> {
    check_reads_members(actor, tree, team).map(|_| ())
}

/// Reviews a service record: a manager of its team or an admin of its area, never for their own
/// record. `admin_only` is set when the day's approved minutes would pass 8 hours.
pub fn check_reviews_record(
    actor: &Actor,
    tree: &AreaTree,
    team: TeamScope,
    record_owner: VolunteerId,
    admin_only: bool,
) -> Result<()> {
    if actor.volunteer == record_owner {
        return Err(Error::forbidden("nobody-reviews-their-own-service-hours"));
    }
    if admin_only {
        return if is_admin_of(actor, tree, team.area) {
            Ok(())
        } else {
            Err(Error::forbidden("more-than-8-hours-in-one"))
        };
    }
    check_manages_team(actor, tree, team)
}

/// Sees an event: PUBLIC events are for everyone once published; TEAM events for members; drafts
/// for those who run the team.
pub fn can_see_event(
    viewer: &Viewer,
    tree: &AreaTree,
    team: TeamScope,
    visibility: Visibility,
    status: EventStatus,
) -> bool {
    let manages = viewer
        .actor()
        .is_some_and(|actor| check_manages_team(actor, tree, team).is_ok());
    if status == EventStatus::Draft {
        return manages;
    }
    visibility == Visibility::Public || team.actor_role.is_some() || manages
}

/// Whether a patrol schedule may be shown beside one of its events without asking more: a
/// PUBLIC schedule always; a TEAM schedule beside a TEAM event (whoever sees that event sees
/// the team's TEAM schedules). A TEAM schedule of an event made PUBLIC needs its own check.
pub fn schedule_shown_with_event(event: Visibility, schedule: Visibility) -> bool {
    schedule == Visibility::Public || event == Visibility::Team
}

#[cfg(test)]
mod tests {
    use super::*;

    /// City 1, districts 2 and 3, town 4 in district 2.
    pub(super) fn tree() -> AreaTree {
        crate::areas::test_tree()
    }

    fn actor(id: i64, admin_areas: &[i64]) -> Actor {
        Actor {
            volunteer: VolunteerId(id),
            admin_areas: admin_areas.iter().copied().map(AreaId).collect(),
        }
    }

    #[test]
    fn an_admin_sees_every_event_of_their_area_and_below_and_nowhere_else() {
        let tree = tree();
        let district_admin = actor(9, &[2]);
        assert!(sees_every_event_in(&district_admin, &tree, Some(AreaId(2))));
        assert!(sees_every_event_in(&district_admin, &tree, Some(AreaId(4))));
        assert!(!sees_every_event_in(
            &district_admin,
            &tree,
            Some(AreaId(3))
        ));
        assert!(!sees_every_event_in(
            &district_admin,
            &tree,
            Some(AreaId(1))
        ));
        assert!(!sees_every_event_in(&district_admin, &tree, None));
        assert!(sees_every_event_in(&actor(8, &[1]), &tree, None));
        assert!(!sees_every_event_in(&actor(7, &[]), &tree, Some(AreaId(4))));
    }

    #[test]
    fn anonymous_callers_are_asked_to_sign_in() {
        assert!(matches!(
            check_signed_in(&Viewer::Anonymous),
            Err(Error::Unauthenticated)
        ));
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

    fn scope(area: i64, role: Option<MemberRole>) -> TeamScope {
        TeamScope {
            area: AreaId(area),
            actor_role: role,
        }
    }

    #[test]
    fn leaders_deputies_and_area_admins_manage_a_team_and_nobody_else() {
        let tree = tree();
        let member = actor(1, &[]);
        assert!(check_manages_team(&member, &tree, scope(4, Some(MemberRole::Leader))).is_ok());
        assert!(check_manages_team(&member, &tree, scope(4, Some(MemberRole::Deputy))).is_ok());
        assert!(check_manages_team(&member, &tree, scope(4, Some(MemberRole::Member))).is_err());
        assert!(check_manages_team(&member, &tree, scope(4, None)).is_err());
        assert!(check_manages_team(&actor(2, &[2]), &tree, scope(4, None)).is_ok());
        assert!(check_manages_team(&actor(2, &[3]), &tree, scope(4, None)).is_err());
    }

    #[test]
    fn only_the_teams_own_leaders_and_deputies_message_it() {
        let tree = tree();
        let admin = actor(1, &[1]);
        for role in [MemberRole::Leader, MemberRole::Deputy] {
            assert!(check_messages_team(&actor(2, &[]), &tree, scope(4, Some(role))).is_ok());
        }
        assert!(
            check_messages_team(&actor(2, &[]), &tree, scope(4, Some(MemberRole::Member))).is_err()
        );
        assert!(check_messages_team(&actor(2, &[]), &tree, scope(4, None)).is_err());
        // An admin of the area runs the team but does not message it.
        assert!(check_messages_team(&admin, &tree, scope(4, None)).is_err());
    }

    #[test]
    fn admins_look_volunteers_up_inside_their_areas_only() {
        let tree = tree();
        let district = actor(1, &[2]);
        assert_eq!(
            check_finds_volunteers(&district, &tree, None).unwrap(),
            [AreaId(2)]
        );
        assert_eq!(
            check_finds_volunteers(&district, &tree, Some(AreaId(4))).unwrap(),
            [AreaId(4)]
        );
        assert!(check_finds_volunteers(&district, &tree, Some(AreaId(3))).is_err());
        assert!(check_finds_volunteers(&district, &tree, Some(AreaId(1))).is_err());
        assert!(check_finds_volunteers(&actor(2, &[]), &tree, None).is_err());
        assert!(check_finds_volunteers(&actor(2, &[]), &tree, Some(AreaId(4))).is_err());
    }

    #[test]
    fn only_leaders_change_roles() {
        let tree = tree();
        assert!(
            check_leads_team(&actor(1, &[]), &tree, scope(4, Some(MemberRole::Leader))).is_ok()
        );
        assert!(
            check_leads_team(&actor(1, &[]), &tree, scope(4, Some(MemberRole::Deputy))).is_err()
        );
    }

    #[test]
    fn nobody_reviews_their_own_hours_and_long_days_need_an_admin() {
        let tree = tree();
        let leader = actor(1, &[]);
        let team = scope(4, Some(MemberRole::Leader));
        assert!(check_reviews_record(&leader, &tree, team, VolunteerId(2), false).is_ok());
        assert!(check_reviews_record(&leader, &tree, team, VolunteerId(1), false).is_err());
        assert!(check_reviews_record(&leader, &tree, team, VolunteerId(2), true).is_err());
        let admin = actor(9, &[2]);
        assert!(check_reviews_record(&admin, &tree, scope(4, None), VolunteerId(2), true).is_ok());
        assert!(check_reviews_record(&admin, &tree, scope(4, None), VolunteerId(9), true).is_err());
    }

    #[test]
    fn team_events_are_for_members_and_drafts_for_managers() {
        let tree = tree();
        let outsider = Viewer::Volunteer(actor(1, &[]));
        let public =
            |status| can_see_event(&outsider, &tree, scope(4, None), Visibility::Public, status);
        assert!(public(EventStatus::Published));
        assert!(!public(EventStatus::Draft));
        assert!(can_see_event(
            &Viewer::Anonymous,
            &tree,
            scope(4, None),
            Visibility::Public,
            EventStatus::Published
        ));
        assert!(!can_see_event(
            &outsider,
            &tree,
            scope(4, None),
            Visibility::Team,
            EventStatus::Published
        ));
        let member = scope(4, Some(MemberRole::Member));
        assert!(can_see_event(
            &outsider,
            &tree,
            member,
            Visibility::Team,
            EventStatus::Published
        ));
        assert!(!can_see_event(
            &outsider,
            &tree,
            member,
            Visibility::Team,
            EventStatus::Draft
        ));
    }

    #[test]
    fn a_team_schedule_shows_beside_team_events_only() {
        assert!(schedule_shown_with_event(
            Visibility::Team,
            Visibility::Team
        ));
        assert!(schedule_shown_with_event(
            Visibility::Public,
            Visibility::Public
        ));
        assert!(schedule_shown_with_event(
            Visibility::Team,
            Visibility::Public
        ));
        assert!(!schedule_shown_with_event(
            Visibility::Public,
            Visibility::Team
        ));
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
