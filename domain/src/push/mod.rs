//! Push: every notification is also delivered to the volunteer's devices. The notification's
//! transaction writes a `push_outbox` row beside it ([`queue`], or [`queue_for_team`] set-based
//! for a team message) when the volunteer has a device; the push worker ([`Pusher`]) drains the
//! outbox through one [`PushSender`] (`log` in development, a signed webhook to the city's push
//! gateway in production, in the API crate). So nothing is pushed that did not happen, nothing
//! is lost while the gateway is away (the row waits, retried with growing delays), and each row
//! is sent by one node only (it is claimed by a conditional update before sending). A push is
//! written in the language of the person's phone (`volunteers.locale`, recorded when a device
//! is registered).

mod outbox;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sea_orm::sea_query::{Expr, ExprTrait as _, Query, SelectStatement};
use sea_orm::{ActiveEnum as _, ColumnTrait, ConnectionTrait};
use serde::Serialize;

use crate::entity::{devices, memberships, push_outbox, volunteers};
use crate::error::{Error, Result};
use crate::ids::{TeamId, VolunteerId};
use crate::kinds::{DevicePlatform, MembershipStatus, NotificationKind};
use crate::text::{Locale, Text};

pub use outbox::{CLAIM_LEASE, Pusher};

/// One push: a notification for one volunteer, to each of their devices. Its `Debug` leaves the
/// tokens and the text out.
#[derive(Clone, Serialize)]
pub struct Push {
    /// The outbox row's id: the same on a retry, so a gateway can drop a repeat.
    pub id: i64,
    #[serde(serialize_with = "stored")]
    pub kind: NotificationKind,
    pub text: String,
    pub devices: Vec<PushDevice>,
}

impl std::fmt::Debug for Push {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Push")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("devices", &self.devices.len())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize)]
pub struct PushDevice {
    #[serde(serialize_with = "stored")]
    pub platform: DevicePlatform,
    pub token: String,
}

/// A stored enum as stored (`EVENT_CANCELLED`, `HARMONY`), as the GraphQL schema spells it.
fn stored<T, S>(value: &T, serializer: S) -> std::result::Result<S::Ok, S::Error>
where
    T: sea_orm::ActiveEnum<Value = String> + Clone,
    S: serde::Serializer,
{
    serializer.serialize_str(&value.clone().to_value())
}

/// Delivers pushes: the one interface every way of pushing implements. An `Err` sets the push
/// aside to be retried later.
pub trait PushSender: Send + Sync {
    fn send<'a>(&'a self, push: &'a Push) -> BoxFuture<'a, Result<()>>;
}

/// Development: writes what would be pushed to the log (the kind and how many devices; never a
/// token or the text).
pub struct LogSender;

impl PushSender for LogSender {
    fn send<'a>(&'a self, push: &'a Push) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            tracing::info!(
                id = push.id,
                kind = push.kind.to_value(),
                devices = push.devices.len(),
                "push (log sender)"
            );
            Ok(())
        })
    }
}

/// The rows a notification queues: `(volunteer, kind, text, at, 0)` chosen by `select`.
async fn insert_rows(conn: &impl ConnectionTrait, select: SelectStatement) -> Result<()> {
    let insert = Query::insert()
        .into_table(push_outbox::Entity)
        .columns([
            push_outbox::Column::VolunteerId,
            push_outbox::Column::Kind,
            push_outbox::Column::Message,
            push_outbox::Column::CreatedAt,
            push_outbox::Column::Attempts,
        ])
        .select_from(select)
        .map_err(Error::internal)?
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Whether the volunteer in `volunteer` (a column or a value) has a device.
fn has_device(volunteer: Expr) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(devices::Entity)
            .and_where(Expr::col((devices::Entity, devices::Column::VolunteerId)).eq(volunteer))
            .to_owned(),
    )
}

/// Whether the volunteer in `volunteer` (a column or a value) reads in `locale` (their phone's
/// language; the default when none is recorded).
fn speaks(volunteer: Expr, locale: Locale) -> Expr {
    let spoken = Expr::col((volunteers::Entity, volunteers::Column::Locale));
    let reads = if locale == Locale::default() {
        spoken.clone().is_null().or(spoken.eq(locale.tag()))
    } else {
        spoken.eq(locale.tag())
    };
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(volunteers::Entity)
            .and_where(Expr::col((volunteers::Entity, volunteers::Column::Id)).eq(volunteer))
            .and_where(reads)
            .to_owned(),
    )
}

/// Queues a push of one notification, in its transaction, if the volunteer has a device: the
/// text written in the volunteer's language (one statement per language; one of them matches).
pub(crate) async fn queue(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
    kind: NotificationKind,
    text: &Text,
    at: DateTime<Utc>,
) -> Result<()> {
    for locale in Locale::ALL {
        let select = Query::select()
            .expr(Expr::val(volunteer.0))
            .expr(Expr::val(kind.to_value()))
            .expr(Expr::val(text.render(locale)))
            .expr(Expr::val(at))
            .expr(Expr::val(0))
            .and_where(has_device(Expr::val(volunteer.0)))
            .and_where(speaks(Expr::val(volunteer.0), locale))
            .to_owned();
        insert_rows(conn, select).await?;
    }
    Ok(())
}

/// Queues a push of a team message to every ACTIVE member with a device, set-based: one
/// statement per language, each member's in theirs.
pub(crate) async fn queue_for_team(
    conn: &impl ConnectionTrait,
    team: TeamId,
    text: &Text,
    at: DateTime<Utc>,
) -> Result<()> {
    let member = || Expr::col((memberships::Entity, memberships::Column::VolunteerId));
    for locale in Locale::ALL {
        let select = Query::select()
            .column((memberships::Entity, memberships::Column::VolunteerId))
            .expr(Expr::val(NotificationKind::Message.to_value()))
            .expr(Expr::val(text.render(locale)))
            .expr(Expr::val(at))
            .expr(Expr::val(0))
            .from(memberships::Entity)
            .and_where(memberships::Column::TeamId.eq(team.0))
            .and_where(memberships::Column::Status.eq(MembershipStatus::Active))
            .and_where(has_device(member()))
            .and_where(speaks(member(), locale))
            .to_owned();
        insert_rows(conn, select).await?;
    }
    Ok(())
}
