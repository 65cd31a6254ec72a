//! One retry for a GraphQL request whose database connection broke (a restart, a failover, a
//! network blip): the request runs once more, on a fresh connection, after a short pause — but
//! only when it cannot have changed anything. The domain notes what a request did to the
//! database (`feihong_domain::store::watch_writes`): a commit, or a statement that may write
//! outside a transaction, rules the retry out, because the first run may have committed. Such
//! a request (and one that still finds the database away) is answered `UNAVAILABLE` with
//! `extensions.retryAfter`; the apps retry it themselves, with their idempotency key.
//!
//! A request that merely waited for a connection until the pool gave up is not run again: the
//! pool kept trying fresh connections all that time (`feihong_domain::db::ACQUIRE_TIMEOUT`), so
//! the outage answer comes within those few seconds.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Response};
use feihong_domain::store::{RequestWrites, watch_writes};

use crate::error::code;
use crate::graphql::FeihongSchema;
use crate::graphql::context::{Outcome, RequestContext};

/// The pause before the one retry: long enough for a restarted connection or a failover.
pub const RETRY_PAUSE: Duration = Duration::from_millis(300);

/// Whether a request that answered `response` may run once more.
pub fn should_retry(response: &Response, writes: RequestWrites) -> bool {
    let unavailable = response.errors.iter().any(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .is_some_and(|value| *value == async_graphql::Value::from(code::UNAVAILABLE))
    });
    unavailable && writes.connection_lost && !writes.wrote
}

/// The same operation, without the per-request data (each run gets a fresh context).
fn copy(request: &Request) -> Request {
    let mut copy = Request::new(request.query.clone()).variables(request.variables.clone());
    copy.operation_name = request.operation_name.clone();
    copy.extensions = request.extensions.clone();
    copy.introspection_mode = request.introspection_mode;
    copy
}

/// Executes `request` with a context from `context`, and once more when [`should_retry`] says
/// so; returns the answer with what became of the run that gave it.
pub async fn execute(
    schema: &FeihongSchema,
    request: Request,
    context: impl Fn() -> RequestContext,
) -> (Response, Arc<Outcome>) {
    let again = copy(&request);
    let first = context();
    let outcome = first.outcome();
    let (response, writes) = watch_writes(schema.execute(request.data(first))).await;
    if !should_retry(&response, writes) {
        return (response, outcome);
    }
    tracing::warn!(
        "database connection lost before the request wrote anything; running it once more"
    );
    tokio::time::sleep(RETRY_PAUSE).await;
    let second = context();
    let outcome = second.outcome();
    (schema.execute(again.data(second)).await, outcome)
}

#[cfg(test)]
mod tests {
    use async_graphql::{ErrorExtensionValues, ServerError};

    use super::*;

    fn failed_with(code: &str) -> Response {
        let mut error = ServerError::new("x", None);
        let mut extensions = ErrorExtensionValues::default();
        extensions.set("code", code);
        error.extensions = Some(extensions);
        Response::from_errors(vec![error])
    }

    const LOST: RequestWrites = RequestWrites {
        wrote: false,
        connection_lost: true,
    };

    #[test]
    fn only_a_lost_connection_before_any_write_is_retried() {
        assert!(should_retry(&failed_with(code::UNAVAILABLE), LOST));
        let wrote = RequestWrites {
            wrote: true,
            ..LOST
        };
        assert!(!should_retry(&failed_with(code::UNAVAILABLE), wrote));
        let waited = RequestWrites {
            connection_lost: false,
            ..LOST
        };
        assert!(!should_retry(&failed_with(code::UNAVAILABLE), waited));
        assert!(!should_retry(&failed_with(code::INTERNAL), LOST));
        assert!(!should_retry(
            &Response::new(async_graphql::Value::Null),
            LOST
        ));
    }

    #[test]
    fn the_copy_is_the_same_operation() {
        let request = Request::new("query Q($a: Int) { a }")
            .operation_name("Q")
            .variables(async_graphql::Variables::from_json(
                serde_json::json!({ "a": 1 }),
            ));
        let copy = copy(&request);
        assert_eq!(copy.query, request.query);
        assert_eq!(copy.operation_name.as_deref(), Some("Q"));
        assert_eq!(copy.variables, request.variables);
    }
}
