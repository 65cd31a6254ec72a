//! Where the CPU went during a measured case, per request: the server's threads (the harness
//! names them [`SERVER_THREAD_NAME`]), the load driver (the rest of this process),
//! PostgreSQL's processes and Redis's. Read from Linux's `/proc/<pid>/task/<tid>/schedstat`,
//! whose first field is the nanoseconds a thread spent on a CPU; where /proc is missing every
//! figure is zero and the table prints a dash.
//!
//! It answers "what bounds this case, and by how much": with two cores, a case whose four parts
//! add up to about two core-seconds per second is bound by the CPU, and the parts say whose.

use std::time::Instant;

use feihong_tests::SERVER_THREAD_NAME;

/// CPU nanoseconds used so far by each part, and when they were read.
pub struct Sample {
    server: u64,
    driver: u64,
    postgres: u64,
    redis: u64,
    at: Instant,
}

/// CPU microseconds per request of each part, and how many cores' worth the four kept busy.
#[derive(Clone, Copy, Debug)]
pub struct Spent {
    pub server_us: f64,
    pub driver_us: f64,
    pub postgres_us: f64,
    pub redis_us: f64,
    pub cores_busy: f64,
}

/// The sum of `schedstat`'s first field over a process's threads, with the name of each.
fn threads_of(pid: &str) -> Vec<(String, u64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let path = task.path();
            let comm = std::fs::read_to_string(path.join("comm")).ok()?;
            let stat = std::fs::read_to_string(path.join("schedstat")).ok()?;
            let on_cpu = stat.split_whitespace().next()?.parse().ok()?;
            Some((comm.trim().to_owned(), on_cpu))
        })
        .collect()
}

/// Reads every part's CPU time now.
pub fn sample() -> Sample {
    let mut sample = Sample {
        server: 0,
        driver: 0,
        postgres: 0,
        redis: 0,
        at: Instant::now(),
    };
    for (name, nanos) in threads_of("self") {
        if name.starts_with(SERVER_THREAD_NAME) {
            sample.server += nanos;
        } else {
            sample.driver += nanos;
        }
    }
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return sample;
    };
    for process in processes.flatten() {
        let pid = process.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        let part = match comm.trim() {
            "postgres" => &mut sample.postgres,
            "redis-server" => &mut sample.redis,
            _ => continue,
        };
        *part += threads_of(&pid).iter().map(|(_, nanos)| nanos).sum::<u64>();
    }
    sample
}

/// What each part spent since `start`, per request of `requests`.
pub fn since(start: &Sample, requests: usize) -> Option<Spent> {
    let now = sample();
    if now.server + now.driver == 0 {
        return None;
    }
    let per_request = |after: u64, before: u64| {
        after.saturating_sub(before) as f64 / 1000.0 / requests.max(1) as f64
    };
    let total = [
        (now.server, start.server),
        (now.driver, start.driver),
        (now.postgres, start.postgres),
        (now.redis, start.redis),
    ]
    .iter()
    .map(|(after, before)| after.saturating_sub(*before))
    .sum::<u64>();
    let wall = now.at.duration_since(start.at).as_nanos().max(1) as f64;
    Some(Spent {
        server_us: per_request(now.server, start.server),
        driver_us: per_request(now.driver, start.driver),
        postgres_us: per_request(now.postgres, start.postgres),
        redis_us: per_request(now.redis, start.redis),
        cores_busy: total as f64 / wall,
    })
}

/// The table's cell: server / driver / PostgreSQL / Redis µs per request, and the cores kept busy.
pub fn cell(spent: Option<&Spent>) -> String {
    spent.map_or_else(
        || "–".to_owned(),
        |s| {
            format!(
                "{:.0} / {:.0} / {:.0} / {:.0} ({:.2})",
                s.server_us, s.driver_us, s.postgres_us, s.redis_us, s.cores_busy
            )
        },
    )
}
