//! Issue 13's quick response, end to end through HTTP on SQLite (the node's own position grid)
//! and PostgreSQL + Redis (Redis GEO): duty and positions, raising an incident, alerts ring by
//! ring, the exact-`needed` race, what each caller may see, closing with credited hours, and an
//! alert crossing from one node to another.

mod dispatch;
mod duty;
mod incidents;
mod support;
mod two_nodes;
