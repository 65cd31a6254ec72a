//! Notifications: what a volunteer is told (promoted from a waitlist, an event changed or was
//! cancelled). Written in the same transaction as the change, so nobody is told of something
//! that did not happen, and nothing that happened goes untold.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::bus::Change;
use crate::entity::notifications;
use crate::error::Result;
use crate::ids::{EventId, SignUpId, VolunteerId};
use crate::kinds::NotificationKind;
use crate::page::{Cursor, Page, PageRequest};
use crate::store::WriteTxn;
use crate::text::{Locale, Text};

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: i64,
    pub volunteer_id: VolunteerId,
    pub kind: NotificationKind,
    pub event_id: Option<EventId>,
    pub sign_up_id: Option<SignUpId>,
    /// In the default language (and as written, for notifications older than their keys).
    pub message: String,
    /// What it says by key, to be read in the reader's language; None for older notifications.
    pub text: Option<Text>,
    pub created_at: DateTime<Utc>,
}

impl Notification {
    /// What the notification says in `locale`.
    pub fn message_in(&self, locale: Locale) -> String {
        match &self.text {
            Some(text) => text.render(locale),
            None => self.message.clone(),
        }
    }
}

/// Records what the volunteer is told, and tells them live once the transaction commits. The
/// text is kept by key, to be read in the reader's language, and in the default language.
pub(crate) async fn notify(
    txn: &WriteTxn<'_>,
    volunteer: VolunteerId,
    kind: NotificationKind,
    event: Option<EventId>,
    sign_up: Option<SignUpId>,
    text: Text,
) -> Result<()> {
    let at = Utc::now();
    crate::push::queue(&**txn, volunteer, kind, &text, at).await?;
    let row = notifications::ActiveModel {
        volunteer_id: Set(volunteer.0),
        kind: Set(kind),
        event_id: Set(event.map(|id| id.0)),
        sign_up_id: Set(sign_up.map(|id| id.0)),
        message: Set(text.render(Locale::default())),
        text_key: Set(Some(text.key.clone())),
        text_args: Set(Some(text.args_json())),
        created_at: Set(at),
        read_at: Set(None),
        ..Default::default()
    }
    .insert(&**txn)
    .await?;
    txn.changed(Change::Notified {
        volunteer,
        id: row.id,
    });
    Ok(())
}

fn from_row(row: notifications::Model) -> Notification {
    Notification {
        id: row.id,
        volunteer_id: VolunteerId(row.volunteer_id),
        kind: row.kind,
        event_id: row.event_id.map(EventId),
        sign_up_id: row.sign_up_id.map(SignUpId),
        text: row
            .text_key
            .as_deref()
            .map(|key| Text::from_stored(key, row.text_args.as_deref())),
        message: row.message,
        created_at: row.created_at,
    }
}

/// One of the volunteer's notifications (None when it is someone else's).
pub async fn one_for_volunteer(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
    id: i64,
) -> Result<Option<Notification>> {
    Ok(notifications::Entity::find_by_id(id)
        .filter(notifications::Column::VolunteerId.eq(volunteer.0))
        .one(conn)
        .await?
        .map(from_row))
}

/// A volunteer's notifications, newest first.
pub async fn for_volunteer(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
    page: PageRequest,
) -> Result<Page<Notification>> {
    let base =
        notifications::Entity::find().filter(notifications::Column::VolunteerId.eq(volunteer.0));
    let total = base.clone().count(conn).await?;
    let mut query = base.order_by_desc(notifications::Column::Id);
    if let Some(after) = page.after_id()? {
        query = query.filter(notifications::Column::Id.lt(after));
    }
    let rows = query.limit(page.first + 1).all(conn).await?;
    Ok(Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id)).map(from_row))
}
