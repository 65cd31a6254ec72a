//! HTTP endpoints: GraphQL, GraphiQL, health and readiness.

pub mod admin;
pub mod certificates;
pub mod exports;
pub mod forwarded;
pub mod graphql;
pub mod health;
pub mod panics;
pub mod retry;
pub mod subscriptions;
