//! Admins finding a volunteer (someone who calls for help): by phone (exact, any common format),
//! by part of the name, within an area — never outside the areas they administer.
//!
//! The phone lookup reads the unique phone index. A name search (without a phone) reads
//! `volunteer_name_grams` — every one- and two-character piece of each display name, lower-cased
//! (`crate::grams`), kept in step by every write of a display name ([`refresh_name_grams`]) —
//! for one gram of the needle, in volunteer id order (`super::name_search`): it reads the
//! volunteers whose names hold that gram, not the whole area's.

use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{Accounts, Volunteer, name_search};
use crate::actor::Actor;
use crate::entity::volunteers;
use crate::error::{Error, Result};
use crate::grams;
use crate::ids::AreaId;
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
use crate::text::Text;
use crate::values::{Phone, like_literal};

/// A name search is at most this many characters.
pub const MAX_NAME_SEARCH_CHARS: usize = 40;

#[derive(Debug, Default, Clone)]
pub struct VolunteerLookup {
    pub phone: Option<String>,
    pub name_contains: Option<String>,
    pub area_id: Option<AreaId>,
}

/// The part of a name to look for: trimmed, 1–40 characters, no control characters.
fn name_part(raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_SEARCH_CHARS {
        return Err(Error::invalid(
            "nameContains",
            Text::new("must-be-1-to-n-characters").arg("max", MAX_NAME_SEARCH_CHARS),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            "nameContains",
            "must-not-contain-control-characters",
        ));
    }
    Ok(trimmed.to_lowercase())
}

impl Accounts {
    /// Volunteers homed in the admin's areas (or in `area_id`, which must lie inside one),
    /// matching every criterion given, by id.
    pub async fn find_volunteers(
        &self,
        actor: &Actor,
        lookup: VolunteerLookup,
        page: PageRequest,
    ) -> Result<Page<Volunteer>> {
        let phone = lookup
            .phone
            .as_deref()
            .map(|raw| Phone::parse(raw, "phone"))
            .transpose()?;
        let name = lookup.name_contains.as_deref().map(name_part).transpose()?;
        if let Some(area) = lookup.area_id
            && self.areas.get(area).is_none()
        {
            return Err(Error::invalid("areaId", "no-such-area"));
        }
        let areas = policy::check_finds_volunteers(actor, &self.areas, lookup.area_id)?;
        let homes: Vec<i64> = areas
            .into_iter()
            .flat_map(|area| self.areas.subtree(area))
            .map(|area| area.0)
            .collect();
        let after = page.after_id()?;
        let db = &self.store.db;
        // A phone is a unique-index hit; without one a name is searched through its grams.
        if let (None, Some(name)) = (&phone, &name) {
            let (rows, total) =
                name_search::search(db, &homes, name, after, page.first + 1).await?;
            return Ok(
                Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id))
                    .map(Volunteer::from),
            );
        }
        let mut condition = Condition::all().add(volunteers::Column::AreaId.is_in(homes));
        if let Some(phone) = phone {
            condition = condition.add(volunteers::Column::Phone.eq(phone.as_str()));
        }
        if let Some(name) = name {
            // `\` escapes the LIKE wildcards on both backends.
            let pattern = LikeExpr::new(format!("%{}%", like_literal(&name))).escape('\\');
            condition = condition.add(
                Expr::expr(Func::lower(Expr::col(volunteers::Column::DisplayName))).like(pattern),
            );
        }
        let total = volunteers::Entity::find()
            .filter(condition.clone())
            .count(db)
            .await?;
        let mut query = volunteers::Entity::find()
            .filter(condition)
            .order_by_asc(volunteers::Column::Id);
        if let Some(after) = after {
            query = query.filter(volunteers::Column::Id.gt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok(Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id)).map(Volunteer::from))
    }
}

/// Rewrites a volunteer's name grams from their stored display name; called in the transaction
/// that writes it.
pub(super) async fn refresh_name_grams(conn: &impl ConnectionTrait, volunteer: i64) -> Result<()> {
    grams::refresh(
        conn,
        grams::VOLUNTEER_NAME_GRAMS,
        &format!("SELECT {volunteer}"),
        &format!("SELECT v.id, v.display_name AS body FROM volunteers v WHERE v.id = {volunteer}"),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_search_is_bounded_and_lower_cased() {
        assert_eq!(name_part("  Wong ").unwrap(), "wong");
        assert_eq!(name_part("黄飞鸿").unwrap(), "黄飞鸿");
        for raw in ["", "  ", &"黄".repeat(41), "a\tb"] {
            assert!(name_part(raw).is_err(), "{raw:?}");
        }
    }
}
