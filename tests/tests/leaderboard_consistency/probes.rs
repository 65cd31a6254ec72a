//! Probes: one read through the API and the answer it must give once writes have settled.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use feihong_tests::{Session, TeamFixture, TestApp};
use serde_json::{Value, json};

use crate::*;

pub(crate) struct Probe {
    pub(crate) label: String,
    pub(crate) session: Option<Session>,
    pub(crate) query: &'static str,
    pub(crate) variables: Value,
    /// Turns the response's `data` into the shape of `expected`.
    pub(crate) shape: fn(&Value) -> Value,
    pub(crate) expected: Value,
}

pub(crate) fn board_shape(data: &Value) -> Value {
    let board = &data["leaderboard"];
    let entries: Vec<Value> = board["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            json!([
                e["rank"],
                number_in(&e["volunteer"]["id"], "Volunteer"),
                e["minutes"]
            ])
        })
        .collect();
    let viewer = match &board["viewer"] {
        Value::Null => Value::Null,
        line => json!([
            line["rank"],
            number_in(&line["volunteer"]["id"], "Volunteer"),
            line["minutes"]
        ]),
    };
    let anonymous = board["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| e["anonymous"] == true);
    json!({ "total": board["total"], "entries": entries, "viewer": viewer, "anonymous": anonymous })
}

pub(crate) fn team_board_shape(data: &Value) -> Value {
    data["teamLeaderboard"]
        .as_array()
        .expect("teamLeaderboard")
        .iter()
        .map(|e| json!([e["rank"], number_in(&e["team"]["id"], "Team"), e["minutes"]]))
        .collect()
}

pub(crate) fn my_minutes_shape(data: &Value) -> Value {
    data["me"]["serviceMinutes"].clone()
}

pub(crate) fn team_minutes_shape(data: &Value) -> Value {
    json!([
        data["team"]["serviceMinutes"],
        data["team"]["activeMembers"]
    ])
}

impl Probe {
    /// `leaderboard(scope, period)` read by `viewer` must list exactly `lines`.
    pub(crate) fn board(
        label: String,
        viewer: Option<&Session>,
        scope: Value,
        period: Period,
        lines: &[Line],
    ) -> Self {
        let own = viewer.and_then(|session| {
            let number = volunteer_number(session);
            lines.iter().find(|line| line.id == number)
        });
        let expected = json!({
            "total": lines.len(),
            "entries": lines_json(lines),
            "viewer": own.map_or(Value::Null, |l| json!([l.rank, l.id, l.minutes])),
            "anonymous": false,
        });
        Self {
            label: format!(
                "leaderboard({label}, {}) as {:?}",
                period.name(),
                viewer.map(volunteer_number)
            ),
            session: viewer.cloned(),
            query: BOARD,
            variables: json!({ "scope": scope, "period": period.name() }),
            shape: board_shape,
            expected,
        }
    }

    pub(crate) fn team_board(
        area: Option<(&str, String)>,
        kind: Option<&str>,
        period: Period,
        lines: &[Line],
    ) -> Self {
        let code = area.as_ref().map(|(code, _)| *code);
        Self {
            label: format!(
                "teamLeaderboard(area {code:?}, kind {kind:?}, {})",
                period.name()
            ),
            session: None,
            query: TEAM_BOARD,
            variables: json!({ "area": area.map(|(_, id)| id), "kind": kind, "period": period.name() }),
            shape: team_board_shape,
            expected: lines_json(lines),
        }
    }

    pub(crate) fn my_minutes(session: &Session, period: Period, minutes: i64) -> Self {
        Self {
            label: format!(
                "me.serviceMinutes({}) of volunteer {}",
                period.name(),
                volunteer_number(session)
            ),
            session: Some(session.clone()),
            query: MY_MINUTES,
            variables: json!({ "period": period.name() }),
            shape: my_minutes_shape,
            expected: json!(minutes),
        }
    }

    pub(crate) fn team_minutes(
        team: &TeamFixture,
        period: Period,
        (minutes, active): (i64, i64),
    ) -> Self {
        Self {
            label: format!(
                "team {}: [serviceMinutes, activeMembers]({})",
                team_number(team),
                period.name()
            ),
            session: None,
            query: TEAM_MINUTES,
            variables: json!({ "id": team.id, "period": period.name() }),
            shape: team_minutes_shape,
            expected: json!([minutes, active]),
        }
    }

    pub(crate) async fn mismatch(&self, app: &TestApp) -> Option<String> {
        let response = match &self.session {
            Some(session) => {
                app.graphql_as(session, self.query, self.variables.clone())
                    .await
            }
            None => app.graphql(self.query, self.variables.clone()).await,
        };
        let actual = (self.shape)(response.data());
        (actual != self.expected).then(|| {
            format!(
                "{}:\n    expected {}\n    got      {}",
                self.label, self.expected, actual
            )
        })
    }
}

/// Polls every probe until all answer as expected, or fails listing those that do not.
pub(crate) async fn assert_settles(app: &TestApp, probes: &[Probe]) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let mut wrong = Vec::new();
        for probe in probes {
            if let Some(mismatch) = probe.mismatch(app).await {
                wrong.push(mismatch);
            }
        }
        if wrong.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{} of {} reads still disagree with the database after {SETTLE:?}:\n{}",
                wrong.len(),
                probes.len(),
                wrong.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every read the invariant covers, with the answer the database's rows imply.
pub(crate) async fn consistency_probes(app: &TestApp, world: &World, db: &Snapshot) -> Vec<Probe> {
    let mut probes = Vec::new();
    let people = &world.people;
    let mut area_ids = HashMap::new();
    for code in BOARD_AREAS.iter().chain(&TEAM_BOARD_AREAS) {
        area_ids.insert(*code, app.area_id(code).await);
    }
    let mut next_viewer = 0usize;
    let mut rotate = move || {
        next_viewer += 1;
        &people[next_viewer % people.len()]
    };
    for period in PERIODS {
        let city = db.city_board(period);
        for person in people {
            probes.push(Probe::board(
                "city".into(),
                Some(person),
                json!({ "city": true }),
                period,
                &city,
            ));
        }
        probes.push(Probe::board(
            "city".into(),
            None,
            json!({ "city": true }),
            period,
            &city,
        ));

        for code in BOARD_AREAS {
            let lines = db.area_board(period, db.area(code));
            let scope = json!({ "areaId": area_ids[code] });
            probes.push(Probe::board(
                format!("area {code}"),
                Some(rotate()),
                scope,
                period,
                &lines,
            ));
        }
        for team in &world.teams {
            let lines = db.team_members_board(period, team_number(team));
            let scope = json!({ "teamId": team.id });
            // A member of the team (or whoever is next) reads it, and so does someone else.
            let member = lines
                .first()
                .and_then(|line| people.iter().find(|p| volunteer_number(p) == line.id));
            for viewer in [member.unwrap_or_else(|| rotate()), rotate()] {
                let label = format!("team {}", team_number(team));
                probes.push(Probe::board(
                    label,
                    Some(viewer),
                    scope.clone(),
                    period,
                    &lines,
                ));
            }
        }

        for kind in KINDS {
            probes.push(Probe::team_board(
                None,
                kind,
                period,
                &db.team_board(period, None, kind),
            ));
            for code in TEAM_BOARD_AREAS {
                let lines = db.team_board(period, Some(db.area(code)), kind);
                let area = Some((code, area_ids[code].clone()));
                probes.push(Probe::team_board(area, kind, period, &lines));
            }
        }

        for person in people {
            let minutes = db.volunteer_minutes(period, volunteer_number(person));
            probes.push(Probe::my_minutes(person, period, minutes));
        }
        for team in &world.teams {
            probes.push(Probe::team_minutes(
                team,
                period,
                db.team_minutes(period, team_number(team)),
            ));
        }
    }
    probes
}

pub(crate) async fn boundary_probes(
    app: &TestApp,
    calendar: &Calendar,
    team: &TeamFixture,
    both: &Session,
    last_month_only: &Session,
) -> Vec<Probe> {
    let (b, l) = (volunteer_number(both), volunteer_number(last_month_only));
    let january = calendar.today.month() == 1;
    let this_week = |day: NaiveDate| Period::Week.contains(day, calendar.today);
    // Minutes per period, written out by hand: (both, last month only).
    let last_day_this_week = this_week(calendar.last_of_previous_month);
    let week_both = if this_week(calendar.first_of_month) {
        40
    } else {
        0
    } + if last_day_this_week { 100 } else { 0 };
    let week_last = if last_day_this_week { 250 } else { 0 };
    let minutes = |period: Period| -> (i64, i64) {
        match period {
            Period::AllTime => (140, 250),
            Period::Year if january => (40, 0),
            Period::Year => (140, 250),
            Period::Month => (40, 0),
            Period::Week => (week_both, week_last),
        }
    };
    let mut probes = Vec::new();
    for period in PERIODS {
        let (mb, ml) = minutes(period);
        let lines = ranking(HashMap::from([(b, mb), (l, ml)]));
        for scope in [
            json!({ "city": true }),
            json!({ "areaId": app.area_id("440604").await }),
            json!({ "teamId": team.id }),
        ] {
            for viewer in [both, last_month_only] {
                probes.push(Probe::board(
                    scope.to_string(),
                    Some(viewer),
                    scope.clone(),
                    period,
                    &lines,
                ));
            }
        }
        probes.push(Probe::my_minutes(both, period, mb));
        probes.push(Probe::my_minutes(last_month_only, period, ml));
        let active = i64::from(mb > 0) + i64::from(ml > 0);
        probes.push(Probe::team_minutes(team, period, (mb + ml, active)));
        let team_lines = ranking(HashMap::from([(team_number(team), mb + ml)]));
        probes.push(Probe::team_board(None, None, period, &team_lines));
    }
    probes
}
