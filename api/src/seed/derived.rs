//! Tallies and statistics rollups, computed from the raw rows exactly as the services define
//! them (`domain/src/tallies`, `domain/src/stats/rollup.rs`). The statements run in two chains
//! at once, one connection each (the tallies of volunteers and the team days; the tallies of
//! members and the volunteer days), so both cores work: PostgreSQL runs no `INSERT … SELECT`
//! in parallel by itself.

use chrono::NaiveDate;
use feihong_domain::tallies::Period;
use sea_orm::DatabaseConnection;

use super::generate::{exec, step};

/// A labelled statement.
type Step = (&'static str, String);

/// Tallies and statistics rollups (see the module's description). Tallies are written for the
/// periods kept today in the city's time zone (`Period::kept_keys`), as reviews write them.
pub async fn derived(db: &DatabaseConnection, timezone: &str) -> anyhow::Result<()> {
    let today = feihong_domain::tallies::today(timezone.parse().map_err(anyhow::Error::msg)?);
    exec(
        db,
        "TRUNCATE tallies, leaderboard_outbox, stats_team_days, stats_volunteer_days, \
         stats_area_days, stats_place_periods, stats_dirty",
    )
    .await?;
    let [volunteer, team, member] = tallies(today);
    let [team_days, volunteer_days, area_days] = stats_days(timezone);
    tokio::try_join!(
        chain(db, [volunteer, team, team_days, area_days]),
        chain(db, [member, volunteer_days]),
    )?;
    // The place rows (sums and active-volunteer bitmaps) are built by the statistics code
    // afterwards, all at once (`Stats::rebuild_places`): no place marks.
    Ok(())
}

/// Runs `steps` one after the other.
async fn chain<const N: usize>(db: &DatabaseConnection, steps: [Step; N]) -> anyhow::Result<()> {
    for (label, sql) in steps {
        step(db, label, &sql).await?;
    }
    Ok(())
}

/// The periods whose tallies are kept on `today`, as a relation `kept(period, period_key)`.
fn kept_periods(today: NaiveDate) -> String {
    let pairs: Vec<String> = Period::ALL
        .iter()
        .flat_map(|period| {
            period
                .kept_keys(today)
                .into_iter()
                .map(move |key| format!("('{}', '{key}')", period.code()))
        })
        .collect();
    format!("(VALUES {}) kept(period, period_key)", pairs.join(", "))
}

/// The tallies of volunteers, teams and members, per kept period.
fn tallies(today: NaiveDate) -> [Step; 3] {
    let periods = format!(
        "CROSS JOIN LATERAL (VALUES ('ALL', 'all'), \
           ('YEAR', to_char(r.service_date, 'YYYY')), \
           ('MONTH', to_char(r.service_date, 'YYYY-MM')), \
           ('WEEK', to_char(r.service_date, 'IYYY-\"W\"IW'))) p(period, period_key) \
         JOIN {} ON kept.period = p.period AND kept.period_key = p.period_key",
        kept_periods(today)
    );
    [
        (
            "tallies VOLUNTEER",
            format!(
                "INSERT INTO tallies (kind, volunteer_id, team_id, area_id, team_kind, period, period_key, \
               minutes, version, updated_at) \
             SELECT 'VOLUNTEER', r.volunteer_id, 0, v.area_id, '', p.period, p.period_key, \
               sum(r.minutes), 1, now() \
             FROM service_records r {periods} JOIN volunteers v ON v.id = r.volunteer_id \
             WHERE r.status = 'APPROVED' \
             GROUP BY r.volunteer_id, v.area_id, p.period, p.period_key"
            ),
        ),
        (
            "tallies TEAM",
            format!(
                "INSERT INTO tallies (kind, volunteer_id, team_id, area_id, team_kind, period, period_key, \
               minutes, version, updated_at) \
             SELECT 'TEAM', 0, r.team_id, t.area_id, t.kind, p.period, p.period_key, \
               sum(r.minutes), 1, now() \
             FROM service_records r {periods} JOIN teams t ON t.id = r.team_id \
             WHERE r.status = 'APPROVED' \
             GROUP BY r.team_id, t.area_id, t.kind, p.period, p.period_key"
            ),
        ),
        (
            "tallies MEMBER",
            format!(
                "INSERT INTO tallies (kind, volunteer_id, team_id, area_id, team_kind, period, period_key, \
               minutes, version, updated_at) \
             SELECT 'MEMBER', r.volunteer_id, r.team_id, t.area_id, t.kind, p.period, p.period_key, \
               sum(r.minutes), 1, now() \
             FROM service_records r {periods} JOIN teams t ON t.id = r.team_id \
             WHERE r.status = 'APPROVED' \
             GROUP BY r.volunteer_id, r.team_id, t.area_id, t.kind, p.period, p.period_key"
            ),
        ),
    ]
}

/// The statistics day tables: per (team, day), per (team, day, volunteer), per (area, day).
fn stats_days(timezone: &str) -> [Step; 3] {
    // (district, town) of an area, as `stats::rollup::placement` (the seed has no communities).
    let placement = "pl AS (SELECT id, \
           CASE level WHEN 'DISTRICT' THEN id WHEN 'TOWN' THEN parent_id ELSE 0 END AS district_id, \
           CASE level WHEN 'TOWN' THEN id ELSE 0 END AS town_id FROM areas)";
    [
        (
            "stats_team_days",
            format!(
                "WITH {placement}, \
             ev AS (SELECT id, team_id, (starts_at AT TIME ZONE '{timezone}')::date AS day \
                    FROM events WHERE status IN ('PUBLISHED', 'COMPLETED')), \
             su AS (SELECT event_id, \
                      count(*) FILTER (WHERE status IN ('CONFIRMED', 'WAITLISTED', 'NO_SHOW')) AS sign_ups, \
                      count(*) FILTER (WHERE status = 'NO_SHOW') AS no_shows \
                    FROM sign_ups GROUP BY event_id), \
             att AS (SELECT event_id, count(*) AS attended FROM attendances GROUP BY event_id), \
             held AS (SELECT ev.team_id, ev.day, count(*) AS events_held, \
                        COALESCE(sum(su.sign_ups), 0) AS sign_ups, COALESCE(sum(su.no_shows), 0) AS no_shows, \
                        COALESCE(sum(att.attended), 0) AS attended \
                      FROM ev LEFT JOIN su ON su.event_id = ev.id LEFT JOIN att ON att.event_id = ev.id \
                      GROUP BY ev.team_id, ev.day), \
             served AS (SELECT team_id, service_date AS day, sum(minutes) AS minutes \
                        FROM service_records WHERE status = 'APPROVED' GROUP BY team_id, service_date) \
             INSERT INTO stats_team_days (day, week_key, month_key, area_id, district_id, town_id, \
               team_id, team_kind, events_held, sign_ups, attended, no_shows, approved_minutes) \
             SELECT k.day, to_char(k.day, 'IYYY-\"W\"IW'), to_char(k.day, 'YYYY-MM'), t.area_id, \
               pl.district_id, pl.town_id, t.id, t.kind, COALESCE(h.events_held, 0), \
               COALESCE(h.sign_ups, 0), COALESCE(h.attended, 0), COALESCE(h.no_shows, 0), \
               COALESCE(s.minutes, 0) \
             FROM held h FULL JOIN served s ON s.team_id = h.team_id AND s.day = h.day \
             CROSS JOIN LATERAL (SELECT COALESCE(h.team_id, s.team_id) AS team_id, \
                                        COALESCE(h.day, s.day) AS day) k \
             JOIN teams t ON t.id = k.team_id JOIN pl ON pl.id = t.area_id"
            ),
        ),
        (
            "stats_volunteer_days",
            format!(
                "WITH {placement} \
             INSERT INTO stats_volunteer_days (day, week_key, month_key, area_id, district_id, town_id, \
               team_id, volunteer_id, team_kind) \
             SELECT d.day, to_char(d.day, 'IYYY-\"W\"IW'), to_char(d.day, 'YYYY-MM'), t.area_id, \
               pl.district_id, pl.town_id, t.id, d.volunteer_id, t.kind \
             FROM (SELECT DISTINCT team_id, service_date AS day, volunteer_id FROM service_records \
                   WHERE status = 'APPROVED' AND minutes > 0) d \
             JOIN teams t ON t.id = d.team_id JOIN pl ON pl.id = t.area_id"
            ),
        ),
        (
            "stats_area_days",
            format!(
                "WITH {placement} \
             INSERT INTO stats_area_days (day, week_key, month_key, area_id, district_id, town_id, \
               new_volunteers) \
             SELECT v.day, to_char(v.day, 'IYYY-\"W\"IW'), to_char(v.day, 'YYYY-MM'), v.area_id, \
               pl.district_id, pl.town_id, count(*) \
             FROM (SELECT area_id, (created_at AT TIME ZONE '{timezone}')::date AS day FROM volunteers) v \
             JOIN pl ON pl.id = v.area_id GROUP BY v.day, v.area_id, pl.district_id, pl.town_id"
            ),
        ),
    ]
}
