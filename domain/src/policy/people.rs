//! What one volunteer sees of another: decided by their relation, never by which field or path
//! the other is reached through (a roster, a leaderboard, `node(id:)`).

use crate::actor::Viewer;
use crate::areas::AreaTree;
use crate::ids::{AreaId, TeamId, VolunteerId};
use crate::kinds::{MemberRole, MembershipStatus};

/// How a caller stands to a volunteer, from least to most that is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relation {
    /// No relation (anonymous callers included): the display name only, or nothing at all on a
    /// leaderboard line the volunteer asked to keep anonymous.
    Stranger,
    /// Active members of a common team: also the home area, hours and star level.
    Teammate,
    /// Leaders and deputies of a team the volunteer belongs to or asked to join, and admins of
    /// an area holding their home or one of their teams: also pending minutes and when they
    /// joined.
    Supervisor,
    /// The volunteer themself: everything, phone number and roles included.
    Own,
}

impl Relation {
    /// Area, approved minutes, star level.
    pub fn sees_profile(self) -> bool {
        self >= Self::Teammate
    }

    /// Pending minutes and the account's creation time.
    pub fn sees_records(self) -> bool {
        self >= Self::Supervisor
    }

    /// Phone number, roles, leaderboard preference.
    pub fn sees_private(self) -> bool {
        self == Self::Own
    }

    /// `node(id:)` answers only for volunteers the caller has a relation with, so volunteer IDs
    /// cannot be walked to list people.
    pub fn finds_by_id(self) -> bool {
        self >= Self::Teammate
    }
}

/// How the reader of a team's member list stands to its members: those who run the team
/// (leaders, deputies, admins of its area) supervise them; any other reader is a member.
pub fn member_list_reader(runs_team: bool) -> Relation {
    if runs_team {
        Relation::Supervisor
    } else {
        Relation::Teammate
    }
}

/// Whether a leaderboard line shows its volunteer anonymously: they opted out of appearing by
/// name, and the caller is not them (nobody is anonymous to themself).
pub fn anonymous_on_leaderboards(
    viewer: Option<VolunteerId>,
    subject: VolunteerId,
    shows_on_leaderboards: bool,
) -> bool {
    !shows_on_leaderboards && viewer != Some(subject)
}

/// One of a volunteer's memberships, as the relation rules see it.
#[derive(Debug, Clone, Copy)]
pub struct TeamTie {
    pub team: TeamId,
    pub team_area: AreaId,
    pub status: MembershipStatus,
}

/// The caller's side: the teams they are an ACTIVE member of, with their role.
pub type CallerRoles<'a> = &'a [(TeamId, MemberRole)];

/// How `viewer` (with `roles`) stands to `subject` (home area, memberships).
pub fn relation_to(
    viewer: &Viewer,
    roles: CallerRoles<'_>,
    tree: &AreaTree,
    subject: VolunteerId,
    home_area: AreaId,
    ties: &[TeamTie],
) -> Relation {
    let Some(actor) = viewer.actor() else {
        return Relation::Stranger;
    };
    if actor.volunteer == subject {
        return Relation::Own;
    }
    let administers = |area: AreaId| actor.admin_areas.iter().any(|a| tree.is_within(area, *a));
    let role_in = |team: TeamId| roles.iter().find(|(t, _)| *t == team).map(|(_, r)| *r);
    let supervises = administers(home_area)
        || ties.iter().any(|tie| {
            let joined_or_asking = matches!(
                tie.status,
                MembershipStatus::Active | MembershipStatus::Pending
            );
            joined_or_asking
                && (role_in(tie.team).is_some_and(MemberRole::manages)
                    || administers(tie.team_area))
        });
    if supervises {
        return Relation::Supervisor;
    }
    let shares_a_team = ties
        .iter()
        .any(|tie| tie.status == MembershipStatus::Active && role_in(tie.team).is_some());
    if shares_a_team {
        Relation::Teammate
    } else {
        Relation::Stranger
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use crate::policy::tests::tree;

    fn viewer(id: i64, admin_areas: &[i64]) -> Viewer {
        Viewer::Volunteer(Actor {
            volunteer: VolunteerId(id),
            admin_areas: admin_areas.iter().copied().map(AreaId).collect(),
        })
    }

    fn tie(team: i64, area: i64, status: MembershipStatus) -> TeamTie {
        TeamTie {
            team: TeamId(team),
            team_area: AreaId(area),
            status,
        }
    }

    const SUBJECT: VolunteerId = VolunteerId(7);

    fn relation(viewer: &Viewer, roles: CallerRoles<'_>, ties: &[TeamTie]) -> Relation {
        relation_to(viewer, roles, &tree(), SUBJECT, AreaId(2), ties)
    }

    #[test]
    fn an_opted_out_volunteer_is_anonymous_on_boards_to_everyone_but_themself() {
        assert!(anonymous_on_leaderboards(None, SUBJECT, false));
        assert!(anonymous_on_leaderboards(
            Some(VolunteerId(1)),
            SUBJECT,
            false
        ));
        assert!(!anonymous_on_leaderboards(Some(SUBJECT), SUBJECT, false));
        assert!(!anonymous_on_leaderboards(None, SUBJECT, true));
    }

    #[test]
    fn those_who_run_the_team_supervise_its_members_and_members_are_teammates() {
        assert_eq!(member_list_reader(true), Relation::Supervisor);
        assert_eq!(member_list_reader(false), Relation::Teammate);
    }

    #[test]
    fn strangers_and_anonymous_callers_have_no_relation() {
        let ties = [tie(10, 2, MembershipStatus::Active)];
        assert_eq!(relation(&Viewer::Anonymous, &[], &ties), Relation::Stranger);
        assert_eq!(relation(&viewer(1, &[]), &[], &ties), Relation::Stranger);
        // Membership of another team is no relation.
        let other_team = [(TeamId(11), MemberRole::Leader)];
        assert_eq!(
            relation(&viewer(1, &[]), &other_team, &ties),
            Relation::Stranger
        );
        assert!(!Relation::Stranger.finds_by_id());
        assert!(!Relation::Stranger.sees_profile());
    }

    #[test]
    fn the_volunteer_is_their_own_relation() {
        assert_eq!(relation(&viewer(7, &[]), &[], &[]), Relation::Own);
        assert!(Relation::Own.sees_private());
    }

    #[test]
    fn active_members_of_a_common_team_are_teammates() {
        let mine = [(TeamId(10), MemberRole::Member)];
        let active = [tie(10, 2, MembershipStatus::Active)];
        assert_eq!(
            relation(&viewer(1, &[]), &mine, &active),
            Relation::Teammate
        );
        // Someone who left, or only asked to join, is no teammate.
        let left = [tie(10, 2, MembershipStatus::Left)];
        assert_eq!(relation(&viewer(1, &[]), &mine, &left), Relation::Stranger);
        let pending = [tie(10, 2, MembershipStatus::Pending)];
        assert_eq!(
            relation(&viewer(1, &[]), &mine, &pending),
            Relation::Stranger
        );
        assert!(Relation::Teammate.sees_profile() && !Relation::Teammate.sees_records());
    }

    #[test]
    fn leaders_of_their_teams_and_admins_of_their_areas_supervise() {
        let pending = [tie(10, 3, MembershipStatus::Pending)];
        let deputy = [(TeamId(10), MemberRole::Deputy)];
        assert_eq!(
            relation(&viewer(1, &[]), &deputy, &pending),
            Relation::Supervisor
        );
        // An admin of the home area, or of a team's area.
        assert_eq!(relation(&viewer(1, &[2]), &[], &[]), Relation::Supervisor);
        assert_eq!(
            relation(&viewer(1, &[3]), &[], &pending),
            Relation::Supervisor
        );
        // An admin elsewhere is a stranger.
        assert_eq!(relation(&viewer(1, &[3]), &[], &[]), Relation::Stranger);
        // A team they left gives its leader nothing.
        let left = [tie(10, 3, MembershipStatus::Left)];
        assert_eq!(
            relation(&viewer(1, &[]), &deputy, &left),
            Relation::Stranger
        );
        assert!(Relation::Supervisor.sees_records() && !Relation::Supervisor.sees_private());
    }
}
