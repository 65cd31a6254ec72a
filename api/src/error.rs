//! The one table from a domain error to what a client is told: the code the apps switch on, the
//! HTTP status, the message, and the details that go with them. GraphQL answers from it
//! (`graphql::error::GqlError`, the code in `extensions.code`) and so do the plain HTTP routes
//! (`http::error::ApiError`, a JSON body and the status). An `Internal` cause is logged here,
//! with the request id, and never leaves the server.

use axum::http::StatusCode;
use feihong_domain::Error as DomainError;
use feihong_domain::text::Text;

use crate::locale::current_locale;

tokio::task_local! {
    /// The id of the HTTP request being served, so internal errors can name it.
    pub static REQUEST_ID: String;
}

/// The request id being served, or `-` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// The codes the apps switch on (DESIGN.md).
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
    /// A hash with no document known for it: send the document with the hash (Apollo's APQ).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// A document outside the trusted documents, where only those run.
    pub const PERSISTED_QUERY_NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";
}

/// What an outage answer tells clients to wait before trying again (`extensions.retryAfter` in
/// seconds, and `Retry-After` on plain HTTP routes).
pub const UNAVAILABLE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// A domain error as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub code: &'static str,
    /// The status of a plain HTTP answer (GraphQL answers 200 with the error in the body).
    pub status: StatusCode,
    /// Safe to show: never database or other internal text.
    pub message: String,
    /// The offending field of `BAD_USER_INPUT` (`extensions.field`).
    pub field: Option<String>,
    /// Seconds to wait before trying again, for `RATE_LIMITED` and `UNAVAILABLE`.
    pub retry_after: Option<u64>,
    /// Named by `INTERNAL` answers (`extensions.requestId`), so the log line can be found.
    pub request_id: Option<String>,
}

impl Classified {
    fn new(code: &'static str, status: StatusCode, message: Text) -> Self {
        Self {
            code,
            status,
            message: message.render(current_locale()),
            field: None,
            retry_after: None,
            request_id: None,
        }
    }
}

/// The key of a text about a thing the domain names in English (`not-found` + `sign-up` →
/// `not-found-sign-up`).
fn about(prefix: &str, what: &str) -> Text {
    Text::new(&format!("{prefix}-{}", what.replace(' ', "-")))
}

/// The table: which code, status and message each domain error is answered with, the message
/// in the language of the request being served ([`crate::locale`]). Pure but for that; the
/// `request_id` is only named in `INTERNAL` answers.
pub fn classify(error: &DomainError, request_id: &str) -> Classified {
    use StatusCode as S;
    match error {
        DomainError::Unauthenticated => Classified::new(
            code::UNAUTHENTICATED,
            S::UNAUTHORIZED,
            Text::new("authentication-required"),
        ),
        DomainError::WrongCredentials => Classified::new(
            code::UNAUTHENTICATED,
            S::UNAUTHORIZED,
            Text::new("wrong-phone-or-password"),
        ),
        DomainError::Forbidden(message) => {
            Classified::new(code::FORBIDDEN, S::FORBIDDEN, message.clone())
        }
        DomainError::NotFound(what) => {
            Classified::new(code::NOT_FOUND, S::NOT_FOUND, about("not-found", what))
        }
        DomainError::InvalidInput { field, message } => Classified {
            field: Some(field.clone()),
            ..Classified::new(
                code::BAD_USER_INPUT,
                S::BAD_REQUEST,
                Text::new("invalid-field")
                    .arg("field", field)
                    .arg("message", message.render(current_locale())),
            )
        },
        DomainError::Conflict(message) => {
            Classified::new(code::CONFLICT, S::CONFLICT, message.clone())
        }
        DomainError::RateLimited { retry_after } => {
            let seconds = retry_after.as_secs().max(1);
            Classified {
                retry_after: Some(seconds),
                ..Classified::new(
                    code::RATE_LIMITED,
                    S::TOO_MANY_REQUESTS,
                    Text::new("too-many-attempts").arg("seconds", seconds),
                )
            }
        }
        DomainError::Unavailable(what) => Classified {
            retry_after: Some(UNAVAILABLE_RETRY_AFTER.as_secs()),
            ..Classified::new(
                code::UNAVAILABLE,
                S::SERVICE_UNAVAILABLE,
                about("unavailable", what),
            )
        },
        DomainError::Internal(_) => Classified {
            request_id: Some(request_id.to_owned()),
            ..Classified::new(
                code::INTERNAL,
                S::INTERNAL_SERVER_ERROR,
                Text::new("internal-error").arg("request", request_id),
            )
        },
    }
}

/// Classifies `error` for the request being served; an internal cause is logged with its id.
impl From<DomainError> for Classified {
    fn from(error: DomainError) -> Self {
        let request_id = current_request_id();
        if let DomainError::Internal(cause) = &error {
            tracing::error!(request_id = %request_id, cause = %cause, "internal error");
        }
        classify(&error, &request_id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use feihong_domain::text::Locale;

    use super::*;

    #[test]
    fn each_domain_error_has_one_code_status_and_message() {
        let cases = [
            (DomainError::Unauthenticated, code::UNAUTHENTICATED, 401),
            (DomainError::WrongCredentials, code::UNAUTHENTICATED, 401),
            (
                DomainError::forbidden("not-your-area"),
                code::FORBIDDEN,
                403,
            ),
            (DomainError::NotFound("team"), code::NOT_FOUND, 404),
            (
                DomainError::invalid("from", "must-be-after-from"),
                code::BAD_USER_INPUT,
                400,
            ),
            (
                DomainError::conflict("already-checked-in"),
                code::CONFLICT,
                409,
            ),
            (
                DomainError::RateLimited {
                    retry_after: Duration::from_millis(10),
                },
                code::RATE_LIMITED,
                429,
            ),
            (
                DomainError::Unavailable("the database"),
                code::UNAVAILABLE,
                503,
            ),
            (DomainError::internal("x"), code::INTERNAL, 500),
        ];
        for (error, code, status) in cases {
            let classified = classify(&error, "req-1");
            assert_eq!(
                (classified.code, classified.status.as_u16()),
                (code, status),
                "{error:?}"
            );
        }
    }

    #[test]
    fn details_go_with_the_codes_that_need_them() {
        let error_to = || DomainError::invalid("to", "must-be-after-from");
        let invalid = classify(&error_to(), "r");
        assert_eq!(invalid.message, "to：必须晚于 from");
        let english = crate::locale::in_locale(Locale::En, || classify(&error_to(), "r"));
        assert_eq!(english.message, "to: must be after from");
        assert_eq!(invalid.field.as_deref(), Some("to"));
        let limited = DomainError::RateLimited {
            retry_after: Duration::from_millis(10),
        };
        assert_eq!(classify(&limited, "r").retry_after, Some(1), "at least 1 s");
        let away = classify(&DomainError::Unavailable("the database"), "r");
        assert_eq!(away.retry_after, Some(UNAVAILABLE_RETRY_AFTER.as_secs()));
        assert_eq!(away.message, "数据库暂不可用，请稍后重试");
    }

    #[test]
    fn internal_text_never_reaches_the_message() {
        let error = DomainError::internal("database: relation \"volunteers\" does not exist");
        let classified = classify(&error, "req-42");
        assert_eq!(classified.message, "服务器内部错误（请求 req-42）");
        assert_eq!(classified.request_id.as_deref(), Some("req-42"));
        assert_eq!((classified.field, classified.retry_after), (None, None));
    }
}
