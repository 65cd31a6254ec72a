//! Who may do what with a push device.

use crate::actor::Actor;
use crate::ids::VolunteerId;

/// A device (and its token) is its owner's alone: only they may remove it or read its token.
/// Anyone else is answered as if the token were unknown, so nobody learns whose a token is.
pub fn can_manage_device(actor: &Actor, owner: VolunteerId) -> bool {
    actor.volunteer == owner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_manages_a_device() {
        let owner = Actor {
            volunteer: VolunteerId(7),
            admin_areas: Vec::new(),
        };
        assert!(can_manage_device(&owner, VolunteerId(7)));
        assert!(!can_manage_device(&owner, VolunteerId(8)));
    }
}
