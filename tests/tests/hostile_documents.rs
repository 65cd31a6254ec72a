//! The hostile-document suite: documents that stand for millions of fields in under a kilobyte,
//! and their siblings, sent anonymously to a real server, over POST and over WebSocket, while
//! the node is asked for `/healthz`. Each must be refused within 50 ms, the process must not
//! grow by 10 MB, and the node must keep answering.
//!
//! One test in its own binary, so the memory it measures is the server's and its own (tests in
//! one binary run side by side). The documents never reach the database, so SQLite serves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use feihong_tests::hostile::{self, Hostile};
use feihong_tests::{Backend, TestApp};
use serde_json::json;

const FAST: Duration = Duration::from_millis(50);
const MEMORY_GROWTH: u64 = 10 * 1024 * 1024;

/// Sends the document and checks it was refused for the reason expected; returns how long the
/// answer took.
async fn refused(app: &TestApp, document: &Hostile) -> Duration {
    let started = Instant::now();
    let response = app.graphql(&document.query, json!({})).await;
    let took = started.elapsed();
    assert_eq!(
        response.error_code(),
        "BAD_USER_INPUT",
        "{}: {}",
        document.name,
        response.body
    );
    assert!(
        response.error_message().contains(document.refusal),
        "{}: {}",
        document.name,
        response.body
    );
    took
}

/// Polls `/healthz` until told to stop; returns the slowest answer and how many there were.
async fn poll_health(app: Arc<TestApp>, stop: Arc<AtomicBool>) -> (Duration, u32) {
    let (mut slowest, mut answers) = (Duration::ZERO, 0);
    while !stop.load(Ordering::Acquire) {
        let started = Instant::now();
        let answer = app
            .http()
            .get(app.url("/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .expect("/healthz answers while hostile documents arrive");
        assert!(answer.status().is_success());
        slowest = slowest.max(started.elapsed());
        answers += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (slowest, answers)
}

/// Four clients at once, each sending every document `rounds` times.
async fn send_all(app: &Arc<TestApp>, documents: &Arc<Vec<Hostile>>, rounds: usize) {
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let (app, documents) = (app.clone(), documents.clone());
            tokio::spawn(async move {
                for _ in 0..rounds {
                    for document in documents.iter() {
                        refused(&app, document).await;
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("sender");
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_are_refused_at_once_without_growing_the_process_while_the_node_keeps_answering()
 {
    let app = Arc::new(
        TestApp::spawn(Backend::Sqlite, module_path!())
            .await
            .expect("SQLite is always available"),
    );
    let documents = Arc::new(hostile::documents());
    // Warm up with the same four clients at once: the first requests of each kind, and the
    // allocator's per-thread arenas, are set up once and are not growth.
    send_all(&app, &documents, 2).await;
    let before = hostile::resident_bytes();

    let stop = Arc::new(AtomicBool::new(false));
    let health = tokio::spawn(poll_health(app.clone(), stop.clone()));
    send_all(&app, &documents, 5).await;
    stop.store(true, Ordering::Release);
    let (slowest_health, health_answers) = health.await.expect("health poller");
    let after = hostile::resident_bytes();

    // How long one refusal takes, a client at a time (four at once on two cores would time the
    // queue, not the refusal).
    let mut times = vec![Vec::new(); documents.len()];
    for _ in 0..5 {
        for (n, document) in documents.iter().enumerate() {
            times[n].push(refused(&app, document).await);
        }
    }
    for (document, samples) in documents.iter().zip(times) {
        let typical = median(samples);
        eprintln!("{:>70}: median {typical:?}", document.name);
        assert!(
            typical < FAST,
            "{} took {typical:?} to refuse",
            document.name
        );
    }
    assert!(health_answers > 0);
    assert!(
        slowest_health < Duration::from_millis(500),
        "/healthz took {slowest_health:?} while hostile documents arrived"
    );
    let growth = after.saturating_sub(before);
    eprintln!(
        "slowest /healthz {slowest_health:?} over {health_answers} answers; grew {} KiB",
        growth / 1024
    );
    assert!(
        growth < MEMORY_GROWTH,
        "the process grew by {} KiB",
        growth / 1024
    );

    // The same fan-out as a subscription over WebSocket.
    let query = hostile::subscription_fan_out(22);
    let started = Instant::now();
    let mut socket = app
        .subscribe(None, &query, json!({}))
        .await
        .expect("the connection is accepted");
    let answer = socket.next().await.expect("an answer");
    assert!(started.elapsed() < Duration::from_secs(1));
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("fields"), "{answer}");
    assert!(hostile::resident_bytes().saturating_sub(before) < MEMORY_GROWTH);
}
