//! HTTP endpoints: GraphQL (POST and WebSocket), GraphiQL, the certificate page, the CSV exports
//! (participation; a team's roster and an event's attendance), the admins' dashboard, health and
//! readiness, `/metrics` (on its own address), the dispatch system's signed
//! `POST /integrations/incidents`; and what they share: errors, the bearer token, the request id.

pub mod admin;
pub mod auth;
pub mod certificates;
pub mod connections;
pub mod error;
pub mod exports;
pub mod forwarded;
pub mod graphql;
pub mod health;
pub mod integrations;
pub mod metrics;
pub mod my_data;
pub mod panics;
pub mod request_id;
pub mod retry;
pub mod subscriptions;
pub mod team_exports;

/// Request bodies (and WebSocket messages) larger than this are refused before they are read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
