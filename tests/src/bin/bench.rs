//! The benchmark: a Foshan-shaped dataset at `--scale`, then, against the real server (run
//! in-process on PostgreSQL + Redis) at `--concurrency` clients (32 by default, a busy evening):
//!
//! - the read cases, a fixed number of requests each, as throughput and p50/p99, also as ratios
//!   to a trivial baseline request measured in the same run and, when `pgbench` is installed,
//!   to `pgbench -S` on the same PostgreSQL server (the machines are shared and noisy: compare
//!   the ratios, not the milliseconds);
//! - a mixed evening (browse, `me`, leaderboard, sign up, cancel, check in) and the process's
//!   memory during it;
//! - the sign-up storm: `--storm-clients` volunteers sign up for one event with 50 seats at once,
//!   checked for exactness in the database.
//!
//! Method and numbers: docs/performance.md.
//!
//! ```text
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run --release -p feihong-tests --bin bench -- --scale 0.05
//! ```

#[path = "bench/cases.rs"]
mod cases;
#[path = "bench/cpu.rs"]
mod cpu;
#[path = "bench/measure.rs"]
mod measure;
#[path = "bench/memory.rs"]
mod memory;
#[path = "bench/mixed.rs"]
mod mixed;
#[path = "bench/people.rs"]
mod people;
#[path = "bench/pgbench.rs"]
mod pgbench;
#[path = "bench/quick.rs"]
mod quick;
#[path = "bench/setup.rs"]
mod setup;
#[path = "bench/storm.rs"]
mod storm;

use std::time::{Duration, Instant};

use clap::Parser;
use secrecy::ExposeSecret as _;

use feihong_api::seed::generate::Sizes;

/// The server's allocator (`api/src/main.rs`): the server runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use measure::{Case, Measured};
use people::{Minter, NewEvent};
use setup::Prepared;

#[derive(Parser, Debug)]
#[command(about = "Feihong benchmark (PostgreSQL + Redis, in-process server)")]
struct Args {
    /// Dataset size as a fraction of Foshan (1.0 = 1.68 M volunteers, 8,500 teams, 900 K events,
    /// ≈ 12 M sign-ups, ≈ 10 M service records).
    #[arg(long, default_value_t = 0.05)]
    scale: f64,
    /// Requests per read case (the baseline runs 4×, the slow cases a quarter); the mixed
    /// evening runs 5×.
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Concurrent clients (a busy evening).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Unmeasured requests per client and case before measuring.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Volunteers in the sign-up storm (one event, 50 seats); 0 skips it.
    #[arg(long, default_value_t = 1000)]
    storm_clients: usize,
    /// Volunteers on duty reporting positions in the quick-response case; 0 skips the case.
    #[arg(long, default_value_t = 50_000)]
    quick_on_duty: usize,
    /// Incidents raised (one after another) in the quick-response case.
    #[arg(long, default_value_t = 50)]
    quick_incidents: usize,
    /// Raise the quick-response incidents with nobody reporting positions meanwhile: matching's
    /// own cost, apart from the reports' load.
    #[arg(long)]
    quick_quiet: bool,
    /// How long `pgbench -S` runs, in seconds; 0 skips it.
    #[arg(long, default_value_t = 10)]
    pgbench_seconds: u64,
    /// Measure only the read cases whose name contains this (the baseline always runs first);
    /// skips the mixed evening, the storm unless this is part of "sign-up storm" (`storm`), and
    /// the quick-response case unless it is part of "quick response" (`quick`).
    /// For profiling one case (`--requests 20000`).
    #[arg(long)]
    only: Option<String>,
    /// Leave the generated database in place (and print its URL) for EXPLAIN ANALYZE afterwards.
    #[arg(long)]
    keep_database: bool,
    /// Measure on a database an earlier `--keep-database` run left (its URL), instead of
    /// generating one; needs `--redis-prefix`. `--scale` should say what it was generated at.
    #[arg(long, requires = "redis_prefix")]
    reuse_database: Option<String>,
    /// The Redis key prefix the kept database's run printed.
    #[arg(long)]
    redis_prefix: Option<String>,
}

fn check_environment(args: &Args) {
    assert!(
        args.scale > 0.0 && args.scale <= 1.0,
        "--scale must be in (0, 1]"
    );
    for name in ["TEST_DATABASE_URL", "TEST_REDIS_URL"] {
        assert!(
            std::env::var(name).is_ok_and(|value| !value.trim().is_empty()),
            "{name} must be set (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
             TEST_REDIS_URL=redis://127.0.0.1:6379)"
        );
    }
}

/// Checks every read case's answer, then measures each in turn.
async fn read_cases(
    client: &reqwest::Client,
    cases: &[Case],
    minter: &Minter,
    args: &Args,
) -> Vec<Measured> {
    println!("sample answers:");
    for case in cases {
        let text = measure::check(client, case, minter).await["data"].to_string();
        let text: String = text.chars().take(150).collect();
        println!("  {:<44} {text}", case.name);
    }
    println!("measuring:");
    let mut results = Vec::new();
    for case in cases {
        let result = measure::run(client, case, minter, args.concurrency, args.warmup).await;
        print_row(&result);
        results.push(result);
    }
    results
}

fn print_row(result: &Measured) {
    println!(
        "  {:<44} {:>6.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms",
        result.name,
        result.per_second,
        result.p50.as_secs_f64() * 1000.0,
        result.p99.as_secs_f64() * 1000.0
    );
}

/// The mixed evening on tonight's patrol, starting in 25 minutes (check-ins open 30 minutes
/// before the start, sign-ups close at it).
async fn mixed_evening(
    bench: &Prepared,
    client: &reqwest::Client,
    minter: &Minter,
    args: &Args,
) -> mixed::Mixed {
    let requests = args.requests * 5;
    let volunteers = people::insert_volunteers(
        &bench.db,
        requests * 3 / 10 + 2 * args.concurrency.max(1),
        "16",
        "晚间志愿者",
    )
    .await;
    let url = bench.app.url("/graphql");
    let leader = minter.token(people::team_one_leader(&bench.db).await);
    let position = (22.805, 113.293);
    let tonight = NewEvent {
        title: "今晚巡逻 mixed evening",
        starts_at: chrono::Utc::now() + chrono::Duration::minutes(25),
        hours: 4,
        capacity: 100_000,
        lat: position.0,
        lng: position.1,
    };
    let event = people::publish_event(client, &url, &leader, &tonight).await;
    let evening = mixed::Evening {
        url: &url,
        event: &event,
        event_position: position,
        district: &bench.district,
        volunteers: &volunteers,
    };
    println!("mixed evening: {requests} requests");
    let mixed = mixed::run(client, &evening, minter, args.concurrency, requests).await;
    for row in &mixed.per_op {
        print_row(row);
    }
    print_row(&mixed.overall);
    println!("  server process memory: {}", mixed.memory);
    mixed
}

/// The quick-response case (`bench/quick.rs`), printed as its own table.
async fn quick_response(bench: &Prepared, minter: &Minter, args: &Args, base: &Measured) {
    println!(
        "quick response: {} on duty reporting every 15.5 s, {} incidents",
        args.quick_on_duty, args.quick_incidents
    );
    let quick = quick::run(
        bench,
        minter,
        args.quick_on_duty,
        args.quick_incidents,
        !args.quick_quiet,
    )
    .await;
    let rows = [quick.go_on_duty, quick.reports, quick.alerts];
    println!("{}", measure::table(base, &rows, None));
}

async fn sign_up_storm(bench: &Prepared, minter: &Minter, clients: usize) -> storm::Storm {
    println!("sign-up storm: {clients} clients, {} seats", storm::SEATS);
    let storm = storm::run(&bench.db, &bench.app.url("/graphql"), minter, clients).await;
    let m = &storm.latencies;
    println!(
        "  {} CONFIRMED, {} WAITLISTED: {}; answers p50 {} ms, p99 {} ms, max {} ms; all in {:.2} s",
        storm.confirmed,
        storm.waitlisted,
        if storm.problems.is_empty() {
            "exact".to_owned()
        } else {
            format!("NOT EXACT: {}", storm.problems.join("; "))
        },
        measure::ms(m.p50),
        measure::ms(m.p99),
        measure::ms(m.max),
        storm.wall.as_secs_f64()
    );
    storm
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    // Quiet by default: a node without Redis warns every second, and the generator's big
    // statements trip sqlx's slow-statement warning. RUST_LOG overrides.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .try_init();
    check_environment(&args);
    let sizes = Sizes::at(args.scale);
    println!(
        "feihong bench: scale {} ({} volunteers, {} teams, {} events), {} requests/case, {} clients",
        args.scale, sizes.volunteers, sizes.teams, sizes.events, args.requests, args.concurrency
    );
    let mut bench = match (&args.reuse_database, &args.redis_prefix) {
        (Some(url), Some(prefix)) => setup::reuse(url, prefix).await,
        _ => setup::prepare(args.scale).await,
    };
    // Tokens are minted when used, never before generation: they live 15 minutes.
    let minter = Minter::new(bench.app.config.access_token_ttl);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(args.concurrency.max(1))
        .build()
        .expect("HTTP client");
    let measuring = Instant::now();
    let mut cases = cases::read_cases(&bench, args.requests);
    if let Some(only) = &args.only {
        let mut at = 0;
        cases.retain(|case| {
            at += 1;
            at == 1 || case.name.contains(only.as_str())
        });
    }
    let pgbench_tps = match args.pgbench_seconds {
        0 => None,
        seconds => {
            let admin_url = std::env::var("TEST_DATABASE_URL").expect("checked above");
            pgbench::select_only_tps(&admin_url, args.concurrency, seconds).await
        }
    };
    if let Some(tps) = pgbench_tps {
        println!("pgbench -S, {} clients: {tps:.0} tps", args.concurrency);
    }
    let mut results = read_cases(&client, &cases, &minter, &args).await;
    if let Some(only) = &args.only {
        print!("{}", measure::table(&results[0], &results, pgbench_tps));
        // `--only storm` measures the baseline and the sign-up storm.
        if args.storm_clients > 0 && "sign-up storm".contains(only.as_str()) {
            let storm = sign_up_storm(&bench, &minter, args.storm_clients).await;
            println!("{}", measure::table(&results[0], &[storm.latencies], None));
        }
        if args.quick_on_duty > 0 && "quick response".contains(only.as_str()) {
            quick_response(&bench, &minter, &args, &results[0]).await;
        }
        keep_if_asked(bench, &args);
        return;
    }
    // The mixed run measures the server on its own: the sibling node stops first.
    drop(bench.without_store.take());
    let mixed = mixed_evening(&bench, &client, &minter, &args).await;
    results.push(mixed.overall);
    let storm = match args.storm_clients {
        0 => None,
        clients => Some(sign_up_storm(&bench, &minter, clients).await),
    };
    // The baseline again: how much the machine's load moved during the run.
    let again = measure::run(&client, &cases[0], &minter, args.concurrency, args.warmup).await;
    results.push(Measured {
        name: "baseline again (end of run)".to_owned(),
        ..again
    });
    println!(
        "\nscale {} · {} clients · generation {:.0} s · measuring {:.0} s · pgbench -S {}\n",
        args.scale,
        args.concurrency,
        bench.generation.as_secs_f64(),
        measuring.elapsed().as_secs_f64(),
        pgbench_tps.map_or_else(|| "not run".to_owned(), |tps| format!("{tps:.0} tps"))
    );
    let base = &results[0];
    print!("{}", measure::table(base, &results, pgbench_tps));
    println!("\n{}", measure::table(base, &mixed.per_op, pgbench_tps));
    println!("mixed evening memory: {}", mixed.memory);
    if let Some(storm) = storm {
        println!("{}", measure::table(base, &[storm.latencies], None));
    }
    if args.quick_on_duty > 0 {
        quick_response(&bench, &minter, &args, base).await;
    }
    keep_if_asked(bench, &args);
}

/// With `--keep-database`, prints where the generated data is and leaves it in place.
fn keep_if_asked(bench: setup::Prepared, args: &Args) {
    if args.keep_database {
        println!(
            "\nkept the database: {}\nand its Redis keys: {}* (delete them when done)",
            bench.app.config.database_url.expose_secret(),
            bench.app.config.redis_prefix
        );
        // Dropping the harness's server would drop its database: leave it to process exit.
        std::mem::forget(bench);
    }
}
