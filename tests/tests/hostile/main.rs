//! Attacks on the public surface, and that each is refused at its cause: document cost, caller
//! budgets, subscription limits, the GraphQL-over-HTTP media type, and privacy through every
//! path. (The timed, memory-measured document suite is `hostile_documents`.)

mod budgets;
mod documents;
mod media;
mod privacy;
mod sockets;
