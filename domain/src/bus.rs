//! The event bus behind GraphQL subscriptions: what changed, told to every API node after the
//! transaction that changed it commits.
//!
//! A node's own subscribers hear its changes at once. With Redis, changes also go out on one
//! pub/sub channel and each node relays what other nodes sent to its own subscribers, so a
//! volunteer connected to node A hears of a cancellation made on node B. Without Redis (or
//! while it is away) changes stay on the node that made them. Delivery is at
//! most once, to whoever is connected at the time; every change a volunteer must know of is also
//! a notification row (`myNotifications`), so an app catches up after reconnecting.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::ids::{EventId, IncidentId, VolunteerId};
use crate::redis_store::RedisStore;

/// How many changes a slow subscriber may fall behind before it skips ahead.
const BACKLOG: usize = 1024;

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Change {
    /// The volunteer was told something about one of their sign-ups: notification `id`.
    Notified { volunteer: VolunteerId, id: i64 },
    /// Many volunteers were told one thing at once (a team message): one change, however many
    /// they are, so a team of thousands does not overrun a subscriber's backlog.
    Told(Recipients),
    /// The event's seats, status, time or place changed.
    Event(EventId),
    /// An event was created, or its start, place, visibility, status or kind changed: every node
    /// recounts the event feeds (`events::feed_count`).
    Feed,
    /// The volunteer's account changed: erased, an admin role granted, or what the screens show
    /// of them (profile, consent). Every node forgets what it cached of them (`accounts::cache`:
    /// sign-in state and the volunteer as shown).
    Account(VolunteerId),
    /// Volunteers were alerted to an incident (`incidentAlerts`), sorted.
    IncidentAlerted {
        incident: IncidentId,
        volunteers: Vec<VolunteerId>,
    },
    /// Something about the incident changed: an alert, an answer, an arrival, a responder's
    /// position, its close (`incidentUpdates`).
    Incident(IncidentId),
}

/// Who was told, each with their notification's id, sorted by volunteer; shared, not copied, by
/// every subscriber that looks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Recipients(Arc<Vec<(VolunteerId, i64)>>);

impl Recipients {
    pub fn new(mut told: Vec<(VolunteerId, i64)>) -> Self {
        told.sort_unstable();
        Self(Arc::new(told))
    }

    /// The notification `volunteer` was given, if they are among the recipients.
    pub fn notification_for(&self, volunteer: VolunteerId) -> Option<i64> {
        self.0
            .binary_search_by_key(&volunteer, |(to, _)| *to)
            .ok()
            .map(|at| self.0[at].1)
    }
}

impl Serialize for Recipients {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Recipients {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(Self::new)
    }
}

/// Called with every change delivered on this node, before subscribers hear it.
pub type Listener = Arc<dyn Fn(&Change) + Send + Sync>;

pub struct Bus {
    local: broadcast::Sender<Change>,
    /// Synchronous listeners (caches to invalidate): run as a change is delivered, so a node's
    /// own change is seen by its next request.
    listeners: std::sync::RwLock<Vec<Listener>>,
    redis: Option<Arc<RedisStore>>,
    /// Tags this node's messages on the channel, so its relay skips what it already delivered.
    node: u64,
}

/// What goes over the Redis channel.
#[derive(Serialize, Deserialize)]
struct Message {
    node: u64,
    changes: Vec<Change>,
}

impl Bus {
    pub fn new(redis: Option<Arc<RedisStore>>) -> Self {
        Self {
            local: broadcast::channel(BACKLOG).0,
            listeners: std::sync::RwLock::new(Vec::new()),
            redis,
            node: rand::random(),
        }
    }

    /// Every change from now on (on this node, or on any node with Redis).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.local.subscribe()
    }

    fn channel(redis: &RedisStore) -> String {
        redis.key(&["bus"])
    }

    /// Calls `listener` with every change delivered on this node from now on.
    pub fn listen(&self, listener: Listener) {
        if let Ok(mut listeners) = self.listeners.write() {
            listeners.push(listener);
        }
    }

    fn deliver_locally(&self, changes: &[Change]) {
        if let Ok(listeners) = self.listeners.read() {
            for change in changes {
                for listener in listeners.iter() {
                    listener(change);
                }
            }
        }
        for change in changes {
            // No receiver is not an error: nobody is listening right now.
            let _ = self.local.send(change.clone());
        }
    }

    /// Tells everyone of committed changes: this node's subscribers at once, the other nodes'
    /// through Redis. Never fails the caller: the change is already committed and recorded.
    pub(crate) fn publish(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        self.deliver_locally(changes);
        let Some(redis) = &self.redis else {
            return;
        };
        let message = Message {
            node: self.node,
            changes: changes.to_vec(),
        };
        let payload = match serde_json::to_string(&message) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, "encoding bus changes");
                return;
            }
        };
        let channel = Self::channel(redis);
        let redis = redis.clone();
        // In the background: a committed write's answer never waits on Redis. While Redis is
        // away (already logged) other nodes miss these; their apps catch up from
        // `myNotifications` and `eventUpdates`' first snapshot.
        tokio::spawn(async move {
            let _ = redis
                .run(|mut connection| async move {
                    redis::cmd("PUBLISH")
                        .arg(channel)
                        .arg(payload)
                        .query_async::<i64>(&mut connection)
                        .await
                })
                .await;
        });
    }

    /// Relays the Redis channel to this node's subscribers, reconnecting after failures. Runs
    /// for the life of the server; returns at once without Redis.
    pub async fn run(self: Arc<Self>) {
        let Some(redis) = self.redis.clone() else {
            return;
        };
        let channel = Self::channel(&redis);
        loop {
            match redis.pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => {
                        let mut messages = pubsub.on_message();
                        while let Some(message) = messages.next().await {
                            match serde_json::from_slice::<Message>(message.get_payload_bytes()) {
                                Ok(message) if message.node == self.node => {}
                                Ok(message) => self.deliver_locally(&message.changes),
                                Err(error) => tracing::warn!(%error, "unreadable bus message"),
                            }
                        }
                        tracing::debug!("bus relay lost its redis connection");
                    }
                    Err(error) => tracing::debug!(%error, "bus relay could not subscribe"),
                },
                Err(error) => tracing::debug!(%error, "bus relay could not connect"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
