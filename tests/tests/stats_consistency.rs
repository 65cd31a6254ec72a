//! Participation statistics equal a direct computation over the raw rows, for a random dataset,
//! every dimension and pairs of them, over ranges crossing month and year boundaries in the
//! city's time zone.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use feihong_domain::stats::team_kind_label;
use feihong_tests::fixtures::{JOIN_TEAM, REVIEW};
use feihong_tests::{EventSpec, Session, TeamFixture, TestApp, on_every_backend};
use rand::{Rng as _, SeedableRng as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

const STATS: &str = "query($area: ID!, $from: Date!, $to: Date!, $by: [StatsDimension!]!) {
  participationStats(areaId: $area, from: $from, to: $to, groupBy: $by) {
    totals { activeVolunteers newVolunteers eventsHeld signUps attended noShows approvedMinutes }
    rows { key activeVolunteers newVolunteers eventsHeld signUps attended noShows approvedMinutes }
  }
}";
const METRICS: [&str; 7] = [
    "activeVolunteers",
    "newVolunteers",
    "eventsHeld",
    "signUps",
    "attended",
    "noShows",
    "approvedMinutes",
];

/// Metric name → value.
type Figures = BTreeMap<&'static str, i64>;
/// Group key (labels) → figures.
type Rows = BTreeMap<Vec<String>, Figures>;

fn shanghai(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Asia::Shanghai).date_naive()
}

/// What the raw rows say, with everything needed to place each fact in any group.
struct Fact {
    day: NaiveDate,
    area: i64,
    team: Option<i64>,
    volunteer: Option<i64>,
    metric: &'static str,
    amount: i64,
}

struct Areas {
    rows: HashMap<i64, (String, String, Option<i64>)>,
}

impl Areas {
    /// (district name, town name) of an area, as the statistics label them.
    fn placement(&self, area: i64) -> (String, String) {
        let (name, level, parent) = &self.rows[&area];
        match level.as_str() {
            "DISTRICT" => (name.clone(), "区直属".to_owned()),
            "TOWN" => (self.rows[&parent.unwrap()].0.clone(), name.clone()),
            _ => ("市直属".to_owned(), "区直属".to_owned()),
        }
    }

    fn within(&self, area: i64, ancestor: i64) -> bool {
        let mut current = Some(area);
        while let Some(id) = current {
            if id == ancestor {
                return true;
            }
            current = self.rows[&id].2;
        }
        false
    }
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
}

async fn raw_facts(db: &DatabaseConnection) -> (Vec<Fact>, Areas, HashMap<i64, (String, String)>) {
    let mut areas = HashMap::new();
    for row in rows(db, "SELECT id, name, level, parent_id FROM areas").await {
        areas.insert(
            row.try_get::<i64>("", "id").unwrap(),
            (
                row.try_get("", "name").unwrap(),
                row.try_get("", "level").unwrap(),
                row.try_get("", "parent_id").unwrap(),
            ),
        );
    }
    let mut teams = HashMap::new();
    let mut team_area = HashMap::new();
    for row in rows(db, "SELECT id, name, kind, area_id FROM teams").await {
        let id: i64 = row.try_get("", "id").unwrap();
        teams.insert(
            id,
            (
                row.try_get::<String>("", "name").unwrap(),
                row.try_get::<String>("", "kind").unwrap(),
            ),
        );
        team_area.insert(id, row.try_get::<i64>("", "area_id").unwrap());
    }
    let mut facts = Vec::new();
    for row in rows(db, "SELECT volunteer_id, team_id, minutes, service_date FROM service_records WHERE status = 'APPROVED'").await {
        let team: i64 = row.try_get("", "team_id").unwrap();
        let fact = |metric, amount| Fact { day: row.try_get("", "service_date").unwrap(), area: team_area[&team], team: Some(team), volunteer: Some(row.try_get("", "volunteer_id").unwrap()), metric, amount };
        facts.push(fact("approvedMinutes", i64::from(row.try_get::<i32>("", "minutes").unwrap())));
        facts.push(fact("activeVolunteers", 1));
    }
    let events = rows(
        db,
        "SELECT id, team_id, starts_at FROM events WHERE status IN ('PUBLISHED', 'COMPLETED')",
    )
    .await;
    let mut held = HashMap::new();
    let now = Utc::now();
    for row in events {
        let team: i64 = row.try_get("", "team_id").unwrap();
        // Held: started by now (and not cancelled); upcoming events do not count yet.
        let starts_at: DateTime<Utc> = row.try_get("", "starts_at").unwrap();
        if starts_at > now {
            continue;
        }
        let day = shanghai(starts_at);
        held.insert(row.try_get::<i64>("", "id").unwrap(), (team, day));
        facts.push(Fact {
            day,
            area: team_area[&team],
            team: Some(team),
            volunteer: None,
            metric: "eventsHeld",
            amount: 1,
        });
    }
    for row in rows(db, "SELECT event_id, status FROM sign_ups WHERE status IN ('CONFIRMED', 'WAITLISTED', 'NO_SHOW')").await {
        if let Some((team, day)) = held.get(&row.try_get::<i64>("", "event_id").unwrap()) {
            facts.push(Fact { day: *day, area: team_area[team], team: Some(*team), volunteer: None, metric: "signUps", amount: 1 });
            if row.try_get::<String>("", "status").unwrap() == "NO_SHOW" {
                facts.push(Fact { day: *day, area: team_area[team], team: Some(*team), volunteer: None, metric: "noShows", amount: 1 });
            }
        }
    }
    for row in rows(db, "SELECT event_id FROM attendances").await {
        if let Some((team, day)) = held.get(&row.try_get::<i64>("", "event_id").unwrap()) {
            facts.push(Fact {
                day: *day,
                area: team_area[team],
                team: Some(*team),
                volunteer: None,
                metric: "attended",
                amount: 1,
            });
        }
    }
    for row in rows(db, "SELECT area_id, created_at FROM volunteers").await {
        facts.push(Fact {
            day: shanghai(row.try_get("", "created_at").unwrap()),
            area: row.try_get("", "area_id").unwrap(),
            team: None,
            volunteer: None,
            metric: "newVolunteers",
            amount: 1,
        });
    }
    (facts, Areas { rows: areas }, teams)
}

/// The expected rows (label key → metric → value) and totals, computed from the facts.
fn expected(
    facts: &[Fact],
    areas: &Areas,
    teams: &HashMap<i64, (String, String)>,
    scope: i64,
    from: NaiveDate,
    to: NaiveDate,
    dims: &[&str],
) -> (Rows, Figures) {
    let mut sums: BTreeMap<Vec<String>, BTreeMap<&'static str, i64>> = BTreeMap::new();
    let mut distinct: BTreeMap<Vec<String>, std::collections::BTreeSet<i64>> = BTreeMap::new();
    let mut totals: BTreeMap<&'static str, i64> = BTreeMap::new();
    let mut total_distinct = std::collections::BTreeSet::new();
    for fact in facts
        .iter()
        .filter(|f| f.day >= from && f.day <= to && areas.within(f.area, scope))
    {
        if fact.metric == "activeVolunteers" {
            total_distinct.insert(fact.volunteer.unwrap());
        } else {
            *totals.entry(fact.metric).or_default() += fact.amount;
        }
        if fact.team.is_none() && dims.iter().any(|d| *d == "TEAM_KIND" || *d == "TEAM") {
            continue; // registrations have no team
        }
        let (district, town) = areas.placement(fact.area);
        let key: Vec<String> = dims
            .iter()
            .map(|dim| match *dim {
                "DISTRICT" => district.clone(),
                "TOWN" => town.clone(),
                "TEAM_KIND" => team_kind_label(&teams[&fact.team.unwrap()].1).to_owned(),
                "TEAM" => teams[&fact.team.unwrap()].0.clone(),
                "DAY" => fact.day.format("%Y-%m-%d").to_string(),
                "WEEK" => format!(
                    "{}-W{:02}",
                    fact.day.iso_week().year(),
                    fact.day.iso_week().week()
                ),
                _ => fact.day.format("%Y-%m").to_string(),
            })
            .collect();
        if fact.metric == "activeVolunteers" {
            distinct
                .entry(key)
                .or_default()
                .insert(fact.volunteer.unwrap());
        } else {
            *sums.entry(key).or_default().entry(fact.metric).or_default() += fact.amount;
        }
    }
    for (key, volunteers) in distinct {
        sums.entry(key)
            .or_default()
            .insert("activeVolunteers", volunteers.len() as i64);
    }
    totals.insert("activeVolunteers", total_distinct.len() as i64);
    (sums, totals)
}

fn served(stats: &Value) -> (Rows, Figures) {
    let figures = |row: &Value| {
        METRICS
            .iter()
            .map(|m| (*m, row[m].as_i64().unwrap()))
            .filter(|(_, v)| *v != 0)
            .collect::<BTreeMap<_, _>>()
    };
    let rows = stats["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["key"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_owned())
                    .collect(),
                figures(row),
            )
        })
        .filter(|(_, f): &(Vec<String>, BTreeMap<_, _>)| !f.is_empty())
        .collect();
    (rows, figures(&stats["totals"]))
}

fn without_zeros(mut rows: Rows) -> Rows {
    for figures in rows.values_mut() {
        figures.retain(|_, v| *v != 0);
    }
    rows.retain(|_, f| !f.is_empty());
    rows
}

async fn seed(app: &TestApp) -> Vec<(TeamFixture, Vec<Session>)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261128);
    let mut teams = Vec::new();
    for (name, area, kind_label) in [
        ("禅城功夫队", "440604", ""),
        ("祖庙街道护校队", "440604001", ""),
        ("顺德反诈队", "440606", ""),
        ("大良网格队", "440606001", ""),
    ] {
        let _ = kind_label;
        let team = app.team(name, area, "OPEN").await;
        let mut members = Vec::new();
        for _ in 0..3 {
            members.push(app.member(&team).await);
        }
        teams.push((team, members));
    }
    let today = shanghai(Utc::now());
    // Approved minutes on random days of the last year: across month ends and the new year.
    let mut used: HashMap<(String, NaiveDate), i64> = HashMap::new();
    for _ in 0..40 {
        let (team, members) = &teams[rng.random_range(0..teams.len())];
        let member = &members[rng.random_range(0..members.len())];
        let day = today - chrono::Duration::days(rng.random_range(0..360));
        let minutes = rng.random_range(10..200);
        let total = used.entry((member.volunteer_id.clone(), day)).or_default();
        if *total + minutes > 480 {
            continue;
        }
        *total += minutes;
        app.approved_minutes(team, member, minutes, &day.format("%Y-%m-%d").to_string())
            .await;
    }
    // One volunteer serving two teams (a district's and a town's) in the same months: counted
    // once wherever both teams fall in one group.
    let both = &teams[0].1[0];
    app.graphql_as(both, JOIN_TEAM, json!({ "id": teams[1].0.id }))
        .await
        .data();
    for back in [3, 40, 41] {
        let day = (today - chrono::Duration::days(back))
            .format("%Y-%m-%d")
            .to_string();
        app.approved_minutes(&teams[0].0, both, 30, &day).await;
        app.approved_minutes(&teams[1].0, both, 45, &day).await;
    }
    // A volunteer active only on the last day of last year (a year's set must count them).
    let last_year = NaiveDate::from_ymd_opt(today.year() - 1, 12, 31).unwrap();
    let newcomer = app.member(&teams[3].0).await;
    app.approved_minutes(
        &teams[3].0,
        &newcomer,
        60,
        &last_year.format("%Y-%m-%d").to_string(),
    )
    .await;
    // A volunteer whose only service is reversed is active nowhere.
    let reversed = &teams[2].1[2];
    let day = (today - chrono::Duration::days(70))
        .format("%Y-%m-%d")
        .to_string();
    let record = app.approved_minutes(&teams[2].0, reversed, 50, &day).await;
    let reject =
        json!({ "id": record, "decision": "REJECT", "reason": "录入有误 entered by mistake" });
    let rejected = app
        .graphql_as(&teams[2].0.leader, REVIEW, reject.clone())
        .await;
    if rejected.body.get("errors").is_some() {
        app.graphql_as(&teams[2].0.admin, REVIEW, reject)
            .await
            .data();
    }
    // Events in the coming days, some signed up for, and a past one.
    for (index, (team, members)) in teams.iter().enumerate() {
        let event = app
            .event(
                &team.leader,
                &team.id,
                EventSpec {
                    starts_in: 60 * 24 * (index as i64 + 1),
                    ..Default::default()
                },
            )
            .await;
        for member in members.iter().take(index + 1) {
            app.sign_up(member, &event, None).await.data();
        }
        app.event(
            &team.leader,
            &team.id,
            EventSpec {
                starts_in: -30,
                lasts: 120,
                ..Default::default()
            },
        )
        .await;
    }
    teams
}

on_every_backend! {
    async fn statistics_equal_a_direct_computation_over_the_raw_rows(app: TestApp) {
        seed(&app).await;
        let admin = app.area_admin("440600").await;
        let db = app.database().await;
        let today = shanghai(Utc::now());
        let ranges = [
            (today - chrono::Duration::days(400), today + chrono::Duration::days(30)),
            (NaiveDate::from_ymd_opt(today.year() - 1, 12, 15).unwrap(), NaiveDate::from_ymd_opt(today.year(), 1, 20).unwrap()),
            (today.with_day(1).unwrap() - chrono::Duration::days(10), today + chrono::Duration::days(5)),
            // A whole year, whole months and days.
            (NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap(), today),
            // Whole months only, answered from the monthly sets alone.
            (
                today.with_day(1).unwrap().checked_sub_months(chrono::Months::new(7)).unwrap(),
                today.with_day(1).unwrap() - chrono::Duration::days(1),
            ),
        ];
        let dimension_sets: Vec<Vec<&str>> = vec![
            vec![], vec!["DISTRICT"], vec!["TOWN"], vec!["TEAM_KIND"], vec!["TEAM"], vec!["DAY"], vec!["WEEK"], vec!["MONTH"],
            vec!["DISTRICT", "MONTH"], vec!["TOWN", "WEEK"], vec!["TEAM_KIND", "DISTRICT"], vec!["TEAM", "DAY"], vec!["MONTH", "TEAM_KIND"],
        ];
        let city = app.area_id("440600").await;
        let chancheng = app.area_id("440604").await;
        let zumiao = app.area_id("440604001").await;
        let (facts, areas, teams) = raw_facts(&db).await;
        let root = areas.rows.iter().find(|(_, (_, level, _))| level == "CITY").map(|(id, _)| *id).unwrap();
        let chancheng_id = areas.rows.iter().find(|(_, (name, _, _))| name == "禅城区").map(|(id, _)| *id).unwrap();
        let zumiao_id = areas.rows.iter().find(|(_, (name, _, _))| name == "祖庙街道").map(|(id, _)| *id).unwrap();
        // Wait (up to 30 s: a loaded machine's worker lags) for the rollups, and the monthly sets
        // built after them, to follow the writes.
        let (_, want) = expected(&facts, &areas, &teams, root, ranges[4].0, ranges[4].1, &[]);
        let (_, want_all) = expected(&facts, &areas, &teams, root, ranges[3].0, ranges[3].1, &[]);
        let settled = |totals: &Value, want: &BTreeMap<&str, i64>| {
            ["approvedMinutes", "eventsHeld", "newVolunteers", "activeVolunteers"]
                .iter()
                .all(|metric| totals[*metric] == want.get(metric).copied().unwrap_or(0))
        };
        for _ in 0..300 {
            let ask = |range: (NaiveDate, NaiveDate)| app.graphql_as(&admin, STATS, json!({ "area": city, "from": range.0.to_string(), "to": range.1.to_string(), "by": [] }));
            let (whole, all) = (ask(ranges[4]).await, ask(ranges[3]).await);
            if settled(&whole.data()["participationStats"]["totals"], &want) && settled(&all.data()["participationStats"]["totals"], &want_all) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Every scope, range and grouping equals the direct computation, once the worker has
        // also caught up with the towns and districts (it may trail the city under load).
        let mut mismatch = None;
        for _ in 0..60 {
            mismatch = None;
            'compare: for (scope_gid, scope) in [(&city, root), (&chancheng, chancheng_id), (&zumiao, zumiao_id)] {
                for (from, to) in ranges {
                    for dims in &dimension_sets {
                        let answer = app.graphql_as(&admin, STATS, json!({ "area": scope_gid, "from": from.to_string(), "to": to.to_string(), "by": dims })).await;
                        let (rows, totals) = served(&answer.data()["participationStats"]);
                        let (want_rows, want_totals) = expected(&facts, &areas, &teams, scope, from, to, dims);
                        let want_totals: BTreeMap<_, _> = want_totals.into_iter().filter(|(_, v)| *v != 0).collect();
                        if totals != want_totals {
                            mismatch = Some(format!("totals {from}..{to} {dims:?} in {scope_gid}: {totals:?} != {want_totals:?}"));
                            break 'compare;
                        }
                        let want_rows = without_zeros(want_rows);
                        if rows != want_rows {
                            mismatch = Some(format!("rows {from}..{to} {dims:?} in {scope_gid}: {rows:?} != {want_rows:?}"));
                            break 'compare;
                        }
                    }
                }
            }
            if mismatch.is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(mismatch.is_none(), "{}", mismatch.unwrap_or_default());
    }
}
