//! Writing through the API, and the seeded random scenario.

use std::collections::HashMap;

use chrono::NaiveDate;
use feihong_tests::fixtures::{JOIN_TEAM, RECORD_SERVICE, REVIEW};
use feihong_tests::{Session, TEST_PASSWORD, TeamFixture, TestApp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::*;

/// Registers a volunteer whose home area is the area with `code`.
pub(crate) async fn register_in(app: &TestApp, phone: &str, name: &str, code: &str) -> Session {
    let area = app.area_id(code).await;
    let response = app
        .graphql(
            REGISTER,
            json!({ "input": { "phone": phone, "password": TEST_PASSWORD, "displayName": name, "areaId": area } }),
        )
        .await;
    Session::from_payload(&response.data()["register"], phone)
}

pub(crate) async fn join(app: &TestApp, session: &Session, team: &TeamFixture) {
    let joined = app
        .graphql_as(session, JOIN_TEAM, json!({ "id": team.id }))
        .await;
    assert_eq!(joined.data()["joinTeam"]["status"], "ACTIVE");
}

/// A team in the area with `code`, of `kind`.
pub(crate) async fn team_of_kind(app: &TestApp, name: &str, code: &str, kind: &str) -> TeamFixture {
    let team = app.team(name, code, "OPEN").await;
    if kind != "KUNG_FU_PATROL" {
        let updated = app
            .graphql_as(
                &team.admin,
                UPDATE_TEAM,
                json!({ "id": team.id, "input": { "kind": kind } }),
            )
            .await;
        assert_eq!(updated.data()["updateTeam"]["kind"], kind);
    }
    team
}

/// A review by the team's leader, or by the area admin when the day needs one.
pub(crate) async fn review(app: &TestApp, team: &TeamFixture, variables: Value) -> Value {
    let by_leader = app
        .graphql_as(&team.leader, REVIEW, variables.clone())
        .await;
    let reviewed =
        if by_leader.body.get("errors").is_some() && by_leader.error_code() == "FORBIDDEN" {
            app.graphql_as(&team.admin, REVIEW, variables).await
        } else {
            by_leader
        };
    reviewed.data()["reviewServiceRecord"].clone()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    Approved,
    Rejected,
}

/// A service record as the test made it.
pub(crate) struct Tracked {
    pub(crate) id: String,
    pub(crate) person: usize,
    pub(crate) team: usize,
    pub(crate) day: NaiveDate,
    pub(crate) minutes: i64,
    pub(crate) status: Status,
}

/// Everyone and everything the scenario made, and the records it expects.
pub(crate) struct World {
    pub(crate) teams: Vec<TeamFixture>,
    pub(crate) people: Vec<Session>,
    /// (person, team) pairs with an active membership, for the random operations.
    pub(crate) memberships: Vec<(usize, usize)>,
    pub(crate) records: Vec<Tracked>,
    /// Approved minutes per (person, day), to keep every day within 12 hours.
    pub(crate) day_totals: HashMap<(usize, NaiveDate), i64>,
}

impl World {
    pub(crate) fn day_total(&self, person: usize, day: NaiveDate) -> i64 {
        self.day_totals.get(&(person, day)).copied().unwrap_or(0)
    }

    pub(crate) fn add_to_day(&mut self, person: usize, day: NaiveDate, minutes: i64) {
        let total = self.day_totals.entry((person, day)).or_insert(0);
        *total += minutes;
        assert!(
            (0..=DAY_CAP).contains(total),
            "bookkeeping: {total} minutes on {day}"
        );
    }

    /// The approved records as the test asked for them, comparable with the database's rows.
    pub(crate) fn expected_approved(&self) -> Vec<ApprovedRecord> {
        let mut out: Vec<ApprovedRecord> = self
            .records
            .iter()
            .filter(|r| r.status == Status::Approved)
            .map(|r| ApprovedRecord {
                volunteer: volunteer_number(&self.people[r.person]),
                team: team_number(&self.teams[r.team]),
                day: r.day,
                minutes: r.minutes,
            })
            .collect();
        out.sort();
        out
    }

    /// The leader records and approves new minutes (the area admin approves long days).
    pub(crate) async fn approve_new(
        &mut self,
        app: &TestApp,
        person: usize,
        team: usize,
        day: NaiveDate,
        minutes: i64,
    ) {
        let id = app
            .approved_minutes(&self.teams[team], &self.people[person], minutes, &ymd(day))
            .await;
        self.add_to_day(person, day, minutes);
        self.records.push(Tracked {
            id,
            person,
            team,
            day,
            minutes,
            status: Status::Approved,
        });
    }

    /// The leader records minutes and leaves them waiting for review.
    pub(crate) async fn record_pending(
        &mut self,
        app: &TestApp,
        person: usize,
        team: usize,
        day: NaiveDate,
        minutes: i64,
    ) {
        let (team_fixture, member) = (&self.teams[team], &self.people[person]);
        let recorded = app
            .graphql_as(
                &team_fixture.leader,
                RECORD_SERVICE,
                json!({ "input": { "volunteerId": member.volunteer_id, "teamId": team_fixture.id, "minutes": minutes, "serviceDate": ymd(day) } }),
            )
            .await;
        let id = recorded.data()["recordService"]["id"]
            .as_str()
            .expect("record id")
            .to_owned();
        self.records.push(Tracked {
            id,
            person,
            team,
            day,
            minutes,
            status: Status::Pending,
        });
    }

    /// Reverses an approval: its minutes leave every tally and board.
    pub(crate) async fn reject(&mut self, app: &TestApp, index: usize) {
        let record = &self.records[index];
        let reviewed = review(
            app,
            &self.teams[record.team],
            json!({ "id": record.id, "decision": "REJECT", "reason": "登记有误 entered by mistake" }),
        )
        .await;
        assert_eq!(reviewed["status"], "REJECTED");
        let (person, day, minutes) = (record.person, record.day, record.minutes);
        if record.status == Status::Approved {
            self.add_to_day(person, day, -minutes);
        }
        self.records[index].status = Status::Rejected;
    }

    /// (Re-)approves a record with corrected minutes: the new minutes replace the old exactly.
    pub(crate) async fn approve_corrected(&mut self, app: &TestApp, index: usize, minutes: i64) {
        let record = &self.records[index];
        let reviewed = review(
            app,
            &self.teams[record.team],
            json!({ "id": record.id, "decision": "APPROVE", "minutes": minutes }),
        )
        .await;
        assert_eq!(
            (&reviewed["status"], reviewed["minutes"].as_i64()),
            (&json!("APPROVED"), Some(minutes))
        );
        let (person, day, before) = (record.person, record.day, record.minutes);
        if record.status == Status::Approved {
            self.add_to_day(person, day, -before);
        }
        self.add_to_day(person, day, minutes);
        let record = &mut self.records[index];
        record.minutes = minutes;
        record.status = Status::Approved;
    }
}

/// A day in the last ~45 days, often one next to a period boundary.
pub(crate) fn pick_day(rng: &mut StdRng, calendar: &Calendar) -> NaiveDate {
    if rng.random_bool(0.4) {
        let days = calendar.boundary_days();
        days[rng.random_range(0..days.len())]
    } else {
        calendar.today - chrono::Duration::days(rng.random_range(0..=45))
    }
}

/// Teams, volunteers (some in two teams, with homes across the city) and a seeded random mix
/// of approvals, pending records, reversals and corrections; then a deliberate three-way tie of
/// volunteers and a two-way tie of teams.
pub(crate) async fn build_world(app: &TestApp, calendar: &Calendar) -> World {
    let mut teams = Vec::new();
    for (name, code, kind) in TEAMS {
        teams.push(team_of_kind(app, name, code, kind).await);
    }
    let mut world = World {
        teams,
        people: Vec::new(),
        memberships: Vec::new(),
        records: Vec::new(),
        day_totals: HashMap::new(),
    };
    for (index, code) in HOME_AREAS.iter().enumerate() {
        let person = register_in(
            app,
            &format!("1350000{index:04}"),
            &format!("队员{index}"),
            code,
        )
        .await;
        let mut own_teams = vec![index % RANDOM_TEAMS];
        if index % 3 == 0 {
            own_teams.push((index + 1) % RANDOM_TEAMS);
        }
        for team in own_teams {
            join(app, &person, &world.teams[team]).await;
            world.memberships.push((index, team));
        }
        world.people.push(person);
    }

    let mut rng = StdRng::seed_from_u64(SEED);
    for step in 0..OPERATIONS {
        let (person, team) = world.memberships[rng.random_range(0..world.memberships.len())];
        // The first steps hit every boundary day for sure.
        let day = match calendar.boundary_days().get(step) {
            Some(day) => *day,
            None => pick_day(&mut rng, calendar),
        };
        let room = DAY_CAP - world.day_total(person, day);
        let roll = rng.random_range(0..100);
        let approved: Vec<usize> = (0..world.records.len())
            .filter(|i| world.records[*i].status == Status::Approved)
            .collect();
        if step < 4 || roll < 60 || approved.is_empty() {
            if room >= 10 {
                let minutes = rng.random_range(10..=room.min(300));
                world.approve_new(app, person, team, day, minutes).await;
            }
        } else if roll < 68 {
            world
                .record_pending(app, person, team, day, rng.random_range(10..=300))
                .await;
        } else if roll < 84 {
            let index = approved[rng.random_range(0..approved.len())];
            world.reject(app, index).await;
        } else {
            let index = rng.random_range(0..world.records.len());
            let record = &world.records[index];
            let counted = if record.status == Status::Approved {
                record.minutes
            } else {
                0
            };
            let room = DAY_CAP - (world.day_total(record.person, record.day) - counted);
            if room < 11 {
                continue;
            }
            let mut minutes = rng.random_range(10..=room.min(300));
            if record.status == Status::Approved && minutes == record.minutes {
                minutes = if minutes > 10 {
                    minutes - 1
                } else {
                    minutes + 1
                };
            }
            world.approve_corrected(app, index, minutes).await;
        }
    }
    // Make sure at least one day went past the leader's 8 hours, so the admin path is exercised.
    let (person, team) = world.memberships[0];
    let long_day = calendar.today - chrono::Duration::days(2);
    let room = DAY_CAP - world.day_total(person, long_day);
    if world.day_total(person, long_day) <= LEADER_DAY_LIMIT && room > 0 {
        let minutes = (LEADER_DAY_LIMIT + 1 - world.day_total(person, long_day)).clamp(1, room);
        world
            .approve_new(app, person, team, long_day, minutes)
            .await;
    }

    // Three volunteers with 200 minutes each today (one of them corrected from 150, one split
    // over two teams), and the two Sanshui teams with 300 minutes each.
    let (sanshui_a, sanshui_b) = (4, 5);
    let base = world.people.len();
    for (offset, code) in ["440607", "440607002", "440608"].iter().enumerate() {
        let person = register_in(
            app,
            &format!("1350001{offset:04}"),
            &format!("并列{offset}"),
            code,
        )
        .await;
        world.people.push(person);
    }
    join(app, &world.people[base], &world.teams[sanshui_a]).await;
    join(app, &world.people[base + 1], &world.teams[sanshui_b]).await;
    join(app, &world.people[base + 2], &world.teams[sanshui_a]).await;
    join(app, &world.people[base + 2], &world.teams[sanshui_b]).await;
    let today = calendar.today;
    world.approve_new(app, base, sanshui_a, today, 200).await;
    world
        .approve_new(app, base + 1, sanshui_b, today, 150)
        .await;
    let corrected = world.records.len() - 1;
    world.approve_corrected(app, corrected, 200).await;
    world
        .approve_new(app, base + 2, sanshui_a, today, 100)
        .await;
    world
        .approve_new(app, base + 2, sanshui_b, today, 100)
        .await;
    world
}
