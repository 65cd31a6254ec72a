//! Nearest first: events within a circle, ordered by distance, a page at a time. The database
//! does the work: it reads the grid cells the circle touches (`ix_events_cell_starts`, migration
//! 000023), keeps what lies within the circle on the flat local map
//! (`Position::flat_distance_m`), and returns only the page's ids and a capped count; the page's
//! own rows are then read by id.

use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use super::{Event, Events};
use crate::entity::events;
use crate::error::Result;
use crate::geo::{self, Position};
use crate::ids::EventId;
use crate::page::{Cursor, Page, PageRequest};

/// A nearest-first list holds at most this many events (`totalCount` says at most this).
pub const MAX_NEAR_EVENTS: u64 = 5_000;
/// Grid cells a nearest-first search names at most (a 5 km circle touches up to 36; 400 is a
/// circle of about 17 km); beyond, it reads the latitude/longitude box.
const MAX_NEAR_CELLS: usize = 400;

/// The squared flat distance from `centre`, in squared degrees of latitude, as SQL. The numbers
/// are checked coordinates formatted by Rust: nothing from the client is spliced in as text.
fn flat_distance_squared(centre: Position) -> String {
    let cos = centre.lat.to_radians().cos();
    format!(
        "((lat - ({lat})) * (lat - ({lat})) + ((lng - ({lng})) * {cos}) * ((lng - ({lng})) * {cos}))",
        lat = centre.lat,
        lng = centre.lng,
    )
}

/// Events within `radius_m` of `centre` on the flat local map: the cells (or, for a wide
/// circle, the latitude/longitude box) an index can read, then the distance itself.
///
/// With cells, the box is left out on purpose: sqlx prepares statements, and after five runs
/// PostgreSQL may plan them generically, blind to the box's parameters; it then took
/// `ix_events_lat_lng` for the box (365 ms at scale 1.0, every upcoming and past event in the
/// band) over the cells' index (6 ms). The cells and the distance hold everything the box would.
fn within(centre: Position, radius_m: i32) -> Condition {
    let bounds = centre.bounding_box(f64::from(radius_m));
    let (lat_min, lat_max, lng_min, lng_max) = bounds;
    let area = match geo::cells_covering(bounds, MAX_NEAR_CELLS) {
        Some(cells) => Condition::all().add(Expr::col(Alias::new("cell")).is_in(cells)),
        None => Condition::all()
            .add(events::Column::Lat.between(lat_min, lat_max))
            .add(events::Column::Lng.between(lng_min, lng_max)),
    };
    let reach = f64::from(radius_m) / geo::METRES_PER_DEGREE;
    area.add(Expr::cust(format!(
        "{} <= {}",
        flat_distance_squared(centre),
        reach * reach
    )))
}

impl Events {
    /// Nearest first (then soonest, then by id); pages are positions in that order, within the
    /// first `MAX_NEAR_EVENTS`.
    pub(super) async fn nearest(
        &self,
        condition: Condition,
        centre: Position,
        radius_m: i32,
        page: PageRequest,
    ) -> Result<Page<Event>> {
        let db = &self.deps.store.db;
        let condition = condition.add(within(centre, radius_m));
        let offset = std::cmp::min(page.offset()?, MAX_NEAR_EVENTS);
        let take = std::cmp::min(page.first + 1, MAX_NEAR_EVENTS - offset);
        let ids = events::Entity::find()
            .select_only()
            .column(events::Column::Id)
            .filter(condition.clone())
            .order_by(Expr::cust(flat_distance_squared(centre)), Order::Asc)
            .order_by_asc(events::Column::StartsAt)
            .order_by_asc(events::Column::Id)
            .offset(offset)
            .limit(take)
            .into_tuple::<i64>();
        let capped = events::Entity::find()
            .select_only()
            .expr(SimpleExpr::from(1))
            .filter(condition)
            .limit(MAX_NEAR_EVENTS)
            .into_query();
        let count = Query::select()
            .expr_as(Expr::cust("count(*)"), Alias::new("n"))
            .from_subquery(capped, Alias::new("capped"))
            .to_owned();
        let (keys, total) = tokio::try_join!(
            async {
                Ok::<_, sea_orm::DbErr>(if take == 0 {
                    Vec::new()
                } else {
                    ids.all(db).await?
                })
            },
            db.query_one(&count),
        )?;
        let total = match total {
            Some(row) => u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
            None => 0,
        };
        let mut rows = self
            .events_by_id(&keys.iter().map(|id| EventId(*id)).collect::<Vec<_>>())
            .await?;
        let events: Vec<(u64, Event)> = (offset + 1..)
            .zip(keys)
            .filter_map(|(position, id)| rows.remove(&EventId(id)).map(|event| (position, event)))
            .collect();
        Ok(Page::from_rows(events, page.first, total, |(position, _)| {
            Cursor::Offset(*position)
        })
        .map(|(_, event)| event))
    }
}
