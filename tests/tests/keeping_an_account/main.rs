//! Keeping an account (issue 11): changing one's password, one's home area, SMS one-time codes
//! for signing in and resetting a forgotten password, and the SMS outbox, through HTTP, on SQLite
//! and PostgreSQL (+ Redis).

mod gateway;
mod passwords;
mod profile;
mod sms;
mod sms_limits;
mod support;
