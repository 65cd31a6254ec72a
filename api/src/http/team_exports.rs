//! A team's exports, with a bearer token of one of its leaders or deputies or an admin of its
//! area (401 anonymous, 403 anyone else, 404 for an ID that names no team or event, all as
//! [`ApiError`]s):
//!
//! - `GET /teams/{id}/exports/roster.csv`: the ACTIVE members, their role, phone number as the
//!   caller may see it (`policy::member_phone`: in full for leaders and deputies, masked for
//!   admins), when they joined and their approved minutes for the team this year and in all.
//! - `GET /events/{id}/exports/attendance.csv`: every sign-up of the event, its status, the
//!   check-in and check-out in the city's time zone and how each was recorded, the minutes
//!   credited and the review state of the record.
//!
//! `{id}` is the GraphQL global ID. UTF-8 with a byte-order mark and bilingual headers, like the
//! participation export, and every cell through the same [`CsvWriter`]. The body is streamed a
//! page of 500 lines at a time: a team of thousands is never held in memory at once.

use std::future::Future;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use feihong_domain::Error as DomainError;
use feihong_domain::attendance_sheet::{RecordedBy, SHEET_PAGE, SheetLine};
use feihong_domain::ids::{EventId, TeamId};
use feihong_domain::kinds::{MemberRole, RecordStatus, SignUpStatus};
use feihong_domain::teams::{ROSTER_PAGE, RosterLine};
use futures::{Stream, StreamExt as _, TryStreamExt as _, stream};

use crate::error::current_request_id;
use crate::graphql::ids::{self, NodeType};
use crate::http::auth::SignedIn;
use crate::http::error::ApiError;
use crate::http::exports::CsvWriter;
use crate::state::AppState;

/// The number a global ID of `expected` names; anything else names nothing (404).
fn node_number(id: &str, expected: NodeType, what: &'static str) -> Result<i64, ApiError> {
    match ids::decode(id) {
        Some((node_type, number)) if node_type == expected => Ok(number),
        _ => Err(DomainError::NotFound(what).into()),
    }
}

fn local_time(at: DateTime<Utc>, timezone: Tz) -> String {
    at.with_timezone(&timezone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn role_label(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Leader => "队长 Leader",
        MemberRole::Deputy => "副队长 Deputy",
        MemberRole::Member => "队员 Member",
    }
}

fn sign_up_label(status: SignUpStatus) -> &'static str {
    match status {
        SignUpStatus::Confirmed => "已确认 Confirmed",
        SignUpStatus::Waitlisted => "候补 Waitlisted",
        SignUpStatus::Cancelled => "已取消 Cancelled",
        SignUpStatus::NoShow => "缺席 No-show",
    }
}

fn recorded_label(by: RecordedBy) -> &'static str {
    match by {
        RecordedBy::SelfByGps => "本人定位 Self by GPS",
        RecordedBy::Leader => "队长代签 Leader",
        RecordedBy::Automatically => "系统自动 Closed automatically",
        RecordedBy::SelfOffline => "本人离线补报 Self, reported offline",
    }
}

fn review_label(status: RecordStatus) -> &'static str {
    match status {
        RecordStatus::Pending => "待审核 Pending",
        RecordStatus::Approved => "已通过 Approved",
        RecordStatus::Rejected => "未通过 Rejected",
    }
}

pub const ROSTER_COLUMNS: [&str; 6] = [
    "姓名 Name",
    "角色 Role",
    "手机号 Phone",
    "入队日期 Joined",
    "本年本队服务分钟 Approved minutes for the team this year",
    "累计本队服务分钟 Approved minutes for the team, all time",
];

/// A roster line as its CSV row; the joining date is the city's.
pub fn roster_row(line: &RosterLine, timezone: Tz) -> [String; 6] {
    [
        line.display_name.clone(),
        role_label(line.role).to_owned(),
        line.phone.clone().unwrap_or_default(),
        line.joined_at
            .with_timezone(&timezone)
            .format("%Y-%m-%d")
            .to_string(),
        line.minutes_this_year.to_string(),
        line.minutes_all_time.to_string(),
    ]
}

/// The attendance sheet's header; the times' columns name the city's time zone.
pub fn attendance_columns(timezone: Tz) -> [String; 10] {
    [
        "志愿者 Volunteer".to_owned(),
        "报名状态 Sign-up status".to_owned(),
        format!("报名时间 Signed up ({timezone})"),
        format!("签到时间 Check-in ({timezone})"),
        "签到方式 Check-in by".to_owned(),
        format!("签退时间 Check-out ({timezone})"),
        "签退方式 Check-out by".to_owned(),
        "服务分钟 Credited minutes".to_owned(),
        "审核状态 Review".to_owned(),
        "需复核 Needs review".to_owned(),
    ]
}

/// A sign-up as its CSV row: blank where nothing happened yet (no check-in, no record).
pub fn attendance_row(line: &SheetLine, timezone: Tz) -> [String; 10] {
    let attendance = line.attendance.as_ref();
    let record = line.record.as_ref();
    let time = |at: Option<DateTime<Utc>>| at.map(|at| local_time(at, timezone));
    let by = |by: Option<RecordedBy>| by.map(recorded_label).unwrap_or_default().to_owned();
    [
        line.display_name.clone(),
        sign_up_label(line.status).to_owned(),
        local_time(line.signed_up_at, timezone),
        time(attendance.map(|a| a.check_in_at)).unwrap_or_default(),
        by(attendance.map(|a| a.checked_in_by)),
        time(attendance.and_then(|a| a.check_out_at)).unwrap_or_default(),
        by(attendance.and_then(|a| a.checked_out_by)),
        record.map(|r| r.minutes.to_string()).unwrap_or_default(),
        record
            .map(|r| review_label(r.status))
            .unwrap_or_default()
            .to_owned(),
        match record {
            Some(r) if r.needs_review => "是 Yes",
            Some(_) => "否 No",
            None => "",
        }
        .to_owned(),
    ]
}

/// Rows as CSV bytes, every cell neutralised; the byte-order mark first when `bom`.
fn csv_chunk<R, S>(rows: impl IntoIterator<Item = R>, bom: bool) -> Result<Bytes, DomainError>
where
    R: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut writer = CsvWriter::new();
    for row in rows {
        writer.row(row);
    }
    let body = writer
        .finish()
        .ok_or_else(|| DomainError::internal("could not write the CSV"))?;
    let mut bytes = if bom {
        "\u{feff}".as_bytes().to_vec()
    } else {
        Vec::new()
    };
    bytes.extend(body);
    Ok(Bytes::from(bytes))
}

/// The pages a `read` of (cursor) → (CSV bytes, next cursor) gives, from the first until one
/// names no next cursor.
fn pages<C, F, Fut>(read: F) -> impl Stream<Item = Result<Bytes, DomainError>>
where
    C: Send,
    F: Fn(Option<C>) -> Fut,
    Fut: Future<Output = Result<(Bytes, Option<C>), DomainError>>,
{
    stream::try_unfold((Some(None), read), |(cursor, read)| async move {
        let Some(after) = cursor else {
            return Ok(None);
        };
        let (bytes, next) = read(after).await?;
        Ok(Some((bytes, (next.map(Some), read))))
    })
}

/// A streamed CSV download: the header row (with the byte-order mark), then the pages. A page
/// that fails ends the download early (the client sees a broken transfer, not a short file
/// that looks whole); its cause is logged here, with the request id.
fn csv_stream(
    filename: &'static str,
    header_row: Bytes,
    rest: impl Stream<Item = Result<Bytes, DomainError>> + Send + 'static,
) -> Response {
    let request_id = current_request_id();
    let body = stream::once(async move { Ok(header_row) })
        .chain(rest)
        .map_err(move |error| {
            tracing::error!(request_id = %request_id, %error, "an export failed while streaming");
            std::io::Error::other("the export failed")
        });
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// `GET /teams/{id}/exports/roster.csv`.
pub async fn roster_csv(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let team = TeamId(node_number(&id, NodeType::Team, "team")?);
    let services = state.services.clone();
    let export = services.teams.open_roster(&actor, team).await?;
    tracing::info!(actor = %actor.volunteer, team = %team, "team roster exported");
    let timezone = services.timezone;
    let header_row = csv_chunk([ROSTER_COLUMNS], true)?;
    let rest = pages(move |after| {
        let (services, export) = (services.clone(), export.clone());
        async move {
            let page = services
                .teams
                .roster_page(&export, after, ROSTER_PAGE)
                .await?;
            let rows = page.lines.iter().map(|line| roster_row(line, timezone));
            Ok((csv_chunk(rows, false)?, page.next))
        }
    });
    Ok(csv_stream("roster.csv", header_row, rest))
}

/// `GET /events/{id}/exports/attendance.csv`.
pub async fn attendance_csv(
    State(state): State<AppState>,
    SignedIn(actor): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let event = EventId(node_number(&id, NodeType::Event, "event")?);
    let services = state.services.clone();
    let event = services.attendance_sheets.open(&actor, event).await?;
    let timezone = services.timezone;
    let header_row = csv_chunk([attendance_columns(timezone)], true)?;
    let rest = pages(move |after| {
        let (services, event) = (services.clone(), event.clone());
        async move {
            let page = services
                .attendance_sheets
                .page(&event, after, SHEET_PAGE)
                .await?;
            let rows = page.lines.iter().map(|line| attendance_row(line, timezone));
            Ok((csv_chunk(rows, false)?, page.next))
        }
    });
    Ok(csv_stream("attendance.csv", header_row, rest))
}

#[cfg(test)]
mod tests {
    use feihong_domain::attendance_sheet::{SheetAttendance, SheetRecord};
    use feihong_domain::ids::{MembershipId, SignUpId};

    use super::*;

    const SHANGHAI: Tz = chrono_tz::Asia::Shanghai;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().into()
    }

    fn text(rows: &[Vec<String>]) -> String {
        String::from_utf8(csv_chunk(rows.iter().cloned(), false).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn a_roster_line_shows_the_phone_as_given_and_the_city_s_joining_date() {
        let line = RosterLine {
            membership: MembershipId(1),
            display_name: "=1+2 黄飞鸿".to_owned(),
            role: MemberRole::Deputy,
            phone: Some("13812345678".to_owned()),
            // 23:30 UTC is the next morning in the city.
            joined_at: at("2026-03-01T23:30:00Z"),
            minutes_this_year: 90,
            minutes_all_time: 240,
        };
        let row = roster_row(&line, SHANGHAI);
        assert_eq!(
            row,
            [
                "=1+2 黄飞鸿",
                "副队长 Deputy",
                "13812345678",
                "2026-03-02",
                "90",
                "240"
            ]
        );
        let hidden = roster_row(
            &RosterLine {
                phone: None,
                ..line
            },
            SHANGHAI,
        );
        assert_eq!(hidden[2], "");
        // Written out, the name is neutralised.
        assert_eq!(
            text(&[row.to_vec()]),
            "'=1+2 黄飞鸿,副队长 Deputy,13812345678,2026-03-02,90,240\n"
        );
    }

    #[test]
    fn an_attendance_line_shows_local_times_who_recorded_them_and_the_review() {
        let line = SheetLine {
            sign_up: SignUpId(3),
            display_name: "梁宽".to_owned(),
            status: SignUpStatus::Confirmed,
            signed_up_at: at("2026-05-01T02:00:00Z"),
            attendance: Some(SheetAttendance {
                check_in_at: at("2026-05-01T11:02:00Z"),
                checked_in_by: RecordedBy::SelfByGps,
                check_out_at: Some(at("2026-05-01T13:00:00Z")),
                checked_out_by: Some(RecordedBy::Leader),
            }),
            record: Some(SheetRecord {
                minutes: 118,
                status: RecordStatus::Pending,
                needs_review: true,
            }),
        };
        assert_eq!(
            attendance_row(&line, SHANGHAI),
            [
                "梁宽",
                "已确认 Confirmed",
                "2026-05-01 10:00",
                "2026-05-01 19:02",
                "本人定位 Self by GPS",
                "2026-05-01 21:00",
                "队长代签 Leader",
                "118",
                "待审核 Pending",
                "是 Yes",
            ]
        );
        let waiting = SheetLine {
            status: SignUpStatus::Waitlisted,
            attendance: None,
            record: None,
            ..line
        };
        let row = attendance_row(&waiting, SHANGHAI);
        assert_eq!(row[1], "候补 Waitlisted");
        assert!(row[3..].iter().all(String::is_empty), "{row:?}");
        assert_eq!(
            attendance_columns(SHANGHAI)[3],
            "签到时间 Check-in (Asia/Shanghai)"
        );
    }

    #[test]
    fn only_an_id_of_the_expected_type_names_something() {
        let team = ids::encode(NodeType::Team, 5).0;
        assert_eq!(node_number(&team, NodeType::Team, "team").unwrap(), 5);
        let volunteer = ids::encode(NodeType::Volunteer, 5).0;
        for id in [volunteer.as_str(), "x", "", "VGVhbTotMQ"] {
            let error = node_number(id, NodeType::Team, "team").unwrap_err();
            assert_eq!((error.status().as_u16(), error.code()), (404, "NOT_FOUND"));
        }
    }

    #[tokio::test]
    async fn pages_are_read_until_one_names_no_next() {
        let read = |after: Option<u32>| async move {
            let at = after.unwrap_or(0);
            let next = (at < 2).then_some(at + 1);
            Ok((Bytes::from(format!("{at};")), next))
        };
        let chunks: Vec<Bytes> = pages(read).try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"0;1;2;");
    }
}
