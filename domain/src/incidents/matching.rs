//! The rules of matching an incident to people on duty, as pure functions: which ring a step
//! looks in, how many it alerts, and whom.
//!
//! Rings widen outwards (by default 250 m, 750 m and 1,250 m straight-line: 1, 3 and 5 minutes
//! on an e-bike). A step right after the incident is raised, or after someone declined, looks in
//! the current ring and alerts enough people to cover those still needed, plus [`EXTRA`] (some
//! will decline or not answer), less those still deciding (alerted in this step's rings and not
//! answered yet); when the ring holds too few, the next ring is opened at once. A step after the
//! ring's wait has passed without enough acceptances opens the next ring (or looks in the last
//! one again, for people who came on duty since): those alerted in inner rings had their wait
//! and no longer count as deciding.

use std::collections::HashSet;

use crate::duty::positions::Near;
use crate::ids::VolunteerId;

/// Alerted beyond those still needed.
pub const EXTRA: usize = 2;

/// Why a matching step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Just raised, or someone declined: the current ring first.
    Prompt,
    /// The current ring's wait passed without enough acceptances: the next ring.
    Widen,
}

/// The ring (1-based) a step starts in, given the rings opened so far (0: none) and how many
/// rings there are.
pub fn first_ring(opened: usize, rings: usize, step: Step) -> usize {
    let ring = match step {
        Step::Prompt => opened.max(1),
        Step::Widen => opened + 1,
    };
    ring.clamp(1, rings.max(1))
}

/// How many more to alert: those still needed and [`EXTRA`], less those still deciding (alerted
/// in the step's rings, not answered yet).
pub fn wanted(needed: usize, accepted: usize, deciding: usize) -> usize {
    let short = needed.saturating_sub(accepted);
    if short == 0 {
        return 0;
    }
    (short + EXTRA).saturating_sub(deciding)
}

/// The nearest `count` of `candidates` (nearest first already) not in `skip`.
pub fn choose(candidates: &[Near], skip: &HashSet<VolunteerId>, count: usize) -> Vec<Near> {
    candidates
        .iter()
        .filter(|near| !skip.contains(&near.volunteer))
        .take(count)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(id: i64, distance_m: f64) -> Near {
        Near {
            volunteer: VolunteerId(id),
            distance_m,
        }
    }

    #[test]
    fn a_prompt_step_stays_in_the_current_ring_and_a_widening_one_opens_the_next() {
        assert_eq!(first_ring(0, 3, Step::Prompt), 1);
        assert_eq!(first_ring(2, 3, Step::Prompt), 2);
        assert_eq!(first_ring(1, 3, Step::Widen), 2);
        assert_eq!(
            first_ring(3, 3, Step::Widen),
            3,
            "the last ring is looked at again"
        );
    }

    #[test]
    fn a_ring_alerts_those_still_needed_and_a_few_more_less_those_still_deciding() {
        assert_eq!(wanted(3, 0, 0), 3 + EXTRA);
        assert_eq!(wanted(3, 1, 2), 2 + EXTRA - 2);
        assert_eq!(wanted(3, 0, 10), 0, "enough are deciding");
        assert_eq!(wanted(3, 3, 0), 0, "staffed: nobody more");
        assert_eq!(wanted(2, 5, 0), 0);
    }

    #[test]
    fn the_nearest_not_yet_alerted_are_chosen() {
        let candidates = [near(5, 10.0), near(6, 20.0), near(7, 30.0), near(8, 40.0)];
        let skip: HashSet<VolunteerId> = [VolunteerId(6)].into();
        let chosen: Vec<i64> = choose(&candidates, &skip, 2)
            .iter()
            .map(|n| n.volunteer.0)
            .collect();
        assert_eq!(chosen, vec![5, 7]);
        assert!(choose(&candidates, &skip, 0).is_empty());
    }
}
