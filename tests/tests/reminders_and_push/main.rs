//! Issue 11's reminders and push, end to end through HTTP on SQLite and PostgreSQL: devices
//! (`registerDevice`, `unregisterDevice`, `myDevices`), every notification pushed through the
//! outbox to a signed webhook (a local receiver checks the signature), and reminders before a
//! CONFIRMED sign-up's start.

mod devices;
mod push;
mod receiver;
mod reminders;
