//! The `feihong` binary itself: subcommands, start-up errors, and an operator's first run.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_feihong");

/// The binary with a clean environment: no settings leak in from the machine running the tests.
fn feihong(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("FEIHONG_") || name == "DATABASE_URL" || name == "REDIS_URL" {
            command.env_remove(name);
        }
    }
    command
        .env("FEIHONG_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    command
}

fn create_admin(data_dir: &Path, phone: &str, area: &str, password: &str) -> Output {
    let mut child = feihong(data_dir)
        .args([
            "create-admin",
            "--phone",
            phone,
            "--password-stdin",
            "--area",
            area,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn export_schema_prints_the_checked_in_schema() {
    let data = tempfile::tempdir().unwrap();
    let output = feihong(data.path()).arg("export-schema").output().unwrap();
    assert!(output.status.success());
    assert_eq!(text(&output.stdout), include_str!("../../schema.graphql"));
}

#[test]
fn a_missing_or_malformed_setting_stops_start_up_with_one_line_naming_it() {
    let data = tempfile::tempdir().unwrap();
    let cases: [(&[(&str, &str)], &str); 7] = [
        (&[("FEIHONG_BIND", "not-an-address")], "FEIHONG_BIND"),
        (
            &[("FEIHONG_TIMEZONE", "Mars/Olympus_Mons")],
            "FEIHONG_TIMEZONE",
        ),
        (&[("DATABASE_URL", "mysql://somewhere/db")], "DATABASE_URL"),
        (&[("REDIS_URL", "http://cache")], "REDIS_URL"),
        (&[("FEIHONG_ENV", "staging")], "FEIHONG_ENV"),
        (&[("FEIHONG_ENV", "production")], "FEIHONG_TOKEN_SECRET"),
        (
            &[("FEIHONG_DB_MAX_CONNECTIONS", "lots")],
            "FEIHONG_DB_MAX_CONNECTIONS",
        ),
    ];
    for (settings, named) in cases {
        let mut command = feihong(data.path());
        command.arg("serve").envs(settings.iter().copied());
        let output = command.output().unwrap();
        let stderr = text(&output.stderr);
        assert!(
            !output.status.success(),
            "{settings:?} should stop start-up"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{settings:?}: {stderr}");
        assert!(
            stderr.contains(named) && !stderr.contains("panicked"),
            "{settings:?}: {stderr}"
        );
    }
}

#[test]
fn an_unreachable_database_stops_start_up_with_one_line() {
    let data = tempfile::tempdir().unwrap();
    let output = feihong(data.path())
        .arg("migrate")
        .env(
            "DATABASE_URL",
            format!("postgres://nobody@127.0.0.1:{}/none", free_port()),
        )
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.trim().lines().count() == 1 && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
}

#[test]
fn migrate_creates_the_embedded_database() {
    let data = tempfile::tempdir().unwrap();
    let output = feihong(data.path()).arg("migrate").output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(data.path().join("feihong.db").exists());
    assert!(
        data.path().join("token-secret").exists(),
        "development keeps a generated secret"
    );
    let again = feihong(data.path()).arg("migrate").output().unwrap();
    assert!(again.status.success(), "migrating twice is harmless");
}

#[test]
fn create_admin_refuses_bad_input() {
    let data = tempfile::tempdir().unwrap();
    let unknown_area = create_admin(data.path(), "13100000001", "999999", "a-decent-password");
    assert!(!unknown_area.status.success());
    assert!(text(&unknown_area.stderr).contains("--area"));
    let weak = create_admin(data.path(), "13100000001", "440600", "password");
    assert!(!weak.status.success());
    assert!(text(&weak.stderr).contains("--password-stdin"));
    let bad_phone = create_admin(data.path(), "110", "440600", "a-decent-password");
    assert!(!bad_phone.status.success());
    assert!(text(&bad_phone.stderr).contains("--phone"));
}

#[tokio::test]
async fn an_admin_created_by_the_operator_signs_in_and_sees_their_area() {
    let data = tempfile::tempdir().unwrap();
    let created = create_admin(
        data.path(),
        "+86 131 0000 0002",
        "440604",
        "city-safety-first",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("created account 131****0002"));
    let again = create_admin(data.path(), "13100000002", "440604", "city-safety-first");
    assert!(
        text(&again.stdout).contains("already"),
        "{}",
        text(&again.stdout)
    );
    let impostor = create_admin(data.path(), "13100000002", "440600", "not-their-password");
    assert!(
        !impostor.status.success(),
        "an existing account needs its own password"
    );

    let port = free_port();
    let _server = Server(
        feihong(data.path())
            .arg("serve")
            .env("FEIHONG_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login: serde_json::Value = client
        .post(format!("{base}/graphql"))
        .json(&serde_json::json!({
            "query": "mutation { login(phone: \"13100000002\", password: \"city-safety-first\") { accessToken volunteer { roles { kind area { code name } } } } }"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let roles = &login["data"]["login"]["volunteer"]["roles"];
    assert_eq!(
        roles,
        &serde_json::json!([{ "kind": "ADMIN", "area": { "code": "440604", "name": "禅城区" } }]),
        "{login}"
    );
}

#[test]
fn leaderboards_rebuild_recomputes_the_sets_from_the_tallies() {
    let data = tempfile::tempdir().unwrap();
    let output = feihong(data.path())
        .args(["leaderboards", "rebuild"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with("rebuilt leaderboards from 0 tallies"),
        "{}",
        text(&output.stdout)
    );
}
