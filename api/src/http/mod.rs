//! HTTP endpoints: GraphQL, GraphiQL, health and readiness.

pub mod graphql;
pub mod health;
