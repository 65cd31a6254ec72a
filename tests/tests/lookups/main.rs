//! Issue 10's lookups and messages, end to end through HTTP on SQLite and PostgreSQL: event
//! search and the default event list, the audit log's filters, admins finding a volunteer, and
//! leaders messaging their team — each with who may not use it.

mod audit_log;
mod event_list;
mod messages;
mod search;
mod support;
mod volunteers;
