//! Rights over one's own data (PIPL, `docs/privacy.md`): consent to the privacy policy in force,
//! through HTTP, on SQLite and PostgreSQL (+ Redis).

mod consent;
mod erasure;
mod export;
mod retention;
