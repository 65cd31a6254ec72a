//! `GET /admin/exports/participation.csv?areaId=…&from=…&to=…&groupBy=DISTRICT,MONTH` with an
//! admin's bearer token: the statistics' rows as CSV, UTF-8 with a byte-order mark so
//! spreadsheet programs show the Chinese labels correctly. Refusals are [`ApiError`]s.
//!
//! Every CSV the service produces is written through [`CsvWriter`], which neutralises cells a
//! spreadsheet would run as a formula ([`neutralise`]): names are user input.

use std::borrow::Cow;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use feihong_domain::Error as DomainError;
use feihong_domain::ids::AreaId;
use feihong_domain::stats::{Dimension, Figures, ParticipationStats, UnknownDimension};
use feihong_domain::text::Text;
use serde::Deserialize;

use crate::graphql::ids::{self, NodeType};
use crate::http::auth::SignedIn;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The query string as sent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportQuery {
    area_id: String,
    from: String,
    to: String,
    #[serde(default)]
    group_by: Option<String>,
}

/// What the query string asks for, decoded.
#[derive(Debug, PartialEq, Eq)]
struct Export {
    area: AreaId,
    from: NaiveDate,
    to: NaiveDate,
    group_by: Vec<Dimension>,
}

impl ExportQuery {
    fn decode(&self) -> Result<Export, ApiError> {
        let area = match ids::decode(&self.area_id) {
            Some((NodeType::Area, number)) => AreaId(number),
            _ => return Err(ApiError::bad_input("areaId", "not-id-of-area")),
        };
        let date = |field: &str, raw: &str| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| ApiError::bad_input(field, "not-date-yyyy-mm-dd"))
        };
        Ok(Export {
            area,
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            group_by: group_by(self.group_by.as_deref().unwrap_or(""))?,
        })
    }
}

/// `DISTRICT,MONTH` → the dimensions, in order; blank items are skipped.
fn group_by(raw: &str) -> Result<Vec<Dimension>, ApiError> {
    raw.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            name.parse().map_err(|UnknownDimension(name)| {
                ApiError::bad_input("groupBy", Text::new("unknown-dimension").arg("name", name))
            })
        })
        .collect()
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

fn dimension_label(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::District => "区 District",
        Dimension::Town => "镇街 Town",
        Dimension::TeamKind => "队伍类型 Team kind",
        Dimension::Team => "队伍 Team",
        Dimension::Day => "日期 Day",
        Dimension::Week => "周 Week",
        Dimension::Month => "月份 Month",
    }
}

fn figures(figures: &Figures) -> [String; 7] {
    [
        figures.active_volunteers,
        figures.new_volunteers,
        figures.events_held,
        figures.sign_ups,
        figures.attended,
        figures.no_shows,
        figures.approved_minutes,
    ]
    .map(|n| n.to_string())
}

/// The label of the totals row.
const TOTAL_LABEL: &str = "合计 Total";
/// The label column's header when there are no dimensions to label the totals under.
const SCOPE_LABEL: &str = "范围 Scope";

/// The export's table: a header naming the dimensions and figures, one line per group, and one
/// totals row labelled `合计` (in the first dimension's column; without dimensions the table is
/// the header and that one totals row, under a label column of its own: the statistics' single
/// group is the totals themselves and is not printed twice).
pub fn participation_table(group_by: &[Dimension], stats: &ParticipationStats) -> Vec<Vec<String>> {
    let label_columns: Vec<&str> = if group_by.is_empty() {
        vec![SCOPE_LABEL]
    } else {
        group_by.iter().map(|d| dimension_label(*d)).collect()
    };
    let header = label_columns
        .iter()
        .copied()
        .chain(COLUMNS)
        .map(str::to_owned)
        .collect();
    let lines = stats
        .rows
        .iter()
        .filter(|_| !group_by.is_empty())
        .map(|row| {
            row.key
                .iter()
                .cloned()
                .chain(figures(&row.figures))
                .collect()
        });
    let total_label = std::iter::once(TOTAL_LABEL)
        .chain(std::iter::repeat_n("", label_columns.len() - 1))
        .map(str::to_owned);
    let totals = total_label.chain(figures(&stats.totals)).collect();
    std::iter::once(header)
        .chain(lines)
        .chain(std::iter::once(totals))
        .collect()
}

/// The table as a CSV download: UTF-8 with a byte-order mark, never cached.
fn csv_download(table: Vec<Vec<String>>) -> Result<Response, ApiError> {
    let mut writer = CsvWriter::new();
    for row in table {
        writer.row(row);
    }
    let body = writer
        .finish()
        .ok_or_else(|| DomainError::internal("could not write the CSV"))?;
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(body);
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"participation.csv\"",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, bytes).into_response())
}

/// Admins of the area only (401 without a signed-in caller, 403 outside their area); 400 for a
/// query string that does not decode, 503 with `Retry-After` while the database is away.
pub async fn participation_csv(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        // axum's own words, in English: which parameter is missing or malformed.
        ApiError::bad_input(
            "query",
            Text::new("query-does-not-decode").arg("detail", rejection.body_text()),
        )
    })?;
    let export = query.decode()?;
    let stats = state
        .services
        .stats
        .participation(
            &actor,
            export.area,
            export.from,
            export.to,
            &export.group_by,
        )
        .await?;
    csv_download(participation_table(&export.group_by, &stats))
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

    fn stats(rows: &[(&[&str], i64)], total: i64) -> ParticipationStats {
        let minutes = |approved_minutes| Figures {
            approved_minutes,
            ..Figures::default()
        };
        ParticipationStats {
            totals: minutes(total),
            rows: rows
                .iter()
                .map(|(key, n)| feihong_domain::stats::Row {
                    key: key.iter().map(|k| (*k).to_owned()).collect(),
                    figures: minutes(*n),
                })
                .collect(),
        }
    }

    #[test]
    fn the_table_has_a_header_a_line_per_group_and_the_totals() {
        let by = [Dimension::District, Dimension::Month];
        let table = participation_table(
            &by,
            &stats(
                &[(&["顺德区", "2026-05"], 120), (&["南海区", "2026-05"], 60)],
                180,
            ),
        );
        let text: Vec<String> = table.iter().map(|row| row.join(",")).collect();
        assert_eq!(
            text,
            [
                "区 District,月份 Month,活跃志愿者 Active volunteers,新注册 New volunteers,举办活动 Events held,报名 Sign-ups,到场 Attended,缺席 No-shows,服务分钟 Approved minutes",
                "顺德区,2026-05,0,0,0,0,0,0,120",
                "南海区,2026-05,0,0,0,0,0,0,60",
                "合计 Total,,0,0,0,0,0,0,180",
            ]
        );
    }

    #[test]
    fn without_dimensions_the_table_is_the_header_and_one_labelled_totals_row() {
        // The statistics without dimensions carry their one group as a row (key `[]`) besides
        // the totals: it is the totals, and printed once.
        let table = participation_table(&[], &stats(&[(&[], 45)], 45));
        let text: Vec<String> = table.iter().map(|row| row.join(",")).collect();
        assert_eq!(
            text,
            [
                "范围 Scope,活跃志愿者 Active volunteers,新注册 New volunteers,举办活动 Events held,报名 Sign-ups,到场 Attended,缺席 No-shows,服务分钟 Approved minutes",
                "合计 Total,0,0,0,0,0,0,45",
            ]
        );
        assert_eq!(participation_table(&[], &stats(&[], 45)), table);
    }

    #[test]
    fn group_by_takes_the_api_names_and_refuses_others() {
        assert_eq!(
            group_by(" DISTRICT, MONTH ,").unwrap(),
            [Dimension::District, Dimension::Month]
        );
        assert_eq!(group_by("").unwrap(), []);
        for name in ["TEAM_KIND", "TEAM", "TOWN", "DAY", "WEEK"] {
            assert_eq!(group_by(name).unwrap().len(), 1, "{name}");
        }
        for bad in ["district", "YEAR", "DISTRICT,=1+1"] {
            let error = group_by(bad).unwrap_err();
            assert_eq!(
                (error.status().as_u16(), error.code()),
                (400, "BAD_USER_INPUT"),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_query_string_decodes_or_names_what_is_wrong() {
        let area = ids::encode(NodeType::Area, 7).0;
        let query = |area_id: &str, from: &str| ExportQuery {
            area_id: area_id.to_owned(),
            from: from.to_owned(),
            to: "2026-05-31".to_owned(),
            group_by: Some("TEAM".to_owned()),
        };
        assert_eq!(
            query(&area, "2026-05-01").decode().unwrap(),
            Export {
                area: AreaId(7),
                from: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 5, 31).unwrap(),
                group_by: vec![Dimension::Team],
            }
        );
        let volunteer = ids::encode(NodeType::Volunteer, 7).0;
        for (area_id, from) in [
            (volunteer.as_str(), "2026-05-01"),
            ("x", "2026-05-01"),
            (&area, "May 1"),
        ] {
            let error = query(area_id, from).decode().unwrap_err();
            assert_eq!(error.status().as_u16(), 400);
        }
    }
}
