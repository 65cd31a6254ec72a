//! Who sees what of a volunteer's real name (`setRealName`).

use super::people::Relation;

/// The real name and the masked ID number: the volunteer themself only. Teammates, leaders and
/// admins do not need a legal name to run a patrol; certificates carry it for the holder.
pub fn sees_real_name(relation: Relation) -> bool {
    relation == Relation::Own
}

/// Whether a well-formed, unique ID number is recorded: the volunteer, and those who supervise
/// them (their teams' leaders and deputies, admins of their areas), who may need to know it
/// before an event that asks for real-name registration. It says nothing of the number itself.
pub fn sees_real_name_verified(relation: Relation) -> bool {
    relation >= Relation::Supervisor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_volunteer_sees_their_real_name() {
        assert!(sees_real_name(Relation::Own));
        for other in [Relation::Supervisor, Relation::Teammate, Relation::Stranger] {
            assert!(!sees_real_name(other), "{other:?}");
        }
    }

    #[test]
    fn supervisors_and_the_volunteer_see_whether_it_is_verified() {
        assert!(sees_real_name_verified(Relation::Own));
        assert!(sees_real_name_verified(Relation::Supervisor));
        assert!(!sees_real_name_verified(Relation::Teammate));
        assert!(!sees_real_name_verified(Relation::Stranger));
    }
}
