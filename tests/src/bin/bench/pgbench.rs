//! The database's own limit on this machine: `pgbench -S` (select-only: one primary-key lookup
//! per transaction) at the benchmark's concurrency, on the same PostgreSQL server, in a scratch
//! database created for it and dropped afterwards.

use std::path::PathBuf;
use std::process::Command;

use sea_orm::ConnectionTrait as _;

/// `pgbench` on PATH, else in a Debian PostgreSQL installation's own bin folder.
pub fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|path| {
        std::env::split_paths(&path)
            .map(|folder| folder.join("pgbench"))
            .collect::<Vec<_>>()
    });
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|version| version.path().join("bin/pgbench"));
    on_path.chain(debian).find(|candidate| candidate.is_file())
}

/// `postgres://host/db?x` with the database replaced.
fn with_database(url: &str, database: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{database}"));
    parsed.to_string()
}

/// The `tps = …` figure of pgbench's report.
fn parse_tps(report: &str) -> Option<f64> {
    report
        .lines()
        .find_map(|line| line.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

fn run(program: &PathBuf, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|error| format!("{}: {error}", program.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} {}: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `pgbench -i -s 1` into a scratch database, then `pgbench -S -c <clients> -j 2 -T <seconds>`:
/// its transactions per second, or `None` (after saying why) when pgbench is missing or fails.
pub async fn select_only_tps(admin_url: &str, clients: usize, seconds: u64) -> Option<f64> {
    let Some(program) = find() else {
        println!("pgbench: not found (PATH, /usr/lib/postgresql/*/bin): no ratio to it");
        return None;
    };
    let name = format!("feihong_pgbench_{}", uuid::Uuid::new_v4().simple());
    let admin = sea_orm::Database::connect(admin_url)
        .await
        .expect("TEST_DATABASE_URL answers");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("a scratch database for pgbench");
    let url = with_database(admin_url, &name);
    let (clients, threads, seconds) = (
        clients.max(1).to_string(),
        clients.clamp(1, 2).to_string(),
        seconds.to_string(),
    );
    let outcome = tokio::task::spawn_blocking(move || {
        run(&program, &["-i", "-s", "1", "-q", &url])?;
        run(
            &program,
            &[
                "-S", "-c", &clients, "-j", &threads, "-T", &seconds, "-n", &url,
            ],
        )
    })
    .await
    .expect("pgbench thread");
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
    admin.close().await.ok();
    match outcome.map(|report| parse_tps(&report)) {
        Ok(Some(tps)) => Some(tps),
        Ok(None) => {
            println!("pgbench: no `tps = ` line in its report");
            None
        }
        Err(error) => {
            println!("pgbench failed: {error}");
            None
        }
    }
}
