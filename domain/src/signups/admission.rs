//! Who of a batch of sign-ups for one event gets in, as a pure rule: the batch's database work
//! (`batch`) gathers the facts in a few set-based reads under the volunteers' and the event's
//! locks, this decides each member in arrival order, and one write records the outcome.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::ids::VolunteerId;
use crate::kinds::SignUpStatus;

/// What the batch read about one member's volunteer before deciding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Standing {
    /// An active member of the team (asked only of TEAM events; `true` otherwise).
    pub may_join: bool,
    /// Already holds an active (confirmed or waiting) sign-up for this event.
    pub signed_up: bool,
    /// Confirmed on another event overlapping this one.
    pub busy: bool,
}

/// The event as the batch locked it: `None` when it is no longer published; else its free seats.
pub(super) type Seats = Option<i64>;

/// Each member's outcome in arrival order: a status to record, or the refusal a lone sign-up
/// would get. A volunteer twice in one batch is refused the second time like a repeat sign-up.
pub(super) fn admit(
    members: &[(VolunteerId, Standing)],
    seats: Seats,
) -> Vec<Result<SignUpStatus>> {
    let mut free = seats.unwrap_or(0).max(0);
    let mut entered = HashSet::new();
    members
        .iter()
        .map(|(volunteer, standing)| {
            if !standing.may_join {
                return Err(Error::forbidden("event-for-members-of-team"));
            }
            if standing.signed_up || entered.contains(volunteer) {
                return Err(Error::conflict("you-are-already-signed-up-for"));
            }
            if standing.busy {
                return Err(Error::conflict("you-already-have-confirmed-sign-up"));
            }
            if seats.is_none() {
                return Err(Error::conflict("event-no-longer-open-for-sign"));
            }
            entered.insert(*volunteer);
            if free > 0 {
                free -= 1;
                Ok(SignUpStatus::Confirmed)
            } else {
                Ok(SignUpStatus::Waitlisted)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREE: Standing = Standing {
        may_join: true,
        signed_up: false,
        busy: false,
    };

    fn code(outcome: &Result<SignUpStatus>) -> String {
        match outcome {
            Ok(status) => format!("{status:?}"),
            Err(Error::Conflict(text) | Error::Forbidden(text)) => text.key.clone(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn codes(members: &[(i64, Standing)], seats: Seats) -> Vec<String> {
        let members: Vec<_> = members.iter().map(|(v, s)| (VolunteerId(*v), *s)).collect();
        admit(&members, seats).iter().map(code).collect()
    }

    #[test]
    fn seats_go_in_arrival_order_and_the_rest_wait() {
        let members = [(1, FREE), (2, FREE), (3, FREE)];
        assert_eq!(
            codes(&members, Some(2)),
            ["Confirmed", "Confirmed", "Waitlisted"]
        );
        assert_eq!(codes(&members, Some(0)), ["Waitlisted"; 3]);
    }

    #[test]
    fn a_refused_member_takes_no_seat_from_those_after_it() {
        let busy = Standing { busy: true, ..FREE };
        let outsider = Standing {
            may_join: false,
            ..FREE
        };
        let members = [(1, busy), (2, outsider), (3, FREE)];
        assert_eq!(
            codes(&members, Some(1)),
            [
                "you-already-have-confirmed-sign-up",
                "event-for-members-of-team",
                "Confirmed"
            ]
        );
    }

    #[test]
    fn a_volunteer_twice_in_a_batch_or_already_signed_up_is_refused_as_a_repeat() {
        let again = Standing {
            signed_up: true,
            ..FREE
        };
        let members = [(1, FREE), (1, FREE), (2, again)];
        assert_eq!(
            codes(&members, Some(5)),
            [
                "Confirmed",
                "you-are-already-signed-up-for",
                "you-are-already-signed-up-for"
            ]
        );
    }

    #[test]
    fn a_closed_event_refuses_everyone_after_the_checks_a_lone_sign_up_makes_first() {
        let outsider = Standing {
            may_join: false,
            ..FREE
        };
        assert_eq!(
            codes(&[(1, FREE), (2, outsider)], None),
            ["event-no-longer-open-for-sign", "event-for-members-of-team"]
        );
    }
}
