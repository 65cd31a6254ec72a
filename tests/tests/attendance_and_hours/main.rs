//! Check-in and check-out on site (invariant 6), the service records they create, records entered
//! by leaders, and their review (invariant 7: who may review, daily limits, audit entries), through
//! HTTP, on SQLite and PostgreSQL (+ Redis).

mod check_in;
mod corrections;
mod hours;
mod offline;
mod support;
