//! The committed changes a subscription listens to: the bus's, until the subscriber's token
//! expires (and never longer than a day).

use chrono::{DateTime, Utc};
use feihong_domain::Services;
use feihong_domain::bus::Change;
use futures::{Stream, StreamExt as _};
use tokio::sync::broadcast::error::RecvError;

/// Every committed change from now on, until `until` (the token's expiry) if given.
pub fn changes(
    services: &Services,
    until: Option<DateTime<Utc>>,
) -> impl Stream<Item = Change> + use<> {
    let receiver = services.bus.subscribe();
    let changes = futures::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(change) => return Some((change, receiver)),
                // A subscriber too slow to keep up skips ahead rather than holding others back.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let left = until
        .map(|at| (at - Utc::now()).to_std().unwrap_or_default())
        .unwrap_or(std::time::Duration::MAX);
    changes.take_until(tokio::time::sleep(left.min(MAX_LIFETIME)))
}

/// No subscription outlives a day, even for a token that would.
const MAX_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);
