//! `feihong seed --scale S`: a Foshan-shaped dataset (at `S` × 1.68 M volunteers, 8,500 teams,
//! 900 K events) written straight into an empty PostgreSQL database with set-based SQL
//! ([`generate`]), then what the services derive from it: tallies and statistics rollups (SQL),
//! the statistics place rows (the statistics worker's own code, run here until done) and the
//! leaderboard sets (Redis when configured). Each phase shows a spinner on a terminal and prints
//! its rows and time; the end prints the table sizes and the database's size. Generated
//! accounts cannot sign in (their password hash matches no password): the data is for
//! measuring and trying the screens, never for production.

pub mod generate;

use std::time::Instant;

use anyhow::Context as _;

use crate::app;
use crate::config::Config;
use generate::{Sizes, VOLUNTEER_ID_OFFSET, exec, phase_bar, scalar};

/// Seeds the configured database at `scale` (0 < scale ≤ 1); see the module's description.
pub async fn run(config: &Config, scale: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.database_is_sqlite(),
        "feihong seed writes PostgreSQL only: set DATABASE_URL=postgres://…"
    );
    anyhow::ensure!(
        scale > 0.0 && scale <= 1.0,
        "--scale must be in (0, 1], got {scale}"
    );
    let db = app::connect_database(config).await?;
    app::migrate(&db).await?;
    let held = scalar(&db, "SELECT count(*) FROM events").await?
        + scalar(
            &db,
            &format!("SELECT count(*) FROM volunteers WHERE id > {VOLUNTEER_ID_OFFSET}"),
        )
        .await?;
    anyhow::ensure!(
        held == 0,
        "the database already holds events or generated volunteers; seed an empty one"
    );
    let sizes = Sizes::at(scale);
    println!(
        "feihong seed: scale {scale} ({} volunteers, {} teams, {} events)",
        sizes.volunteers, sizes.teams, sizes.events
    );
    let started = Instant::now();
    let timezone = config.timezone.name();
    generate::raw(&db, sizes, timezone).await?;
    generate::attendance_and_records(&db, timezone).await?;
    generate::derived(&db, timezone).await?;
    generate::drop_helpers(&db).await?;
    generate::fix_sequences(&db).await?;
    timed("VACUUM ANALYZE", || async {
        exec(&db, "VACUUM ANALYZE").await
    })
    .await?;
    let services = app::build_services(config).await?;
    timed("statistics place rows", || async {
        let mut refreshed = 0;
        loop {
            let done = services
                .stats
                .refresh()
                .await
                .map_err(|error| anyhow::anyhow!("statistics: {error}"))?;
            if done == 0 {
                return Ok(refreshed);
            }
            refreshed += done as u64;
        }
    })
    .await?;
    timed("leaderboard sets", || async {
        let written = services.leaderboards.rebuild().await;
        written.map_err(|error| anyhow::anyhow!("leaderboards: {error}"))
    })
    .await?;
    println!("seeding took {:.1} s", started.elapsed().as_secs_f64());
    report(&db).await
}

/// Runs one phase with its spinner; prints its count and time.
async fn timed<F, T, N>(label: &str, phase: F) -> anyhow::Result<()>
where
    F: FnOnce() -> T,
    T: Future<Output = anyhow::Result<N>>,
    N: std::fmt::Display,
{
    let started = Instant::now();
    let bar = phase_bar(label);
    let outcome = phase().await;
    bar.finish_and_clear();
    let count = outcome.with_context(|| label.to_owned())?;
    println!(
        "  {label:<34} {count:>11} rows {:>7.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The tables' sizes and the database's.
pub async fn report(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    println!("dataset:");
    for table in [
        "volunteers",
        "teams",
        "memberships",
        "events",
        "event_search_grams",
        "sign_ups",
        "attendances",
        "service_records",
        "tallies",
        "stats_team_days",
        "stats_volunteer_days",
        "stats_area_days",
        "stats_place_periods",
    ] {
        let rows = scalar(db, &format!("SELECT count(*) FROM {table}")).await?;
        println!("  {table:<22} {rows:>11}");
    }
    let size = scalar(db, "SELECT pg_database_size(current_database())").await?;
    println!("  database size          {:>8} MB", size / (1024 * 1024));
    Ok(())
}
