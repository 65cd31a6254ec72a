//! Feihong's API: the axum server, the GraphQL schema and the `feihong` command.

pub mod app;
pub mod cli;
pub mod config;
pub mod error;
pub mod graphql;
pub mod http;
pub mod locale;
pub mod metrics;
pub mod push;
pub mod seed;
pub mod sms;
pub mod state;
