//! The GraphQL schema: thin, documented wrappers over domain types and services.

pub mod account_security;
pub mod accounts;
pub mod area;
pub mod attendance;
pub mod certificate;
pub mod changes;
pub mod context;
pub mod devices;
pub mod enums;
pub mod error;
pub mod event;
pub mod ids;
pub mod incident;
pub mod incident_subscription;
pub mod incident_types;
pub mod leaderboard;
pub mod limits;
pub mod loaders;
pub mod lookups;
pub mod node;
pub mod persisted;
pub mod privacy;
pub mod real_name;
pub mod scalars;
pub mod service;
pub mod signup;
pub mod stats;
pub mod subscription;
pub mod team;
pub mod volunteer;

use async_graphql::{MergedObject, Schema, SchemaBuilder};

use subscription::SubscriptionRoot;

/// All queries.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    accounts::AccountQuery,
    area::AreaQuery,
    node::NodeQuery,
    team::TeamQuery,
    event::EventQuery,
    signup::SignUpQuery,
    service::ServiceQuery,
    leaderboard::LeaderboardQuery,
    stats::StatsQuery,
    certificate::CertificateQuery,
    lookups::LookupQuery,
    devices::DeviceQuery,
    privacy::PrivacyQuery,
    incident::IncidentQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    accounts::AccountMutation,
    account_security::AccountSecurityMutation,
    team::TeamMutation,
    event::EventMutation,
    signup::SignUpMutation,
    service::ServiceMutation,
    certificate::CertificateMutation,
    lookups::MessageMutation,
    privacy::PrivacyMutation,
    real_name::RealNameMutation,
    devices::DeviceMutation,
    incident::IncidentMutation,
);

pub type FeihongSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema with every limit applied; `introspection` is off in production by default.
/// `persisted` (hashes for documents, trusted documents) runs before the document limits, so
/// they apply to the document a hash stands for.
pub fn schema_builder(
    introspection: bool,
    persisted: Option<persisted::PersistedDocuments>,
) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    // Depth is checked by `DocumentLimits` (which measures introspection apart), not here.
    .limit_complexity(limits::MAX_COMPLEXITY)
    .limit_recursive_depth(limits::MAX_RECURSIVE_DEPTH)
    // No per-field tracing extension: a span per resolved field (with its path formatted at
    // INFO, production's level) cost more than resolving a leaderboard line; each request has
    // its HTTP span (`app.rs`) and its operation's latency histogram (`/metrics`) instead.
    .limit_directives(limits::MAX_DIRECTIVES_PER_FIELD);
    if let Some(persisted) = persisted {
        builder = builder.extension(persisted);
    }
    let builder = builder
        .extension(limits::DocumentLimits)
        .extension(limits::cost::CostBudget)
        .disable_suggestions();
    if introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The schema in SDL, exactly as served (`feihong export-schema`, `schema.graphql`).
pub fn sdl() -> String {
    schema_builder(true, None).finish().sdl()
}
