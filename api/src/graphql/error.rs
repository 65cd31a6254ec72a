//! The one place domain errors become GraphQL errors, each with `extensions.code`.
//!
//! Resolvers return `GqlResult<T>`. `GqlError` deliberately does not implement `Display`, so
//! async-graphql's blanket "any Display error becomes a message" conversion cannot apply, and a
//! database error has no way to reach a client except through `From<domain::Error>` below.

use async_graphql::ErrorExtensions as _;
use feihong_domain::Error as DomainError;

tokio::task_local! {
    /// The id of the HTTP request being served, so internal errors can name it.
    pub static REQUEST_ID: String;
}

#[derive(Clone)]
pub struct GqlError(async_graphql::Error);

pub type GqlResult<T> = Result<T, GqlError>;

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
}

/// What an outage answer tells clients to wait before trying again (`extensions.retryAfter` in
/// seconds, and `Retry-After` on plain HTTP routes).
pub const UNAVAILABLE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

fn with_code(message: impl Into<String>, code: &'static str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, extensions| extensions.set("code", code))
}

pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

impl GqlError {
    pub fn bad_input(field: &str, message: impl std::fmt::Display) -> Self {
        DomainError::invalid(field, message.to_string()).into()
    }

    /// The error as a request-level error (no position: it concerns the whole document).
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(self.0.message, None);
        error.extensions = self.0.extensions;
        error
    }
}

impl From<DomainError> for GqlError {
    fn from(error: DomainError) -> Self {
        let mapped = match error {
            DomainError::Unauthenticated => {
                with_code("authentication required", code::UNAUTHENTICATED)
            }
            DomainError::WrongCredentials => {
                with_code("wrong phone number or password", code::UNAUTHENTICATED)
            }
            DomainError::Forbidden(message) => with_code(message, code::FORBIDDEN),
            DomainError::NotFound(what) => with_code(format!("{what} not found"), code::NOT_FOUND),
            DomainError::InvalidInput { field, message } => async_graphql::Error::new(format!(
                "{field}: {message}"
            ))
            .extend_with(|_, extensions| {
                extensions.set("code", code::BAD_USER_INPUT);
                extensions.set("field", field.clone());
            }),
            DomainError::Conflict(message) => with_code(message, code::CONFLICT),
            DomainError::RateLimited { retry_after } => {
                let seconds = retry_after.as_secs().max(1);
                async_graphql::Error::new(format!("too many attempts; retry in {seconds} s"))
                    .extend_with(|_, extensions| {
                        extensions.set("code", code::RATE_LIMITED);
                        extensions.set("retryAfter", seconds);
                    })
            }
            DomainError::Unavailable(what) => {
                async_graphql::Error::new(format!("{what} is unavailable; try again shortly"))
                    .extend_with(|_, extensions| {
                        extensions.set("code", code::UNAVAILABLE);
                        extensions.set("retryAfter", UNAVAILABLE_RETRY_AFTER.as_secs());
                    })
            }
            DomainError::Internal(cause) => {
                let request_id = current_request_id();
                tracing::error!(request_id = %request_id, cause = %cause, "internal error");
                async_graphql::Error::new(format!("internal error (request {request_id})"))
                    .extend_with(|_, extensions| {
                        extensions.set("code", code::INTERNAL);
                        extensions.set("requestId", request_id.clone());
                    })
            }
        };
        Self(mapped)
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(error: GqlError) -> Self {
        error.0
    }
}
