//! The admin dashboard (`/admin`) in a real browser: headless Chromium driven by chromedriver
//! over WebDriver. Seeds service hours through the API, signs in through the page's form and
//! reads the figures the page shows: totals, months, districts, team kinds, the top teams, the
//! sortable teams table with its roster exports, and a drill-down from the city into a district.
//! Saves a full-page screenshot to `$CARGO_TARGET_DIR/dashboard-screenshot.png`.
//!
//! Without `chromium` and `chromedriver` the test says it is skipped; with
//! FEIHONG_REQUIRE_SERVICES=1 it fails instead.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{Datelike as _, NaiveDate, Utc};
use fantoccini::{Client, ClientBuilder, Locator};
use feihong_tests::fixtures::CREATE_TEAM;
use feihong_tests::{Backend, Session, TEST_PASSWORD, TeamFixture, TestApp};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
/// A team name with markup in it: the page must show it as text, never parse it.
const TRICKY_TEAM: &str = "禅城<b>反诈</b>宣传队";

fn on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// chromedriver's path, or `None` after saying the test is skipped.
fn browser_tools() -> Option<PathBuf> {
    let driver = on_path("chromedriver");
    if driver.is_some() && Path::new(CHROMIUM).is_file() {
        return driver;
    }
    let required = std::env::var("FEIHONG_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "dashboard: chromium/chromedriver are missing and FEIHONG_REQUIRE_SERVICES=1 \
         (apt-get install chromium chromium-driver)"
    );
    eprintln!(
        "SKIPPED dashboard: chromium is not installed (apt-get install chromium chromium-driver)"
    );
    None
}

/// A chromedriver child process, killed when dropped (also when the test panics).
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(binary: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            let status = http.get(format!("{}/status", driver.url)).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not become ready on port {port}");
    }

    async fn session(&self, downloads: &Path) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a headless Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where cargo puts build output: `$CARGO_TARGET_DIR` (relative to the workspace) or `target/`.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// A team of the given kind, made by the area's admin, like `app.team` (which makes patrols).
async fn team_of_kind(app: &TestApp, name: &str, area: &str, kind: &str) -> TeamFixture {
    let admin = app.area_admin(area).await;
    let leader = app.register("13500000001", &format!("{kind} 队长")).await;
    let input = json!({ "input": {
        "name": name, "kind": kind, "areaId": app.area_id(area).await, "joinPolicy": "OPEN",
        "leaderId": leader.volunteer_id,
    } });
    let created = app.graphql_as(&admin, CREATE_TEAM, input).await;
    let id = created.data()["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    TeamFixture { id, leader, admin }
}

/// Waits until the statistics and the team leaderboard show the seeded minutes.
async fn settled(app: &TestApp, admin: &Session, total: i64, top: i64) {
    let query = "query($area: ID!, $from: Date!, $to: Date!) {
      participationStats(areaId: $area, from: $from, to: $to) { totals { approvedMinutes } }
      teamLeaderboard(areaId: $area, period: YEAR, first: 1) { minutes }
    }";
    let today = today();
    let vars = json!({
        "area": app.area_id("440600").await,
        "from": (today - chrono::Duration::days(365)).to_string(),
        "to": today.to_string(),
    });
    for _ in 0..100 {
        let data = app.graphql_as(admin, query, vars.clone()).await;
        let data = data.data();
        if data["participationStats"]["totals"]["approvedMinutes"] == total
            && data["teamLeaderboard"][0]["minutes"] == top
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the statistics did not show the seeded minutes");
}

fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

async fn text(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned()
}

/// The number an element shows, read as a person would (thousands separators dropped).
async fn number(browser: &Client, css: &str) -> String {
    text(browser, css).await.replace(',', "")
}

async fn wait_for(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("waiting for {css}: {error}"));
}

async fn sign_in(browser: &Client, phone: &str) {
    wait_for(browser, "#sign-in:not([hidden]) #phone").await;
    let field = |id: &'static str| browser.find(Locator::Id(id));
    field("phone").await.unwrap().clear().await.unwrap();
    field("phone")
        .await
        .unwrap()
        .send_keys(phone)
        .await
        .unwrap();
    field("password")
        .await
        .unwrap()
        .send_keys(TEST_PASSWORD)
        .await
        .unwrap();
    field("sign-in-button")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Grows the window to the page's height so the screenshot shows the whole dashboard.
async fn screenshot(browser: &Client) -> PathBuf {
    let height = browser
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(1000)
        .clamp(1000, 4000);
    browser
        .set_window_size(1400, height as u32 + 40)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = browser.screenshot().await.unwrap();
    let path = target_dir().join("dashboard-screenshot.png");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, png).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_reads_the_dashboard_in_a_browser() {
    let Some(chromedriver) = browser_tools() else {
        return;
    };
    let Some(app) = TestApp::spawn(Backend::Sqlite, module_path!()).await else {
        return;
    };

    // The page and its assets, with their types and the strict policy.
    for (path, kind) in [
        ("/admin", "text/html"),
        ("/admin/dashboard.js", "text/javascript"),
        ("/admin/dashboard.css", "text/css"),
    ] {
        let response = app.http().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers();
        assert!(
            headers["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"));
    }

    // Shunde: a kung-fu patrol, 180 min this month and 90 in the previous one. Chancheng: an
    // anti-fraud team, 45 min this month.
    let today = today();
    let this_month = today.format("%Y-%m").to_string();
    let earlier = (today.with_day(1).unwrap() - chrono::Duration::days(1))
        .with_day(10)
        .unwrap();
    let last_month = earlier.format("%Y-%m").to_string();
    let shunde = app.team("顺德功夫巡逻队", "440606", "OPEN").await;
    let (a, b) = (app.member(&shunde).await, app.member(&shunde).await);
    let chancheng = team_of_kind(&app, TRICKY_TEAM, "440604", "ANTI_FRAUD").await;
    let c = app.member(&chancheng).await;
    let day = today.to_string();
    app.approved_minutes(&shunde, &a, 120, &day).await;
    app.approved_minutes(&shunde, &b, 60, &day).await;
    app.approved_minutes(&shunde, &a, 90, &earlier.to_string())
        .await;
    app.approved_minutes(&chancheng, &c, 45, &day).await;
    // The leaderboard counts the current year: January's previous month is last year's.
    let shunde_this_year = if earlier.year() == today.year() {
        270
    } else {
        180
    };
    let city = app.area_admin("440600").await;
    settled(&app, &city, 315, shunde_this_year).await;
    // One incident raised in Shunde, nobody on duty to answer it: the quick-response panel.
    let raise = "mutation($input: RaiseIncidentInput!) { raiseIncident(input: $input) { id } }";
    let incident = json!({ "kind": "SECURITY", "needed": 2,
        "location": { "address": "大良街道", "lat": 22.84, "lng": 113.25 } });
    app.graphql_as(&shunde.leader, raise, json!({ "input": incident }))
        .await
        .data();

    let driver = Driver::start(&chromedriver).await;
    let downloads = tempfile::tempdir().unwrap();
    let browser = driver.session(downloads.path()).await;
    browser.goto(&app.url("/admin")).await.unwrap();
    sign_in(&browser, "13900440600").await;
    wait_for(&browser, "#dashboard[data-state=\"ready\"]").await;

    // Totals over the last twelve months.
    assert_eq!(
        number(&browser, "#totals [data-metric=\"approvedMinutes\"]").await,
        "315"
    );
    assert_eq!(
        text(&browser, "#totals [data-metric=\"approvedHours\"]").await,
        "5.3"
    );
    assert_eq!(
        number(&browser, "#totals [data-metric=\"activeVolunteers\"]").await,
        "3"
    );
    assert_eq!(
        number(&browser, "#response [data-metric=\"incidents\"]").await,
        "1"
    );
    assert_eq!(
        number(&browser, "#response [data-metric=\"staffed\"]").await,
        "0"
    );

    // By month: twelve months in the table; the seeded two carry the minutes.
    let month = |metric: &str, key: &str| {
        format!("#table-month td[data-metric=\"{metric}\"][data-key=\"{key}\"]")
    };
    let cells = browser
        .find_all(Locator::Css(
            "#table-month td[data-metric=\"approvedMinutes\"]",
        ))
        .await
        .unwrap();
    assert_eq!(cells.len(), 12);
    assert_eq!(
        number(&browser, &month("approvedMinutes", &this_month)).await,
        "225"
    );
    assert_eq!(
        number(&browser, &month("activeVolunteers", &this_month)).await,
        "3"
    );
    assert_eq!(
        number(&browser, &month("approvedMinutes", &last_month)).await,
        "90"
    );
    assert_eq!(
        number(&browser, &month("activeVolunteers", &last_month)).await,
        "1"
    );
    let bar_label = format!(
        "#chart-month-hours text[data-metric=\"approvedHours\"][data-key=\"{this_month}\"]"
    );
    assert_eq!(text(&browser, &bar_label).await, "3.8");

    // By district and by team kind.
    let cell = |table: &str, key: &str| {
        format!("#table-{table} td[data-metric=\"approvedMinutes\"][data-key=\"{key}\"]")
    };
    assert_eq!(number(&browser, &cell("district", "顺德区")).await, "270");
    assert_eq!(number(&browser, &cell("district", "禅城区")).await, "45");
    assert_eq!(number(&browser, &cell("kind", "功夫巡逻队")).await, "270");
    assert_eq!(number(&browser, &cell("kind", "反诈宣传队")).await, "45");

    // Top teams this year, the markup in a name shown as text.
    let rows = browser
        .find_all(Locator::Css("#table-teams tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let team = |rank: u8, metric: &str| {
        format!("#table-teams tr[data-rank=\"{rank}\"] td[data-metric=\"{metric}\"]")
    };
    assert_eq!(text(&browser, &team(1, "name")).await, "顺德功夫巡逻队");
    assert_eq!(
        number(&browser, &team(1, "minutes")).await,
        shunde_this_year.to_string()
    );
    assert_eq!(text(&browser, &team(2, "name")).await, TRICKY_TEAM);
    assert_eq!(number(&browser, &team(2, "minutes")).await, "45");
    assert!(
        browser
            .find_all(Locator::Css("#dashboard b"))
            .await
            .unwrap()
            .is_empty(),
        "server text must never become markup"
    );

    let path = screenshot(&browser).await;
    println!("dashboard screenshot: {}", path.display());

    // The menu holds the city and every district and town below it.
    let options = |level: &str| format!("#area option[data-level=\"{level}\"]");
    let count = |css: String| {
        let browser = browser.clone();
        async move { browser.find_all(Locator::Css(&css)).await.unwrap().len() }
    };
    assert_eq!(count(options("CITY")).await, 1);
    assert_eq!(count(options("DISTRICT")).await, 5);
    assert!(count(options("TOWN")).await >= 5);

    teams_table(&browser, &shunde.id, &chancheng.id, shunde_this_year).await;

    // The CSV export downloads through the page (fetch with the bearer token, then a blob).
    browser
        .find(Locator::Id("export"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&browser, "#export[data-bytes]").await;
    let csv = downloaded_csv(downloads.path(), "participation").await;
    assert!(csv.contains("顺德区"), "{csv}");
    assert!(csv.lines().any(|line| line.ends_with(",45")), "{csv}");

    // Each team's roster downloads from its row: the admin sees the numbers masked.
    let roster = format!(
        "#table-all-teams button[data-export=\"roster\"][data-team-id=\"{}\"]",
        shunde.id
    );
    browser
        .find(Locator::Css(&roster))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&browser, &format!("{roster}[data-bytes]")).await;
    let csv = downloaded_csv(downloads.path(), "roster_").await;
    assert!(csv.starts_with('\u{feff}'), "UTF-8 with BOM");
    assert!(csv.contains("手机号 Phone"), "{csv}");
    let masked = format!("{}****{}", &a.phone[..3], &a.phone[7..]);
    assert!(csv.contains(&masked) && !csv.contains(&a.phone), "{csv}");
    assert_eq!(
        csv.lines().count(),
        4,
        "the header, the leader and two members: {csv}"
    );

    drill_down(&browser, &app.area_id("440606").await, &shunde.id).await;

    // A volunteer who is no admin is told so, in plain words.
    browser
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    sign_in(&browser, &a.phone).await;
    wait_for(&browser, "#error[data-code=\"NOT_ADMIN\"]:not([hidden])").await;
    let message = text(&browser, "#error").await;
    assert!(
        message.contains("不是管理员") && message.contains("Not an admin"),
        "{message}"
    );
    assert!(
        browser
            .find(Locator::Id("dashboard"))
            .await
            .unwrap()
            .attr("hidden")
            .await
            .unwrap()
            .is_some(),
        "a volunteer sees no dashboard"
    );

    browser.close().await.unwrap();
}

/// The exported file whose name starts with `prefix`, once Chromium has finished writing it.
async fn downloaded_csv(dir: &Path, prefix: &str) -> String {
    for _ in 0..100 {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .find(|path| {
                path.extension().is_some_and(|ext| ext == "csv")
                    && path
                        .file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with(prefix))
            });
        if let Some(path) = done {
            return std::fs::read_to_string(path).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no CSV was downloaded to {}", dir.display());
}

/// The ids of the teams table's rows, top to bottom.
async fn team_rows(browser: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    for row in browser
        .find_all(Locator::Css("#table-all-teams tbody tr"))
        .await
        .unwrap()
    {
        ids.push(row.attr("data-team-id").await.unwrap().unwrap_or_default());
    }
    ids
}

async fn sort_by(browser: &Client, key: &str) {
    let css = format!("#table-all-teams button[data-sort=\"{key}\"]");
    browser
        .find(Locator::Css(&css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The city's teams with their members and hours, sorted by hours this year, then by name
/// (pinyin: 禅城 before 顺德), then by hours again.
async fn teams_table(browser: &Client, shunde: &str, chancheng: &str, shunde_minutes: i64) {
    let cell = |team: &str, metric: &str| {
        format!("#table-all-teams tr[data-team-id=\"{team}\"] td[data-metric=\"{metric}\"]")
    };
    assert_eq!(team_rows(browser).await, [shunde, chancheng]);
    assert_eq!(text(browser, &cell(shunde, "name")).await, "顺德功夫巡逻队");
    assert_eq!(text(browser, &cell(chancheng, "name")).await, TRICKY_TEAM);
    assert_eq!(number(browser, &cell(shunde, "memberCount")).await, "3");
    assert_eq!(number(browser, &cell(shunde, "activeMembers")).await, "2");
    let hours = format!("{:.1}", shunde_minutes as f64 / 60.0);
    assert_eq!(text(browser, &cell(shunde, "minutesYear")).await, hours);
    assert_eq!(text(browser, &cell(shunde, "minutesAll")).await, "4.5");
    assert_eq!(number(browser, &cell(chancheng, "memberCount")).await, "2");
    assert_eq!(text(browser, &cell(chancheng, "minutesYear")).await, "0.8");
    assert!(text(browser, "#teams-note").await.contains("2 teams"));

    sort_by(browser, "name").await;
    wait_for(
        browser,
        "#table-all-teams table[data-sort=\"name\"][data-order=\"asc\"]",
    )
    .await;
    assert_eq!(team_rows(browser).await, [chancheng, shunde]);
    sort_by(browser, "name").await;
    wait_for(
        browser,
        "#table-all-teams table[data-sort=\"name\"][data-order=\"desc\"]",
    )
    .await;
    assert_eq!(team_rows(browser).await, [shunde, chancheng]);
    sort_by(browser, "memberCount").await;
    wait_for(
        browser,
        "#table-all-teams table[data-sort=\"memberCount\"][data-order=\"desc\"]",
    )
    .await;
    assert_eq!(team_rows(browser).await, [shunde, chancheng]);
    let sorted = browser
        .find(Locator::Css(
            "#table-all-teams th[aria-sort=\"descending\"]",
        ))
        .await
        .unwrap();
    assert!(sorted.text().await.unwrap().contains("成员"));
}

/// The city's admin picks Shunde district: its figures only, broken down by town (its team
/// sits at the district, 区直属), and its one team.
async fn drill_down(browser: &Client, district: &str, shunde: &str) {
    browser
        .find(Locator::Id("area"))
        .await
        .unwrap()
        .select_by_value(district)
        .await
        .unwrap();
    wait_for(
        browser,
        &format!("#dashboard[data-state=\"ready\"][data-area=\"{district}\"]"),
    )
    .await;
    assert_eq!(
        number(browser, "#totals [data-metric=\"approvedMinutes\"]").await,
        "270"
    );
    assert!(text(browser, "#heading-area").await.contains("By town"));
    let town = "#table-district td[data-metric=\"approvedMinutes\"][data-key=\"区直属\"]";
    assert_eq!(number(browser, town).await, "270");
    assert_eq!(team_rows(browser).await, [shunde]);
    assert!(text(browser, "#teams-note").await.contains("1 team"));
}
