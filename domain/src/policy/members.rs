//! Who reads a team's member list, and how much of a member's phone number they see: the one
//! rule behind `Team.members` and the roster export.

use crate::actor::Actor;
use crate::areas::AreaTree;
use crate::error::{Error, Result};
use crate::kinds::{MemberRole, MembershipStatus};
use crate::values::mask_phone;

use super::{TeamScope, is_admin_of};

/// How the reader of a team's member list stands to the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamReader {
    /// An ACTIVE leader or deputy of the team: they call their members.
    Manager,
    /// An admin of an area holding the team who is not one of its leaders or deputies.
    AreaAdmin,
    /// An ACTIVE plain member.
    Member,
}

impl TeamReader {
    /// Leaders, deputies and area admins run the team.
    pub fn runs_team(self) -> bool {
        matches!(self, Self::Manager | Self::AreaAdmin)
    }
}

/// How much of a member's phone number a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneShown {
    /// The whole number (`13812345678`).
    Full,
    /// The middle four digits hidden (`138****5678`).
    Masked,
    /// Nothing.
    Hidden,
}

impl PhoneShown {
    /// `phone` (a stored, normalised number) as this rule shows it.
    pub fn apply(self, phone: &str) -> Option<String> {
        match self {
            Self::Full => Some(phone.to_owned()),
            Self::Masked => Some(mask_phone(phone)),
            Self::Hidden => None,
        }
    }
}

/// Reads the team's member list: its ACTIVE members (a leader or deputy role counts first), and
/// admins of an area holding it. Anyone else is refused.
pub fn check_reads_members(actor: &Actor, tree: &AreaTree, team: TeamScope) -> Result<TeamReader> {
    match team.actor_role {
        Some(role) if role.manages() => Ok(TeamReader::Manager),
        _ if is_admin_of(actor, tree, team.area) => Ok(TeamReader::AreaAdmin),
        Some(MemberRole::Member) => Ok(TeamReader::Member),
        _ => Err(Error::forbidden("only-members-of-team-see-members")),
    }
}

/// A member's phone number on the member list: leaders and deputies see their ACTIVE members'
/// numbers in full (they call them); a join request's number, and every number an area admin
/// reads, is masked; plain members see none.
pub fn member_phone(reader: TeamReader, member_status: MembershipStatus) -> PhoneShown {
    match reader {
        TeamReader::Manager if member_status == MembershipStatus::Active => PhoneShown::Full,
        TeamReader::Manager | TeamReader::AreaAdmin => PhoneShown::Masked,
        TeamReader::Member => PhoneShown::Hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AreaId, VolunteerId};
    use crate::policy::tests::tree;

    fn actor(admin_areas: &[i64]) -> Actor {
        Actor {
            volunteer: VolunteerId(1),
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
    fn members_managers_and_area_admins_read_the_list_and_nobody_else() {
        let tree = tree();
        let read = |admin: &[i64], role| check_reads_members(&actor(admin), &tree, scope(role));
        assert_eq!(
            read(&[], Some(MemberRole::Leader)).unwrap(),
            TeamReader::Manager
        );
        assert_eq!(
            read(&[], Some(MemberRole::Deputy)).unwrap(),
            TeamReader::Manager
        );
        assert_eq!(
            read(&[], Some(MemberRole::Member)).unwrap(),
            TeamReader::Member
        );
        assert_eq!(read(&[2], None).unwrap(), TeamReader::AreaAdmin);
        // An admin who is a plain member reads as an admin; one who leads it, as its leader.
        assert_eq!(
            read(&[1], Some(MemberRole::Member)).unwrap(),
            TeamReader::AreaAdmin
        );
        assert_eq!(
            read(&[1], Some(MemberRole::Deputy)).unwrap(),
            TeamReader::Manager
        );
        assert!(matches!(read(&[], None), Err(Error::Forbidden(_))));
        assert!(matches!(read(&[3], None), Err(Error::Forbidden(_))));
        assert!(TeamReader::Manager.runs_team() && TeamReader::AreaAdmin.runs_team());
        assert!(!TeamReader::Member.runs_team());
    }

    #[test]
    fn leaders_and_deputies_see_their_active_members_numbers_in_full() {
        use MembershipStatus::{Active, Left, Pending, Rejected};
        assert_eq!(member_phone(TeamReader::Manager, Active), PhoneShown::Full);
        for status in [Pending, Left, Rejected] {
            assert_eq!(
                member_phone(TeamReader::Manager, status),
                PhoneShown::Masked,
                "{status:?}"
            );
        }
        for status in [Active, Pending, Left, Rejected] {
            assert_eq!(
                member_phone(TeamReader::AreaAdmin, status),
                PhoneShown::Masked
            );
            assert_eq!(member_phone(TeamReader::Member, status), PhoneShown::Hidden);
        }
    }

    #[test]
    fn a_number_is_shown_whole_masked_or_not_at_all() {
        assert_eq!(
            PhoneShown::Full.apply("13812345678").as_deref(),
            Some("13812345678")
        );
        assert_eq!(
            PhoneShown::Masked.apply("13812345678").as_deref(),
            Some("138****5678")
        );
        assert_eq!(PhoneShown::Hidden.apply("13812345678"), None);
    }
}
