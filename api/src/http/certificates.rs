//! `GET /certificates/{code}`: a certificate as a printable page, in Chinese and English.
//!
//! The page is self-contained (inline CSS, no scripts, no external assets) so it prints and
//! archives as is, and its Content-Security-Policy forbids loading anything else. Every value
//! from the database is HTML-escaped: names are user input.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono_tz::Tz;
use feihong_domain::certificates::{Certificate, normalize_code};

use crate::app::AppState;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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
@page{size:A4;margin:15mm}
@media print{body{background:#fff}main{margin:0;max-width:none;border-width:3px}}
";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    );
    let mut response = (status, Html(html)).into_response();
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

fn certificate_body(certificate: &Certificate, timezone: Tz) -> String {
    let date = |day: Option<chrono::NaiveDate>| {
        day.map_or_else(|| "—".to_owned(), |d| d.format("%Y-%m-%d").to_string())
    };
    let issued = certificate.issued_at.with_timezone(&timezone);
    let mut body = String::new();
    // Writing to a String cannot fail; the results are ignored rather than unwrapped.
    let _ = write!(
        body,
        "<h1>志愿服务时长证明<span class=\"en\">Certificate of Volunteer Service</span></h1>\n\
         <p class=\"statement\">兹证明 <span class=\"holder\">{holder}</span> 参加志愿服务，\
         经审核认定的服务时长为<br><span class=\"en\">This certifies that the approved volunteer \
         service of the holder named above amounts to</span><br>\
         <span class=\"total\">{total}</span><br><span class=\"en\">({minutes} 分钟 minutes)</span></p>\n",
        holder = escape(&certificate.holder_name),
        total = escape(&hours(certificate.total_minutes)),
        minutes = certificate.total_minutes,
    );
    if !certificate.by_team.is_empty() {
        body.push_str(
            "<table>\n<thead><tr><th>服务队伍 <span class=\"en\">Team</span></th>\
             <th>服务时长 <span class=\"en\">Hours</span></th>\
             <th>分钟 <span class=\"en\">Minutes</span></th></tr></thead>\n<tbody>\n",
        );
        for line in &certificate.by_team {
            let _ = writeln!(
                body,
                "<tr><td>{team}</td><td class=\"num\">{hours}</td><td class=\"num\">{minutes}</td></tr>",
                team = escape(&line.team_name),
                hours = escape(&hours(line.minutes)),
                minutes = line.minutes,
            );
        }
        body.push_str("</tbody>\n</table>\n");
    }
    let _ = write!(
        body,
        "<dl>\n\
         <dt>服务期间 <span class=\"en\">Service period</span></dt><dd>{first} — {last}</dd>\n\
         <dt>发证机构 <span class=\"en\">Issued by</span></dt><dd>{organisation}</dd>\n\
         <dt>发证时间 <span class=\"en\">Issued at</span></dt><dd>{issued}</dd>\n\
         <dt>证书编号 <span class=\"en\">Certificate No.</span></dt><dd class=\"code\">{code}</dd>\n\
         </dl>\n\
         <p class=\"note\">本证明记载发证时经审核认定的服务时长，可凭证书编号查验真伪。<br>\
         <span class=\"en\">This certificate states the approved hours at the time of issue; \
         its number can be checked for authenticity.</span></p>\n",
        first = date(certificate.first_service_date),
        last = date(certificate.last_service_date),
        organisation = escape(certificate.issuing_organisation),
        issued = escape(&issued.format("%Y-%m-%d %H:%M (UTC%:z)").to_string()),
        code = escape(&certificate.code),
    );
    body
}

pub async fn certificate_page(State(state): State<AppState>, Path(code): Path<String>) -> Response {
    match state.services.certificates.find(&code).await {
        Ok(Some(certificate)) => page(
            StatusCode::OK,
            &format!("志愿服务时长证明 Certificate {}", escape(&certificate.code)),
            &certificate_body(&certificate, state.services.timezone),
        ),
        Ok(None) => {
            // Echo the code only when it is well-formed: nothing else typed in is reflected.
            let shown = normalize_code(&code)
                .map(|code| format!("<p class=\"code\">{}</p>\n", escape(&code)))
                .unwrap_or_default();
            page(
                StatusCode::NOT_FOUND,
                "未找到证书 Certificate not found",
                &format!(
                    "<h1>未找到证书<span class=\"en\">Certificate not found</span></h1>\n{shown}\
                     <p class=\"statement\">没有此编号的证书，请核对编号。<br>\
                     <span class=\"en\">No certificate has this number; please check it.</span></p>\n"
                ),
            )
        }
        Err(error) => {
            let outage = matches!(error, feihong_domain::Error::Unavailable(_));
            tracing::error!(%error, "certificate page failed");
            let status = if outage {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            let mut response = page(
                status,
                "暂时无法显示 Temporarily unavailable",
                "<h1>暂时无法显示证书<span class=\"en\">The certificate cannot be shown right now</span></h1>\n\
                 <p class=\"statement\">请稍后再试。<span class=\"en\">Please try again shortly.</span></p>\n",
            );
            if outage {
                let (name, value) = crate::http::retry::retry_after();
                response.headers_mut().insert(name, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_inert() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(hours(750), "12 小时 30 分钟 · 12 h 30 min");
    }
}
