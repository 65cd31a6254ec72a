//! Domain errors as GraphQL errors, each with `extensions.code`, answered from the one table in
//! [`crate::error`] (which plain HTTP routes share).
//!
//! Resolvers return `GqlResult<T>`. `GqlError` deliberately does not implement `Display`, so
//! async-graphql's blanket "any Display error becomes a message" conversion cannot apply, and a
//! database error has no way to reach a client except through `From<domain::Error>` below.

use async_graphql::ErrorExtensions as _;
use feihong_domain::Error as DomainError;
use feihong_domain::text::Text;

use crate::error::Classified;
/// The codes, for GraphQL modules that set one themselves (limits, refusals before execution).
pub use crate::error::code;

#[derive(Clone)]
pub struct GqlError(async_graphql::Error);

pub type GqlResult<T> = Result<T, GqlError>;

impl GqlError {
    pub fn bad_input(field: &str, message: impl Into<Text>) -> Self {
        DomainError::invalid(field, message).into()
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
        let Classified {
            code,
            message,
            field,
            retry_after,
            request_id,
            status: _,
        } = Classified::from(error);
        Self(
            async_graphql::Error::new(message).extend_with(|_, extensions| {
                extensions.set("code", code);
                if let Some(field) = &field {
                    extensions.set("field", field.clone());
                }
                if let Some(seconds) = retry_after {
                    extensions.set("retryAfter", seconds);
                }
                if let Some(request_id) = &request_id {
                    extensions.set("requestId", request_id.clone());
                }
            }),
        )
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(error: GqlError) -> Self {
        error.0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn extensions(error: DomainError) -> (String, serde_json::Value) {
        let error = async_graphql::Error::from(GqlError::from(error));
        let extensions = serde_json::to_value(error.extensions.unwrap()).unwrap();
        (error.message, extensions)
    }

    #[test]
    fn extensions_carry_the_code_and_the_details_of_that_code() {
        let (message, invalid) = extensions(DomainError::invalid("to", "must-be-after-from"));
        assert_eq!(message, "to：必须晚于 from");
        assert_eq!(
            invalid,
            serde_json::json!({ "code": "BAD_USER_INPUT", "field": "to" })
        );
        let (_, limited) = extensions(DomainError::RateLimited {
            retry_after: Duration::from_secs(30),
        });
        assert_eq!(
            limited,
            serde_json::json!({ "code": "RATE_LIMITED", "retryAfter": 30 })
        );
        let (_, away) = extensions(DomainError::Unavailable("the database"));
        assert_eq!(
            away,
            serde_json::json!({ "code": "UNAVAILABLE", "retryAfter": 2 })
        );
        let (message, internal) = extensions(DomainError::internal("secret SQL"));
        assert_eq!(message, "服务器内部错误（请求 -）");
        assert_eq!(
            internal,
            serde_json::json!({ "code": "INTERNAL", "requestId": "-" })
        );
        let (_, forbidden) = extensions(DomainError::forbidden("not-your-area"));
        assert_eq!(forbidden, serde_json::json!({ "code": "FORBIDDEN" }));
    }
}
