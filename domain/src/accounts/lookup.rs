//! Admins finding a volunteer (someone who calls for help): by phone (exact, any common format),
//! by part of the name, within an area — never outside the areas they administer.
//!
//! The phone lookup reads the unique phone index. A name search reads the admin's areas through
//! the `(area_id)` index and checks each name there: bounded by the area, paged by id.

use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Accounts, Volunteer};
use crate::actor::Actor;
use crate::entity::volunteers;
use crate::error::{Error, Result};
use crate::ids::AreaId;
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
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
            format!("must be 1 to {MAX_NAME_SEARCH_CHARS} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            "nameContains",
            "must not contain control characters",
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
            return Err(Error::invalid("areaId", "no such area"));
        }
        let areas = policy::check_finds_volunteers(actor, &self.areas, lookup.area_id)?;
        let homes: Vec<i64> = areas
            .into_iter()
            .flat_map(|area| self.areas.subtree(area))
            .map(|area| area.0)
            .collect();
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
        let db = &self.store.db;
        let total = volunteers::Entity::find()
            .filter(condition.clone())
            .count(db)
            .await?;
        let mut query = volunteers::Entity::find()
            .filter(condition)
            .order_by_asc(volunteers::Column::Id);
        if let Some(after) = page.after_id()? {
            query = query.filter(volunteers::Column::Id.gt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok(Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id)).map(Volunteer::from))
    }
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
