//! `/admin`: the admins' dashboard in the browser. Three static files compiled into the binary,
//! so the server alone serves it (no Node build, nothing to deploy beside the binary). The page
//! talks to the same origin only: `POST /graphql` and the CSV exports (participation, a team's
//! roster).
//!
//! Every response carries a strict Content-Security-Policy: no inline script or style, no other
//! origins, no framing. `form-action 'none'` and `base-uri 'none'` go beyond `default-src`
//! (which does not cover them): the sign-in form is handled by script, so the browser never
//! submits it anywhere, even if the script failed to load. A CSV is downloaded through a
//! `blob:` URL on an `<a download>`; that is a download, not a fetch or a subresource, so no
//! directive has to allow `blob:`.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("index.html");
const DASHBOARD_JS: &str = include_str!("dashboard.js");
const DASHBOARD_CSS: &str = include_str!("dashboard.css");

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
    img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            // The files change with the binary; revalidating keeps an upgraded server's page and
            // script in step.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", DASHBOARD_JS)
}

pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", DASHBOARD_CSS)
}
