//! The position index of one node without Redis: volunteers on duty by grid cell
//! (`geo::cell_of`), each with their last position, when it came, and until when they are on
//! duty. Answers the same questions as the Redis index, on this node only.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::positions::{Near, Reported, STALE_AFTER};
use crate::geo::{self, Position};
use crate::ids::VolunteerId;

/// Cells looked at for one search at most (a search wider than that walks every entry).
const MAX_CELLS: usize = 64;

struct Entry {
    position: Position,
    cell: i64,
    reported_at: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl Entry {
    /// Whether the entry may still be matched: on duty, and a position within the last
    /// [`STALE_AFTER`].
    fn live(&self, now: DateTime<Utc>) -> bool {
        self.until > now && now - self.reported_at < stale_after()
    }
}

fn stale_after() -> chrono::Duration {
    chrono::Duration::from_std(STALE_AFTER).unwrap_or(chrono::Duration::MAX)
}

#[derive(Default)]
pub struct Grid {
    entries: HashMap<VolunteerId, Entry>,
    cells: HashMap<i64, HashSet<VolunteerId>>,
    /// Until when each volunteer who accepted an incident counts as responding.
    responding: HashMap<VolunteerId, DateTime<Utc>>,
}

impl Grid {
    fn place(
        &mut self,
        volunteer: VolunteerId,
        position: Position,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) {
        self.remove(volunteer);
        let cell = geo::cell_of(position.lat, position.lng);
        self.cells.entry(cell).or_default().insert(volunteer);
        self.entries.insert(
            volunteer,
            Entry {
                position,
                cell,
                reported_at: now,
                until,
            },
        );
    }

    /// Starts (or restarts) a volunteer's duty at a position.
    pub fn start(
        &mut self,
        volunteer: VolunteerId,
        position: Position,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) {
        self.place(volunteer, position, now, until);
    }

    /// A new position from someone known to be on duty, unless it came too soon after the last.
    pub fn report(
        &mut self,
        volunteer: VolunteerId,
        position: Position,
        now: DateTime<Utc>,
        min_interval: chrono::Duration,
    ) -> Reported {
        let Some(entry) = self.entries.get(&volunteer) else {
            return Reported::Unknown;
        };
        if entry.until <= now {
            return Reported::Unknown;
        }
        let since = now - entry.reported_at;
        if since < min_interval {
            return Reported::TooSoon((min_interval - since).to_std().unwrap_or_default());
        }
        let until = entry.until;
        self.place(volunteer, position, now, until);
        Reported::Kept {
            responding: self
                .responding
                .get(&volunteer)
                .is_some_and(|until| *until > now),
        }
    }

    /// Marks a volunteer as responding to an incident until `until`.
    pub fn set_responding(&mut self, volunteer: VolunteerId, until: DateTime<Utc>) {
        self.responding.insert(volunteer, until);
    }

    pub fn remove(&mut self, volunteer: VolunteerId) {
        if let Some(entry) = self.entries.remove(&volunteer)
            && let Some(cell) = self.cells.get_mut(&entry.cell)
        {
            cell.remove(&volunteer);
            if cell.is_empty() {
                self.cells.remove(&entry.cell);
            }
        }
    }

    /// The live entries within `radius_m` of `centre`, nearest first, at most `count`.
    pub fn nearest(
        &self,
        centre: Position,
        radius_m: f64,
        count: usize,
        now: DateTime<Utc>,
    ) -> Vec<Near> {
        let candidates: Vec<VolunteerId> =
            match geo::cells_covering(centre.bounding_box(radius_m), MAX_CELLS) {
                Some(cells) => cells
                    .iter()
                    .filter_map(|cell| self.cells.get(cell))
                    .flatten()
                    .copied()
                    .collect(),
                None => self.entries.keys().copied().collect(),
            };
        let mut near: Vec<Near> = candidates
            .into_iter()
            .filter_map(|volunteer| {
                let entry = self.entries.get(&volunteer)?;
                let distance_m = centre.distance_m(&entry.position);
                (entry.live(now) && distance_m <= radius_m).then_some(Near {
                    volunteer,
                    distance_m,
                })
            })
            .collect();
        near.sort_by(|a, b| {
            a.distance_m
                .total_cmp(&b.distance_m)
                .then(a.volunteer.cmp(&b.volunteer))
        });
        near.truncate(count);
        near
    }

    /// The volunteer's last position, while live.
    pub fn position(&self, volunteer: VolunteerId, now: DateTime<Utc>) -> Option<Position> {
        self.entries
            .get(&volunteer)
            .filter(|entry| entry.live(now))
            .map(|entry| entry.position)
    }

    /// Forgets every entry that is no longer live; how many.
    pub fn sweep(&mut self, now: DateTime<Utc>) -> usize {
        let dead: Vec<VolunteerId> = self
            .entries
            .iter()
            .filter(|(_, entry)| !entry.live(now))
            .map(|(volunteer, _)| *volunteer)
            .collect();
        for volunteer in &dead {
            self.remove(*volunteer);
        }
        self.responding.retain(|_, until| *until > now);
        dead.len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    fn at(lat: f64, lng: f64) -> Position {
        Position { lat, lng }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0).unwrap()
    }

    #[test]
    fn the_nearest_live_entries_come_first_and_the_far_ones_not_at_all() {
        let mut grid = Grid::default();
        let until = now() + Duration::hours(2);
        let centre = at(23.0300, 113.1200);
        grid.start(VolunteerId(1), at(23.0330, 113.1200), now(), until); // ~330 m
        grid.start(VolunteerId(2), at(23.0310, 113.1200), now(), until); // ~110 m
        grid.start(VolunteerId(3), at(23.0500, 113.1200), now(), until); // ~2.2 km
        let near = grid.nearest(centre, 500.0, 10, now());
        let ids: Vec<i64> = near.iter().map(|n| n.volunteer.0).collect();
        assert_eq!(ids, vec![2, 1]);
        assert!((near[0].distance_m - 111.0).abs() < 2.0, "{near:?}");
        assert_eq!(grid.nearest(centre, 500.0, 1, now()).len(), 1);
    }

    #[test]
    fn an_entry_expires_with_its_duty_or_ten_minutes_after_its_last_position() {
        let mut grid = Grid::default();
        let centre = at(23.03, 113.12);
        grid.start(VolunteerId(1), centre, now(), now() + Duration::hours(2));
        grid.start(VolunteerId(2), centre, now(), now() + Duration::minutes(5));
        let later = now() + Duration::minutes(6);
        let ids = |at| {
            grid.nearest(centre, 100.0, 10, at)
                .iter()
                .map(|n| n.volunteer.0)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(later), vec![1], "duty over");
        assert!(
            ids(now() + Duration::minutes(11)).is_empty(),
            "no position for 10 minutes"
        );
        assert_eq!(grid.sweep(now() + Duration::minutes(11)), 2);
        assert!(grid.position(VolunteerId(1), now()).is_none(), "forgotten");
    }

    #[test]
    fn a_report_too_soon_is_refused_and_an_unknown_volunteer_is_not_taken_on_duty() {
        let mut grid = Grid::default();
        let (a, b) = (at(23.03, 113.12), at(23.04, 113.12));
        let interval = Duration::seconds(15);
        assert_eq!(
            grid.report(VolunteerId(1), a, now(), interval),
            Reported::Unknown
        );
        grid.start(VolunteerId(1), a, now(), now() + Duration::hours(1));
        assert!(matches!(
            grid.report(VolunteerId(1), b, now() + Duration::seconds(5), interval),
            Reported::TooSoon(wait) if wait.as_secs() == 10
        ));
        assert_eq!(grid.position(VolunteerId(1), now()), Some(a));
        let later = now() + Duration::seconds(16);
        let kept = Reported::Kept { responding: false };
        assert_eq!(grid.report(VolunteerId(1), b, later, interval), kept);
        assert_eq!(grid.position(VolunteerId(1), later), Some(b));
        grid.set_responding(VolunteerId(1), later + Duration::hours(1));
        let again = later + Duration::seconds(16);
        let responding = Reported::Kept { responding: true };
        assert_eq!(grid.report(VolunteerId(1), a, again, interval), responding);
        assert_eq!(grid.position(VolunteerId(1), again), Some(a));
        grid.remove(VolunteerId(1));
        assert_eq!(
            grid.report(VolunteerId(1), b, later + Duration::minutes(1), interval),
            Reported::Unknown
        );
    }
}
