//! Which periods' tallies are kept: all time and the current and previous year, month and ISO
//! week, the ones readers and the leaderboard store ask for. A review of an old record writes
//! no tally of its old week or month, and the upkeep prunes those written before, without
//! changing any answer. On SQLite and PostgreSQL.

use chrono::{Duration, Utc};
use feihong_tests::{TestApp, on_every_backend};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};

const HOURS: &str = "{ me { serviceMinutes week: serviceMinutes(period: WEEK) month: serviceMinutes(period: MONTH) year: serviceMinutes(period: YEAR) } }";

/// A day `days_ago` in the city's time zone, as the API takes dates.
fn day(days_ago: i64) -> String {
    (Utc::now().with_timezone(&chrono_tz::Asia::Shanghai) - Duration::days(days_ago))
        .format("%Y-%m-%d")
        .to_string()
}

/// The (period, key) of every tally row of kind `kind`, sorted.
async fn keys(app: &TestApp, kind: &str) -> Vec<(String, String)> {
    let db = app.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT DISTINCT period, period_key FROM tallies WHERE kind = '{kind}' \
                 ORDER BY period, period_key"
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "period").unwrap(),
                row.try_get("", "period_key").unwrap(),
            )
        })
        .collect()
}

/// Copies every tally of `period` to `old_key`, as reviews wrote them before periods were kept.
async fn write_old_tallies(app: &TestApp, period: &str, old_key: &str) -> u64 {
    let db = app.database().await;
    db.execute_unprepared(&format!(
        "INSERT INTO tallies (kind, volunteer_id, team_id, area_id, team_kind, period, period_key, \
           minutes, version, updated_at) \
         SELECT kind, volunteer_id, team_id, area_id, team_kind, period, '{old_key}', minutes, \
           version, updated_at FROM tallies WHERE period = '{period}'"
    ))
    .await
    .unwrap()
    .rows_affected()
}

on_every_backend! {
    async fn an_old_record_counts_in_all_time_and_its_year_but_writes_no_tally_of_its_old_week_or_month(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let (old, recent) = (day(70), day(0));
        app.approved_minutes(&team, &member, 200, &old).await;
        app.approved_minutes(&team, &member, 100, &recent).await;

        let hours = app.graphql_as(&member, HOURS, json!({})).await.data()["me"].clone();
        assert_eq!(hours["serviceMinutes"], 300);
        assert_eq!(hours["week"], 100);
        assert_eq!(hours["month"], 100);
        let same_year = old[..4] == recent[..4];
        assert_eq!(hours["year"], if same_year { 300 } else { 100 });

        let written = keys(&app, "VOLUNTEER").await;
        let old_week_and_month = [
            ("MONTH".to_owned(), old[..7].to_owned()),
            ("WEEK".to_owned(), week_key(70)),
        ];
        for old_key in &old_week_and_month {
            assert!(!written.contains(old_key), "{old_key:?} written: {written:?}");
        }
        assert!(written.contains(&("MONTH".to_owned(), recent[..7].to_owned())));
        assert!(written.contains(&("YEAR".to_owned(), old[..4].to_owned())), "the previous or current year is kept");
    }

    async fn the_upkeep_prunes_tallies_of_old_periods_and_every_answer_stays_the_same(app: TestApp) {
        let team = app.team("南海防诈队", "440605", "OPEN").await;
        let member = app.member(&team).await;
        app.approved_minutes(&team, &member, 150, &day(0)).await;
        let before = app.graphql_as(&member, HOURS, json!({})).await.data()["me"].clone();
        let board = "{ leaderboard(scope: { city: true }, period: WEEK) { total entries { minutes } } }";
        // The board follows the approval through its outbox: read it once it has.
        let mut board_before = Value::Null;
        for _ in 0..150 {
            board_before = app.graphql_as(&member, board, json!({})).await.data()["leaderboard"].clone();
            if board_before["total"] == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(board_before["total"], 1, "the approval reached the board: {board_before}");

        let mut old = 0;
        for (period, key) in [("WEEK", "2020-W01"), ("MONTH", "2020-01"), ("YEAR", "2020")] {
            old += write_old_tallies(&app, period, key).await;
        }
        assert!(old >= 9, "volunteer, member and team tallies of three periods: {old}");
        let services = feihong_api::app::build_services(&app.config).await.unwrap();
        // The server's own upkeep may prune some of them first; together they prune them all.
        let pruned = services.tallies.prune_past_periods().await.unwrap();
        assert!(pruned <= old, "pruned {pruned} of {old}");
        assert_eq!(services.tallies.prune_past_periods().await.unwrap(), 0, "nothing left to prune");
        services.db.clone().close().await.ok();

        let left = keys(&app, "VOLUNTEER").await;
        assert!(left.iter().all(|(_, key)| !key.starts_with("2020")), "{left:?}");
        assert_eq!(left.len(), 4, "all time and this year, month and week: {left:?}");
        assert_eq!(app.graphql_as(&member, HOURS, json!({})).await.data()["me"], before);
        let board_after: Value = app.graphql_as(&member, board, json!({})).await.data()["leaderboard"].clone();
        assert_eq!(board_after, board_before);
    }
}

/// The ISO week key of the day `days_ago` (`2026-W49`).
fn week_key(days_ago: i64) -> String {
    use chrono::Datelike as _;
    let date = (Utc::now().with_timezone(&chrono_tz::Asia::Shanghai) - Duration::days(days_ago))
        .date_naive()
        .iso_week();
    format!("{}-W{:02}", date.year(), date.week())
}
