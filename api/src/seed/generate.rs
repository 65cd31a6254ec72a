//! Generates the Foshan-shaped dataset (`feihong seed`, and the benchmark) straight into PostgreSQL with `INSERT … SELECT
//! generate_series(…)`, then derives the tables the services keep (tallies, statistics rollups)
//! from the raw rows with SQL, so they agree with what the services would have written.
//!
//! Shape (at `scale` × Foshan): volunteers live in towns; each volunteer is an ACTIVE member of
//! one team (`team = idx % teams`, so every team has ≈ 198 members; the first member of each team
//! leads it) and 20 % of a second one. Events belong to teams, are spread over the last 365 days
//! and the next 30, between 08:00 and 21:30 local time, around their town's point. Each event has
//! 1–26 sign-ups (≈ 13.3 on average) from its team's members. Past CONFIRMED sign-ups were
//! attended and carry a service record (APPROVED, or PENDING for 3 % of the last fortnight's).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};

/// Foshan at scale 1.0.
pub const FULL_VOLUNTEERS: f64 = 1_680_000.0;
pub const FULL_TEAMS: f64 = 8_500.0;
pub const FULL_EVENTS: f64 = 900_000.0;

/// Generated volunteers have ids above this; accounts registered through the API stay below.
pub const VOLUNTEER_ID_OFFSET: i64 = 1_000;

/// A syntactically valid argon2id PHC string that no password matches (nobody logs in as a
/// generated volunteer; hashing 1.68 M real passwords would take hours).
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2gtc2FsdC0xNmJ5dA$ZmVpaG9uZy1iZW5jaC1kdW1teS1oYXNoLTMyYnl0ZXM";

#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub volunteers: i64,
    pub teams: i64,
    pub events: i64,
}

impl Sizes {
    pub fn at(scale: f64) -> Self {
        let count = |full: f64| ((full * scale).round() as i64).max(1);
        let teams = count(FULL_TEAMS).max(5);
        Self {
            // At least 30 members per team, so an event's 26 sign-ups are distinct members.
            volunteers: count(FULL_VOLUNTEERS).max(teams * 30),
            teams,
            events: count(FULL_EVENTS),
        }
    }

    /// Members per team in the primary-team layout.
    fn members_per_team(&self) -> i64 {
        self.volunteers / self.teams
    }
}

pub async fn exec(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    Ok(db
        .execute_unprepared(sql)
        .await
        .with_context(|| format!("while running:\n{sql}"))?
        .rows_affected())
}

pub async fn scalar(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .with_context(|| format!("while running:\n{sql}"))?
        .context("no row")?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// Every distinct one- and two-character piece (lower-cased, none holding a space) of the texts
/// `bodies` (an array expression over `f`) of each row `f` (with an `id`) of `source`, into
/// `table (gram, owner)`: PostgreSQL's spelling of what the domain's `grams` module writes.
/// Pieces are made distinct per row, which needs no sort of the whole table.
fn grams_insert(table: &str, owner: &str, source: &str, bodies: &str) -> String {
    format!(
        "INSERT INTO {table} (gram, {owner}) \
         SELECT g.gram, f.id FROM ({source}) f \
         CROSS JOIN LATERAL (SELECT DISTINCT lower(substr(b.body, i, l.w)) AS gram \
           FROM unnest({bodies}) AS b(body) \
           CROSS JOIN LATERAL generate_series(1, length(b.body)) i \
           CROSS JOIN (VALUES (1), (2)) AS l(w) \
           WHERE i + l.w - 1 <= length(b.body) AND substr(b.body, i, l.w) NOT LIKE '% %') g \
         ON CONFLICT DO NOTHING"
    )
}

/// A phase's spinner (on a terminal; hidden otherwise), with its elapsed time.
pub fn phase_bar(label: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(label.to_owned());
    if let Ok(style) = ProgressStyle::with_template("  {spinner} {msg:<34} {elapsed}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs `sql` as one phase, printing how long it took and how many rows it wrote.
pub(super) async fn step(db: &DatabaseConnection, label: &str, sql: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = phase_bar(label);
    let rows = exec(db, sql).await;
    bar.finish_and_clear();
    println!(
        "  {label:<34} {:>11} rows {:>7.1} s",
        rows?,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The raw rows: volunteers, teams, memberships, events, sign-ups, attendances, records.
pub async fn raw(db: &DatabaseConnection, sizes: Sizes, timezone: &str) -> anyhow::Result<()> {
    // A deterministic uniform number in [0, 1) per (row, purpose): the dataset is the same on
    // every run at the same scale.
    exec(
        db,
        "CREATE OR REPLACE FUNCTION seed_u(seed bigint, salt int) RETURNS double precision \
         LANGUAGE sql IMMUTABLE PARALLEL SAFE AS \
         $$ SELECT ((hashint8(seed * 1000003 + salt)::bigint & 2147483647) % 1000000) / 1000000.0 $$",
    )
    .await?;
    // Per-volunteer caps on a record's minutes (the benchmark's viewer serves briefly).
    exec(
        db,
        "CREATE TABLE seed_minutes (volunteer_id bigint PRIMARY KEY, minutes int NOT NULL)",
    )
    .await?;

    people(db, sizes).await?;
    event_rows(db, sizes, timezone).await?;
    // Two connections: the pieces for search beside the sign-ups.
    tokio::try_join!(grams(db), sign_ups(db, sizes))?;
    Ok(())
}

/// Volunteers, teams and memberships (every volunteer in one team, a fifth in a second).
async fn people(db: &DatabaseConnection, sizes: Sizes) -> anyhow::Result<()> {
    let Sizes {
        volunteers, teams, ..
    } = sizes;
    let off = VOLUNTEER_ID_OFFSET;
    step(
        db,
        "volunteers",
        &format!(
            "INSERT INTO volunteers (id, phone, password_hash, display_name, area_id, real_name, \
               national_id, created_at, updated_at, show_on_leaderboards) \
             SELECT {off} + g, '13' || lpad(g::text, 9, '0'), '{DUMMY_HASH}', '志愿者' || g, \
               a.towns[1 + floor(seed_u(g, 1) * cardinality(a.towns))::int], NULL, NULL, \
               now() - interval '1100 days' * seed_u(g, 2), now() - interval '1100 days' * seed_u(g, 2), \
               seed_u(g, 3) >= 0.03 \
             FROM generate_series(1, {volunteers}) g, \
               (SELECT array_agg(id ORDER BY id) AS towns FROM areas WHERE level = 'TOWN') a"
        ),
    )
    .await?;

    step(
        db,
        "teams",
        &format!(
            "INSERT INTO teams (id, name, kind, area_id, join_policy, parent_team_id, created_at, updated_at) \
             SELECT g, '志愿服务队 ' || g, \
               (ARRAY['KUNG_FU_PATROL','ANTI_FRAUD','CAMPUS_GUARD','COMMUNITY_110','GRID_PATROL','OTHER']) \
                 [1 + floor(seed_u(g, 11) * 6)::int], \
               CASE WHEN seed_u(g, 12) < 0.1 \
                 THEN a.districts[1 + floor(seed_u(g, 13) * cardinality(a.districts))::int] \
                 ELSE a.towns[1 + floor(seed_u(g, 13) * cardinality(a.towns))::int] END, \
               CASE WHEN seed_u(g, 14) < 0.7 THEN 'OPEN' ELSE 'APPROVAL' END, NULL, \
               now() - interval '4 years', now() - interval '4 years' \
             FROM generate_series(1, {teams}) g, \
               (SELECT array_agg(id ORDER BY id) FILTER (WHERE level = 'TOWN') AS towns, \
                       array_agg(id ORDER BY id) FILTER (WHERE level = 'DISTRICT') AS districts \
                FROM areas) a"
        ),
    )
    .await?;

    step(
        db,
        "memberships",
        &format!(
            "INSERT INTO memberships (team_id, volunteer_id, role, status, created_at, updated_at) \
             SELECT 1 + (i % {teams}), {off} + 1 + i, \
               CASE WHEN i < {teams} THEN 'LEADER' WHEN i < 2 * {teams} THEN 'DEPUTY' ELSE 'MEMBER' END, \
               'ACTIVE', now() - interval '1 year', now() - interval '1 year' \
             FROM generate_series(0, {volunteers} - 1) i \
             UNION ALL \
             SELECT 1 + ((i::bigint * 7919 + 13) % {teams}), {off} + 1 + i, 'MEMBER', 'ACTIVE', \
               now() - interval '1 year', now() - interval '1 year' \
             FROM generate_series(0, {volunteers} - 1) i \
             WHERE seed_u(i, 21) < 0.2 AND (i::bigint * 7919 + 13) % {teams} <> i % {teams}"
        ),
    )
    .await?;
    Ok(())
}

/// Events across the year before and the month after now, in the teams' areas.
async fn event_rows(db: &DatabaseConnection, sizes: Sizes, timezone: &str) -> anyhow::Result<()> {
    let Sizes { teams, events, .. } = sizes;
    let off = VOLUNTEER_ID_OFFSET;
    // Start: a local day in [-365, +30) days, a local half hour from 08:00 to 21:30.
    step(
        db,
        "events",
        &format!(
            "INSERT INTO events (id, team_id, area_id, schedule_id, kind, title, description, \
               starts_at, ends_at, capacity, confirmed_count, address, lat, lng, radius_m, \
               visibility, status, sign_up_closes_at, cancel_reason, created_by, created_at, updated_at) \
             SELECT g, t.id, t.area_id, NULL, \
               (ARRAY['PATROL','PATROL','PATROL','PUBLICITY','EXAM_ESCORT','TRAINING','EMERGENCY','OTHER']) \
                 [1 + floor(seed_u(g, 33) * 8)::int], \
               (ARRAY['巡逻活动','电信网络反诈宣传','防溺水安全宣传','交通安全劝导','校园周边巡查', \
                      '消防安全检查','禁毒知识宣传','Community patrol'])[1 + floor(seed_u(g, 40) * 8)::int] \
                 || ' ' || g, '', x.starts_at, x.starts_at + x.length, 30, 0, '佛山市', \
               a.lat + ((a.id % 7) - 3) * 0.02 + (seed_u(g, 34) - 0.5) * 0.06, \
               a.lng + ((a.id % 5) - 2) * 0.02 + (seed_u(g, 35) - 0.5) * 0.06, \
               300, CASE WHEN seed_u(g, 36) < 0.9 THEN 'PUBLIC' ELSE 'TEAM' END, \
               CASE WHEN seed_u(g, 37) < 0.03 THEN 'CANCELLED' \
                    WHEN x.starts_at + x.length < now() THEN 'COMPLETED' ELSE 'PUBLISHED' END, \
               NULL, NULL, {off} + t.id, x.starts_at - interval '7 days', x.starts_at - interval '7 days' \
             FROM generate_series(1, {events}) g \
             JOIN teams t ON t.id = 1 + floor(seed_u(g, 31) * {teams})::bigint \
             JOIN areas a ON a.id = t.area_id \
             CROSS JOIN LATERAL (SELECT \
               ((date_trunc('day', now() AT TIME ZONE '{timezone}') \
                 + interval '1 day' * (floor(seed_u(g, 32) * 395)::int - 365) \
                 + interval '30 minutes' * (16 + floor(seed_u(g, 38) * 28)::int)) \
                AT TIME ZONE '{timezone}') AS starts_at, \
               interval '30 minutes' * (2 + floor(seed_u(g, 39) * 7)::int) AS length) x"
        ),
    )
    .await?;
    Ok(())
}

/// What the write paths keep for one- and two-character pieces (the domain's `grams`), for the
/// generated events and volunteers.
async fn grams(db: &DatabaseConnection) -> anyhow::Result<()> {
    step(
        db,
        "event_search_grams",
        &grams_insert(
            "event_search_grams",
            "event_id",
            "SELECT id, title, description, address FROM events",
            "ARRAY[f.title, f.description, f.address]",
        ),
    )
    .await?;
    step(
        db,
        "volunteer_name_grams",
        &grams_insert(
            "volunteer_name_grams",
            "volunteer_id",
            &format!("SELECT id, display_name FROM volunteers WHERE id > {VOLUNTEER_ID_OFFSET}"),
            "ARRAY[f.display_name]",
        ),
    )
    .await?;
    Ok(())
}

/// The sign-ups of every event.
async fn sign_ups(db: &DatabaseConnection, sizes: Sizes) -> anyhow::Result<()> {
    let (teams, members) = (sizes.teams, sizes.members_per_team());
    let off = VOLUNTEER_ID_OFFSET;
    // The j-th sign-up of an event is member ((base + j) mod members) of its team: distinct
    // volunteers per event, so the one-active-sign-up index holds.
    step(
        db,
        "sign_ups",
        &format!(
            "INSERT INTO sign_ups (event_id, volunteer_id, status, starts_at, ends_at, created_at, updated_at) \
             SELECT e.id, {off} + 1 + (e.team_id - 1) + ((b.base + j) % {members}) * {teams}, \
               CASE WHEN e.status = 'CANCELLED' THEN 'CANCELLED' \
                    WHEN seed_u(e.id * 32 + j, 41) < 0.06 THEN 'CANCELLED' \
                    WHEN e.ends_at < now() AND seed_u(e.id * 32 + j, 41) < 0.14 THEN 'NO_SHOW' \
                    ELSE 'CONFIRMED' END, \
               e.starts_at, e.ends_at, e.starts_at - interval '3 days', e.starts_at - interval '3 days' \
             FROM events e \
             CROSS JOIN LATERAL (SELECT floor(seed_u(e.id, 40) * {members})::bigint AS base) b \
             CROSS JOIN LATERAL generate_series(0, floor(seed_u(e.id, 42) * 25.6)::int) j"
        ),
    )
    .await?;
    Ok(())
}

/// Attendances and service records of past CONFIRMED sign-ups, and seat counts. Runs after
/// extra rows (the viewer's) were added, so they are covered too.
pub async fn attendance_and_records(db: &DatabaseConnection, timezone: &str) -> anyhow::Result<()> {
    step(
        db,
        "events.confirmed_count",
        "UPDATE events e SET confirmed_count = c.n \
         FROM (SELECT event_id, count(*) AS n FROM sign_ups WHERE status = 'CONFIRMED' GROUP BY event_id) c \
         WHERE c.event_id = e.id",
    )
    .await?;
    step(
        db,
        "attendances",
        "INSERT INTO attendances (sign_up_id, event_id, volunteer_id, check_in_at, check_in_lat, \
           check_in_lng, check_in_accuracy_m, check_in_by, check_out_at, check_out_lat, check_out_lng, \
           check_out_accuracy_m, check_out_by, auto_closed) \
         SELECT s.id, s.event_id, s.volunteer_id, s.starts_at - interval '5 minutes', NULL, NULL, NULL, \
           s.volunteer_id, s.ends_at, NULL, NULL, NULL, s.volunteer_id, false \
         FROM sign_ups s JOIN events e ON e.id = s.event_id \
         WHERE s.status = 'CONFIRMED' AND s.ends_at < now() AND e.status <> 'CANCELLED'",
    )
    .await?;
    step(
        db,
        "service_records",
        &format!(
            "INSERT INTO service_records (volunteer_id, team_id, event_id, attendance_id, minutes, \
               service_date, status, note, needs_review, reviewer_id, reviewed_at, reason, created_by, \
               created_at, updated_at) \
             SELECT a.volunteer_id, e.team_id, e.id, a.id, \
               LEAST(x.minutes, COALESCE(extra.minutes, x.minutes)), \
               (e.starts_at AT TIME ZONE '{timezone}')::date, \
               CASE WHEN e.ends_at > now() - interval '14 days' AND seed_u(a.id, 51) < 0.03 \
                 THEN 'PENDING' ELSE 'APPROVED' END, \
               NULL, false, {VOLUNTEER_ID_OFFSET} + e.team_id, e.ends_at + interval '1 day', NULL, \
               a.volunteer_id, e.ends_at, e.ends_at + interval '1 day' \
             FROM attendances a JOIN events e ON e.id = a.event_id \
             CROSS JOIN LATERAL (SELECT (extract(epoch FROM e.ends_at - e.starts_at) / 60)::int AS minutes) x \
             LEFT JOIN seed_minutes extra ON extra.volunteer_id = a.volunteer_id"
        ),
    )
    .await?;
    Ok(())
}

/// Drops the generator's helpers: the database keeps only the product's schema.
pub async fn drop_helpers(db: &DatabaseConnection) -> anyhow::Result<()> {
    exec(db, "DROP TABLE seed_minutes").await?;
    exec(db, "DROP FUNCTION seed_u(bigint, int)").await?;
    Ok(())
}

/// Moves every serial sequence past the explicit ids written above.
pub async fn fix_sequences(db: &DatabaseConnection) -> anyhow::Result<()> {
    for table in ["volunteers", "teams", "events"] {
        exec(
            db,
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            ),
        )
        .await?;
    }
    Ok(())
}
