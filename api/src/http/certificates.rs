//! `GET /certificates/{code}`: a certificate as a printable page, in Chinese and English.
//!
//! The page is self-contained (inline CSS, no scripts, no external assets) so it prints and
//! archives as is, and its Content-Security-Policy forbids loading anything else. It is a maud
//! template, compiled in: every value is HTML-escaped unless wrapped in `PreEscaped`, which only
//! the constant style sheet is. Names are user input.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use chrono_tz::Tz;
use feihong_domain::Error as DomainError;
use feihong_domain::certificates::{Certificate, CertificateStatus, normalize_code};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::error::Classified;
use crate::state::AppState;

/// `12 小时 30 分钟 · 12 h 30 min`.
fn hours(minutes: i64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    format!("{h} 小时 {m} 分钟 · {h} h {m} min")
}

const STYLE: &str = "
*{box-sizing:border-box}
body{margin:0;background:#f3efe6;color:#222;font-family:'Songti SC','SimSun','Noto Serif CJK SC',serif;line-height:1.5}
main{max-width:780px;margin:32px auto;background:#fff;border:3px double #9b1c1c;padding:40px 48px}
h1{text-align:center;color:#9b1c1c;font-size:28px;margin:0}
.en{color:#555;font-size:0.85em}
h1 .en{display:block;font-size:16px;letter-spacing:0.08em;text-transform:uppercase}
.statement{margin:28px 0;font-size:18px;text-align:center}
.holder{font-size:26px;font-weight:bold;border-bottom:1px solid #222;padding:0 12px}
.total{font-size:22px;font-weight:bold;color:#9b1c1c}
table{width:100%;border-collapse:collapse;margin:16px 0}
th,td{border:1px solid #bbb;padding:6px 10px;text-align:left}
td.num{text-align:right;white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:20px 0}
dt{font-weight:bold}
dd{margin:0}
.code{font-family:'Courier New',monospace;font-size:18px;letter-spacing:0.05em}
.note{font-size:13px;color:#555;margin-top:24px}
.state{text-align:center;font-weight:bold;padding:8px;margin:16px 0;border:2px solid}
.state.revoked{color:#9b1c1c;border-color:#9b1c1c;background:#fdecec}
.state.superseded{color:#7a5a00;border-color:#c9a227;background:#fdf6e0}
.state.current{color:#1f6b2b;border-color:#1f6b2b}
@page{size:A4;margin:15mm}
@media print{body{background:#fff}main{margin:0;max-width:none;border-width:3px}}
";

/// The document around every page's content.
fn layout(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main { (content) } }
        }
    }
}

/// A label in Chinese with its English beside it.
fn bilingual(zh: &str, en: &str) -> Markup {
    html! { (zh) " " span.en { (en) } }
}

/// Whether the certificate still stands, shown above everything else.
fn state_html(certificate: &Certificate, timezone: Tz) -> Markup {
    match (certificate.status, certificate.revoked_at) {
        (CertificateStatus::Revoked, revoked_at) => {
            let when = revoked_at
                .map(|at| {
                    at.with_timezone(&timezone)
                        .format("%Y-%m-%d %H:%M (UTC%:z)")
                        .to_string()
                })
                .unwrap_or_default();
            html! { p.state.revoked {
                "已撤销：本证明所记载的部分服务时长已不再认定。" " " (when) br;
                span.en { "REVOKED: hours this certificate counted are no longer approved. " (when) }
            } }
        }
        (CertificateStatus::Superseded, _) => html! { p.state.superseded {
            "已有更新的证明；本证明所记载的时长仍然有效。" br;
            span.en { "SUPERSEDED: a newer certificate was issued; the hours stated here still stand." }
        } },
        (CertificateStatus::Current, _) => html! { p.state.current {
            "有效 " span.en { "CURRENT" }
        } },
    }
}

fn certificate_html(certificate: &Certificate, timezone: Tz) -> Markup {
    let date = |day: Option<NaiveDate>| {
        day.map_or_else(|| "—".to_owned(), |d| d.format("%Y-%m-%d").to_string())
    };
    let issued = certificate.issued_at.with_timezone(&timezone);
    let content = html! {
        h1 { "志愿服务时长证明" span.en { "Certificate of Volunteer Service" } }
        (state_html(certificate, timezone))
        p.statement {
            "兹证明 " span.holder { (certificate.holder_name) } " 参加志愿服务，经审核认定的服务时长为" br;
            span.en { "This certifies that the approved volunteer service of the holder named above amounts to" } br;
            span.total { (hours(certificate.total_minutes)) } br;
            span.en { "(" (certificate.total_minutes) " 分钟 minutes)" }
        }
        @if !certificate.by_team.is_empty() {
            table {
                thead { tr {
                    th { (bilingual("服务队伍", "Team")) }
                    th { (bilingual("服务时长", "Hours")) }
                    th { (bilingual("分钟", "Minutes")) }
                } }
                tbody {
                    @for line in &certificate.by_team {
                        tr { td { (line.team_name) } td.num { (hours(line.minutes)) } td.num { (line.minutes) } }
                    }
                }
            }
        }
        dl {
            dt { (bilingual("服务期间", "Service period")) }
            dd { (date(certificate.first_service_date)) " — " (date(certificate.last_service_date)) }
            dt { (bilingual("发证机构", "Issued by")) }
            dd { (certificate.issuing_organisation) }
            dt { (bilingual("发证时间", "Issued at")) }
            dd { (issued.format("%Y-%m-%d %H:%M (UTC%:z)")) }
            dt { (bilingual("证书编号", "Certificate No.")) }
            dd.code { (certificate.code) }
        }
        p.note {
            "本证明记载发证时经审核认定的服务时长，可凭证书编号查验真伪。" br;
            span.en { "This certificate states the approved hours at the time of issue; its number can be checked for authenticity." }
        }
    };
    layout(
        &format!("志愿服务时长证明 Certificate {}", certificate.code),
        content,
    )
}

/// `code` is echoed only when well-formed: nothing else typed in is reflected.
fn not_found_page(code: Option<&str>) -> Markup {
    let content = html! {
        h1 { "未找到证书" span.en { "Certificate not found" } }
        @if let Some(code) = code { p.code { (code) } }
        p.statement {
            "没有此编号的证书，请核对编号。" br;
            span.en { "No certificate has this number; please check it." }
        }
    };
    layout("未找到证书 Certificate not found", content)
}

fn unavailable_page() -> Markup {
    let content = html! {
        h1 { "暂时无法显示证书" span.en { "The certificate cannot be shown right now" } }
        p.statement { "请稍后再试。" span.en { "Please try again shortly." } }
    };
    layout("暂时无法显示 Temporarily unavailable", content)
}

/// The page with the headers every certificate answer carries.
fn page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    // The code in the URL is what proves the certificate: keep it out of referrers and caches.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

/// A failure as a page a person can read, with the status and `Retry-After` of the one error
/// table (503 with `Retry-After` while the database is away), never the cause.
fn failure_page(error: DomainError) -> Response {
    let classified = Classified::from(error);
    let mut response = page(classified.status, unavailable_page());
    if let Some(seconds) = classified.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

pub async fn certificate_page(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    match state.services.certificates.find(&code).await {
        Ok(Some(certificate)) => page(
            StatusCode::OK,
            certificate_html(&certificate, state.services.timezone),
        ),
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            not_found_page(normalize_code(&code).as_deref()),
        ),
        Err(error) => failure_page(error),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};
    use feihong_domain::certificates::CertificateLine;
    use feihong_domain::ids::{TeamId, VolunteerId};

    use super::*;

    fn certificate(holder: &str, team: &str) -> Certificate {
        Certificate {
            code: "FH-0000000000000000A".to_owned(),
            volunteer_id: VolunteerId(1),
            holder_name: holder.to_owned(),
            total_minutes: 750,
            by_team: vec![CertificateLine {
                team_id: TeamId(2),
                team_name: team.to_owned(),
                minutes: 750,
            }],
            first_service_date: NaiveDate::from_ymd_opt(2026, 5, 1),
            last_service_date: None,
            issued_at: Utc.with_ymd_and_hms(2026, 5, 2, 4, 30, 0).unwrap(),
            issuing_organisation: "Foshan Volunteer Federation",
            revoked_at: None,
            status: CertificateStatus::Current,
        }
    }

    fn render(certificate: &Certificate) -> String {
        certificate_html(certificate, chrono_tz::Asia::Shanghai).into_string()
    }

    #[test]
    fn the_page_states_the_holder_hours_teams_and_dates() {
        let html = render(&certificate("黄小明", "祖庙巡逻队"));
        assert!(
            html.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"),
            "{html}"
        );
        for expected in [
            "<title>志愿服务时长证明 Certificate FH-0000000000000000A</title>",
            "兹证明 <span class=\"holder\">黄小明</span> 参加志愿服务",
            "<span class=\"total\">12 小时 30 分钟 · 12 h 30 min</span>",
            "(750 分钟 minutes)",
            "<tr><td>祖庙巡逻队</td><td class=\"num\">12 小时 30 分钟 · 12 h 30 min</td><td class=\"num\">750</td></tr>",
            "<th>服务队伍 <span class=\"en\">Team</span></th>",
            "<dd>2026-05-01 — —</dd>",
            "<dd>Foshan Volunteer Federation</dd>",
            "<dd>2026-05-02 12:30 (UTC+08:00)</dd>",
            "<dd class=\"code\">FH-0000000000000000A</dd>",
        ] {
            assert!(html.contains(expected), "lacks {expected}: {html}");
        }
    }

    #[test]
    fn the_page_says_whether_the_certificate_stands() {
        let current = render(&certificate("黄小明", "祖庙巡逻队"));
        assert!(current.contains("<p class=\"state current\">"), "{current}");
        let superseded = render(&Certificate {
            status: CertificateStatus::Superseded,
            ..certificate("黄小明", "祖庙巡逻队")
        });
        assert!(superseded.contains("SUPERSEDED"), "{superseded}");
        let revoked = render(&Certificate {
            status: CertificateStatus::Revoked,
            revoked_at: Some(Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap()),
            ..certificate("黄小明", "祖庙巡逻队")
        });
        assert!(revoked.contains("<p class=\"state revoked\">"), "{revoked}");
        assert!(revoked.contains("已撤销") && revoked.contains("2026-06-01 10:00 (UTC+08:00)"));
    }

    #[test]
    fn markup_in_names_is_inert() {
        let html = render(&certificate(
            "<script>alert('x')</script> & \"q\"",
            "<img src=x onerror=alert(1)>",
        ));
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;q&quot;"),
            "{html}"
        );
        let without_teams = Certificate {
            by_team: Vec::new(),
            ..certificate("x", "y")
        };
        assert!(!render(&without_teams).contains("<table>"));
        assert_eq!(hours(750), "12 小时 30 分钟 · 12 h 30 min");
    }

    #[test]
    fn an_unknown_code_is_echoed_only_when_well_formed() {
        let shown = not_found_page(Some("FH-ABCDEFGHJKMNPQRS0")).into_string();
        assert!(shown.contains("Certificate not found"), "{shown}");
        assert!(
            shown.contains("<p class=\"code\">FH-ABCDEFGHJKMNPQRS0</p>"),
            "{shown}"
        );
        assert_eq!(normalize_code("<script>alert(1)</script>"), None);
        let hidden = not_found_page(None).into_string();
        assert!(!hidden.contains("<p class=\"code\">"), "{hidden}");
    }
}
