//! `GET /admin/exports/participation.csv?areaId=…&from=…&to=…&groupBy=DISTRICT,MONTH` with an
//! admin's bearer token: the statistics' rows as CSV, UTF-8 with a byte-order mark so
//! spreadsheet programs show the Chinese labels correctly.
//!
//! Every CSV the service produces is written through [`CsvWriter`], which neutralises cells a
//! spreadsheet would run as a formula ([`neutralise`]): names are user input.

use std::borrow::Cow;

use async_graphql::ID;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use feihong_domain::Error as DomainError;
use feihong_domain::policy;
use serde::Deserialize;

use crate::app::AppState;
use crate::graphql::scalars::Date;
use crate::graphql::stats::{StatsDimension, participation};
use crate::http::retry;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportQuery {
    area_id: String,
    from: String,
    to: String,
    #[serde(default)]
    group_by: Option<String>,
}

const COLUMNS: [&str; 7] = [
    "活跃志愿者 Active volunteers",
    "新注册 New volunteers",
    "举办活动 Events held",
    "报名 Sign-ups",
    "到场 Attended",
    "缺席 No-shows",
    "服务分钟 Approved minutes",
];

/// A cell a spreadsheet would take as a formula (OWASP "CSV injection": a leading `=`, `+`, `-`,
/// `@`, tab or carriage return) is prefixed with a single quote, so it shows as the text it is.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A CSV writer that neutralises every cell; the one way the service writes CSV.
pub struct CsvWriter {
    inner: csv::Writer<Vec<u8>>,
    ok: bool,
}

impl CsvWriter {
    pub fn new() -> Self {
        Self {
            inner: csv::Writer::from_writer(Vec::new()),
            ok: true,
        }
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| neutralise(cell.as_ref()).into_owned())
            .collect();
        self.ok &= self.inner.write_record(cells).is_ok();
    }

    /// The CSV bytes, or `None` when a row could not be written.
    pub fn finish(self) -> Option<Vec<u8>> {
        let bytes = self.inner.into_inner().ok()?;
        self.ok.then_some(bytes)
    }
}

impl Default for CsvWriter {
    fn default() -> Self {
        Self::new()
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

/// The database is away: 503 with `Retry-After`, so the dashboard knows to try again.
fn unavailable() -> Response {
    let mut response = refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "the database is unavailable; try again shortly",
    );
    let (name, value) = retry::retry_after();
    response.headers_mut().insert(name, value);
    response
}

fn parse_dimension(raw: &str) -> Option<StatsDimension> {
    Some(match raw.trim() {
        "DISTRICT" => StatsDimension::District,
        "TOWN" => StatsDimension::Town,
        "TEAM_KIND" => StatsDimension::TeamKind,
        "TEAM" => StatsDimension::Team,
        "DAY" => StatsDimension::Day,
        "WEEK" => StatsDimension::Week,
        "MONTH" => StatsDimension::Month,
        _ => return None,
    })
}

fn dimension_label(dim: StatsDimension) -> &'static str {
    match dim {
        StatsDimension::District => "区 District",
        StatsDimension::Town => "镇街 Town",
        StatsDimension::TeamKind => "队伍类型 Team kind",
        StatsDimension::Team => "队伍 Team",
        StatsDimension::Day => "日期 Day",
        StatsDimension::Week => "周 Week",
        StatsDimension::Month => "月份 Month",
    }
}

pub async fn participation_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ExportQuery>,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned);
    let viewer = match state
        .services
        .accounts
        .authenticate(bearer.as_deref())
        .await
    {
        Ok(viewer) => viewer,
        Err(DomainError::Unavailable(_)) => return unavailable(),
        Err(_) => return refuse(StatusCode::UNAUTHORIZED, "sign in as an admin"),
    };
    let Ok(actor) = policy::check_signed_in(&viewer) else {
        return refuse(StatusCode::UNAUTHORIZED, "sign in as an admin");
    };
    let date = |raw: &str| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().map(Date);
    let (Some(from), Some(to)) = (date(&query.from), date(&query.to)) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "from and to are dates as YYYY-MM-DD",
        );
    };
    let mut dims = Vec::new();
    for raw in query
        .group_by
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        match parse_dimension(raw) {
            Some(dim) => dims.push(dim),
            None => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("unknown groupBy dimension {raw:?}"),
                );
            }
        }
    }
    let stats =
        match participation(&state.services, actor, &ID(query.area_id), from, to, &dims).await {
            Ok(stats) => stats,
            Err(error) => {
                let error: async_graphql::Error = error.into();
                let code = error
                    .extensions
                    .as_ref()
                    .and_then(|e| e.get("code"))
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                let status = if code.contains("UNAVAILABLE") {
                    return unavailable();
                } else if code.contains("FORBIDDEN") {
                    StatusCode::FORBIDDEN
                } else if code.contains("INTERNAL") {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::BAD_REQUEST
                };
                return refuse(status, &error.message);
            }
        };
    let mut writer = CsvWriter::new();
    writer.row(dims.iter().map(|d| dimension_label(*d)).chain(COLUMNS));
    let figures = |f: &feihong_domain::stats::Figures| {
        [
            f.active_volunteers,
            f.new_volunteers,
            f.events_held,
            f.sign_ups,
            f.attended,
            f.no_shows,
            f.approved_minutes,
        ]
        .map(|n| n.to_string())
    };
    for row in &stats.rows {
        writer.row(row.key.iter().cloned().chain(figures(&row.figures)));
    }
    let mut total: Vec<String> = vec!["合计 Total".to_owned()];
    total.extend(std::iter::repeat_n(
        String::new(),
        dims.len().saturating_sub(1),
    ));
    if dims.is_empty() {
        total.clear();
    }
    writer.row(total.into_iter().chain(figures(&stats.totals)));
    let Some(body) = writer.finish() else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "could not write the CSV");
    };
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(body);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"participation.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        for (cell, shown) in [
            ("=1+2<script>", "'=1+2<script>"),
            ("+86 139", "'+86 139"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
        ] {
            assert_eq!(neutralise(cell), shown);
        }
        for cell in ["顺德区", "120", "", "a=b", "'quoted", " =1"] {
            assert_eq!(neutralise(cell), cell);
        }
    }

    #[test]
    fn the_writer_neutralises_every_cell() {
        let mut writer = CsvWriter::new();
        writer.row(["队伍 Team", "Minutes"]);
        writer.row(["=HYPERLINK(\"http://x\")", "60"]);
        let text = String::from_utf8(writer.finish().unwrap()).unwrap();
        assert_eq!(
            text,
            "队伍 Team,Minutes\n\"'=HYPERLINK(\"\"http://x\"\")\",60\n"
        );
    }
}
