//! Rolled-up team boards (`teamLeaderboard(rollUp: true)`) and `Team.serviceMinutes(
//! includeSubTeams: true)` against the raw APPROVED records of each team's tree, after a seeded
//! mix of approvals, reversals and corrections in teams two levels deep.

use std::collections::HashMap;

use feihong_tests::fixtures::REVIEW;
use feihong_tests::{TeamFixture, TestApp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::*;

pub(crate) const ROLLED_BOARD: &str = "query($area: ID, $kind: TeamKind, $period: Period!) {
  teamLeaderboard(areaId: $area, kind: $kind, period: $period, first: 100, rollUp: true) { rank minutes team { id } }
}";
pub(crate) const TREE_MINUTES: &str = "query($id: ID!, $period: Period!) {
  team(id: $id) { serviceMinutes(period: $period, includeSubTeams: true) }
}";

/// Areas whose rolled-up boards are checked (besides the whole city).
const TREE_BOARD_AREAS: [&str; 4] = [CITY, "440604", "440606", "440607"];

fn tree_minutes_shape(data: &Value) -> Value {
    data["team"]["serviceMinutes"].clone()
}

/// A sub-team of `parent` created by the parent's area admin, led by a new volunteer.
async fn sub_team(app: &TestApp, parent: &TeamFixture, name: &str, code: &str) -> TeamFixture {
    let leader = app.volunteer().await;
    let create = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }";
    let input = json!({ "name": name, "kind": "KUNG_FU_PATROL", "areaId": app.area_id(code).await, "joinPolicy": "OPEN", "parentTeamId": parent.id, "leaderId": leader.volunteer_id });
    let created = app
        .graphql_as(&parent.admin, create, json!({ "input": input }))
        .await;
    let id = created.data()["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    TeamFixture {
        id,
        leader,
        admin: parent.admin.clone(),
    }
}

impl Snapshot {
    /// The team with no parent above `team`.
    pub(crate) fn root_of(&self, team: i64) -> i64 {
        let mut current = team;
        while let Some(Some(parent)) = self.team_parent.get(&current) {
            current = *parent;
        }
        current
    }

    /// Whether `team` is `ancestor` or one of its sub-teams (however deep).
    pub(crate) fn in_tree(&self, team: i64, ancestor: i64) -> bool {
        let mut current = Some(team);
        while let Some(id) = current {
            if id == ancestor {
                return true;
            }
            current = self.team_parent.get(&id).copied().flatten();
        }
        false
    }

    /// Teams without a parent in `area` of `kind`, ranked by their whole tree's minutes.
    pub(crate) fn rolled_board(
        &self,
        period: Period,
        area: Option<i64>,
        kind: Option<&str>,
    ) -> Vec<Line> {
        let keep = |r: &ApprovedRecord| {
            let root = self.root_of(r.team);
            area.is_none_or(|area| self.lies_in(self.team_area[&root], area))
                && kind.is_none_or(|kind| self.team_kind[&root] == kind)
        };
        ranking(self.sums(period, keep, |r| self.root_of(r.team)))
    }

    pub(crate) fn tree_minutes(&self, period: Period, team: i64) -> i64 {
        self.sums(period, |r| self.in_tree(r.team, team), |_| 0)
            .get(&0)
            .copied()
            .unwrap_or(0)
    }
}

/// Two brigades with sub-teams two levels deep, a team on its own, two members each, and a
/// seeded mix of approvals, reversals and corrections; returns the teams.
async fn build_forest(app: &TestApp, calendar: &Calendar) -> Vec<TeamFixture> {
    let chancheng = app.team("禅城功夫巡逻大队", "440604", "OPEN").await;
    let zumiao = sub_team(app, &chancheng, "祖庙中队", "440604").await;
    let first = sub_team(app, &zumiao, "祖庙一分队", "440604002").await;
    let shunde = team_of_kind(app, "顺德防诈大队", "440606", "ANTI_FRAUD").await;
    let town = sub_team(app, &shunde, "顺德镇街分队", "440606003").await;
    let alone = app.team("三水甲队", "440607", "OPEN").await;
    let teams = vec![chancheng, zumiao, first, shunde, town, alone];
    let mut members = Vec::new();
    for (index, team) in teams.iter().enumerate() {
        for _ in 0..2 {
            members.push((index, app.member(team).await));
        }
    }
    let mut rng = StdRng::seed_from_u64(SEED ^ 0x7EE5);
    let mut approved: Vec<(usize, String)> = Vec::new();
    let mut day_totals: HashMap<(usize, chrono::NaiveDate), i64> = HashMap::new();
    for _ in 0..36 {
        let person = rng.random_range(0..members.len());
        let (team, member) = &members[person];
        let day = pick_day(&mut rng, calendar);
        let minutes = rng.random_range(20..=150);
        let total = day_totals.entry((person, day)).or_insert(0);
        if *total + minutes > LEADER_DAY_LIMIT {
            continue;
        }
        *total += minutes;
        let id = app
            .approved_minutes(&teams[*team], member, minutes, &ymd(day))
            .await;
        approved.push((*team, id));
        if approved.len().is_multiple_of(5) {
            // Reverse or correct an earlier approval.
            let (team, id) = approved[rng.random_range(0..approved.len())].clone();
            let variables = if rng.random_bool(0.5) {
                json!({ "id": id, "decision": "REJECT", "reason": "核对后撤回" })
            } else {
                json!({ "id": id, "decision": "APPROVE", "minutes": rng.random_range(10..=19) })
            };
            let reviewed = app.graphql_as(&teams[team].leader, REVIEW, variables).await;
            if reviewed.body.get("errors").is_none() {
                reviewed.data();
            }
        }
    }
    teams
}

pub(crate) async fn rolled_up_probes(app: &TestApp, calendar: &Calendar) -> Vec<Probe> {
    let teams = build_forest(app, calendar).await;
    let db = Snapshot::read(app).await;
    assert!(!db.approved.is_empty());
    assert_eq!(
        db.root_of(team_number(&teams[2])),
        team_number(&teams[0]),
        "two levels deep"
    );
    let mut probes = Vec::new();
    for period in PERIODS {
        for code in TREE_BOARD_AREAS.iter().map(Some).chain([None]) {
            for kind in KINDS {
                let area = match code {
                    Some(code) => Some((*code, app.area_id(code).await)),
                    None => None,
                };
                let lines = db.rolled_board(period, code.map(|c| db.area(c)), kind);
                probes.push(Probe {
                    label: format!("teamLeaderboard(rollUp, area {code:?}, kind {kind:?}, {})", period.name()),
                    session: None,
                    query: ROLLED_BOARD,
                    variables: json!({ "area": area.map(|(_, id)| id), "kind": kind, "period": period.name() }),
                    shape: team_board_shape,
                    expected: lines_json(&lines),
                });
            }
        }
        for team in &teams {
            probes.push(Probe {
                label: format!(
                    "team {}.serviceMinutes({}, includeSubTeams)",
                    team_number(team),
                    period.name()
                ),
                session: None,
                query: TREE_MINUTES,
                variables: json!({ "id": team.id, "period": period.name() }),
                shape: tree_minutes_shape,
                expected: json!(db.tree_minutes(period, team_number(team))),
            });
        }
    }
    probes
}
