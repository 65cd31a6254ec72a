//! Teams, memberships, events and patrol schedules, end to end through HTTP, on SQLite and
//! PostgreSQL: who may do what, what each list shows to whom, and what every write leaves behind.

mod events;
mod support;
mod teams;
