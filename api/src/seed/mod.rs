//! `feihong seed --scale S`: a Foshan-shaped dataset (at `S` × 1.68 M volunteers, 8,500 teams,
//! 900 K events) written straight into an empty PostgreSQL database with set-based SQL
//! ([`generate`]), then what the services derive from it: tallies and statistics rollups (SQL),
//! the statistics place rows (the statistics code's rebuild of every place at once) and the
//! leaderboard sets (Redis when configured). Each phase shows a spinner on a terminal and prints
//! its rows and time; the end prints the table sizes and the database's size. Generated
//! accounts cannot sign in (their password hash matches no password): the data is for
//! measuring and trying the screens, never for production.

mod bulk;
pub mod derived;
pub mod generate;

use std::time::Instant;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;

use crate::app;
use crate::config::Config;
pub use bulk::connect;
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
    let db = bulk::connect(config.database_url.expose_secret()).await?;
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
    load(&db, sizes, config.timezone.name(), async { Ok(()) }).await?;
    let services = app::build_services(config).await?;
    timed("statistics place rows", || async {
        let written = services.stats.rebuild_places().await;
        written.map_err(|error| anyhow::anyhow!("statistics: {error}"))
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

/// Writes the dataset's rows and the derived tables into `db` (a pool from [`connect`]), with
/// the loaded tables' keys and indexes set aside meanwhile; `after_raw` runs once the raw rows
/// are in (the benchmark adds its viewer's rows there). Ends with `VACUUM ANALYZE`.
pub async fn load(
    db: &sea_orm::DatabaseConnection,
    sizes: Sizes,
    timezone: &str,
    after_raw: impl Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let indexes = bulk::set_aside(db, &bulk::LOADED_TABLES).await?;
    generate::raw(db, sizes, timezone).await?;
    after_raw.await?;
    // Freshly loaded tables have no statistics: without them the planner takes a few million
    // rows for a few hundred and picks hash aggregates that spill to disk.
    analyze(db, "volunteers, teams, memberships, events, sign_ups").await?;
    generate::attendance_and_records(db, timezone).await?;
    analyze(db, "attendances, service_records").await?;
    derived::derived(db, timezone).await?;
    generate::drop_helpers(db).await?;
    generate::fix_sequences(db).await?;
    timed("keys and indexes (made again)", || indexes.restore(db)).await?;
    timed("VACUUM ANALYZE", || async {
        exec(db, "VACUUM ANALYZE").await
    })
    .await
}

/// `ANALYZE` of `tables`, as a phase.
async fn analyze(db: &sea_orm::DatabaseConnection, tables: &str) -> anyhow::Result<()> {
    timed("ANALYZE", || async {
        exec(db, &format!("ANALYZE {tables}")).await
    })
    .await
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
    for table in bulk::LOADED_TABLES.iter().chain(&["stats_place_periods"]) {
        let rows = scalar(db, &format!("SELECT count(*) FROM {table}")).await?;
        println!("  {table:<22} {rows:>11}");
    }
    let size = scalar(db, "SELECT pg_database_size(current_database())").await?;
    println!("  database size          {:>8} MB", size / (1024 * 1024));
    Ok(())
}
