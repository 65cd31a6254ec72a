//! sea-orm entities: the persistence boundary. Nothing outside `domain` sees these types;
//! services turn them into domain types before returning.

pub mod admin_roles;
pub mod areas;
pub mod audit_entries;
pub mod refresh_tokens;
pub mod volunteers;
