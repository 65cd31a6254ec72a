//! The request id: the client's `x-request-id` when it is one usable value, a fresh UUID
//! otherwise (`SetRequestIdLayer`), echoed on the response, named in the logs and in every
//! `INTERNAL` answer. [`scope`] makes it the [`REQUEST_ID`] of the handler's task.

use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::REQUEST_ID;

pub const HEADER: &str = "x-request-id";

/// Whether a client-sent `x-request-id` may be used as ours: 1–64 characters of
/// `[A-Za-z0-9-]` (it reaches logs and error messages, so nothing else is trusted).
fn is_usable(value: &[u8]) -> bool {
    (1..=64).contains(&value.len())
        && value
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'-')
}

/// Middleware (`map_request`): removes a client's `x-request-id` unless it is one usable value,
/// so a fresh one is made.
pub async fn drop_unusable(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let mut values = headers.get_all(HEADER).iter();
    let usable = match (values.next(), values.next()) {
        (Some(value), None) => is_usable(value.as_bytes()),
        _ => false,
    };
    if !usable {
        headers.remove(HEADER);
    }
    request
}

/// The request's id (`-` when it has none, which behind `SetRequestIdLayer` does not happen).
pub fn from_headers(headers: &HeaderMap) -> String {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-")
        .to_owned()
}

/// Middleware (`from_fn`, inside `SetRequestIdLayer`): runs the rest of the request with its id
/// as [`REQUEST_ID`], so errors classified anywhere in it name the request.
pub async fn scope(request: Request, next: Next) -> Response {
    let id = from_headers(request.headers());
    REQUEST_ID.scope(id, next.run(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(is_usable(b"req-42"));
        assert!(is_usable(&[b'a'; 64]));
        for bad in [&b""[..], &[b'a'; 65], b"a b", b"x\ny", "工".as_bytes()] {
            assert!(!is_usable(bad), "{bad:?}");
        }
    }
}
