//! The area tree (city → district → town/street → community). It is small (dozens to a few
//! thousand nodes) and changes only through migrations, so it is loaded once and held in memory:
//! subtree checks and lookups cost no query.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use crate::entity::areas;
use crate::error::{Error, Result};
use crate::ids::AreaId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AreaLevel {
    City,
    District,
    Town,
    Community,
}

impl AreaLevel {
    fn parse(stored: &str) -> Result<Self> {
        match stored {
            "CITY" => Ok(Self::City),
            "DISTRICT" => Ok(Self::District),
            "TOWN" => Ok(Self::Town),
            "COMMUNITY" => Ok(Self::Community),
            other => Err(Error::internal(format!("unknown area level {other}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub id: AreaId,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub level: AreaLevel,
    pub parent_id: Option<AreaId>,
    pub lat: f64,
    pub lng: f64,
}

#[derive(Debug, Default)]
pub struct AreaTree {
    by_id: HashMap<AreaId, Arc<Area>>,
    children: HashMap<Option<AreaId>, Vec<AreaId>>,
}

impl AreaTree {
    pub async fn load(db: &DatabaseConnection) -> Result<Self> {
        let rows = areas::Entity::find()
            .order_by_asc(areas::Column::Id)
            .all(db)
            .await?;
        let areas = rows
            .into_iter()
            .map(|row| {
                Ok(Area {
                    id: AreaId(row.id),
                    level: AreaLevel::parse(&row.level)?,
                    code: row.code,
                    name: row.name,
                    name_en: row.name_en,
                    parent_id: row.parent_id.map(AreaId),
                    lat: row.lat,
                    lng: row.lng,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_areas(areas))
    }

    pub fn from_areas(areas: Vec<Area>) -> Self {
        let mut tree = Self::default();
        for area in areas {
            tree.children
                .entry(area.parent_id)
                .or_default()
                .push(area.id);
            tree.by_id.insert(area.id, Arc::new(area));
        }
        tree
    }

    pub fn get(&self, id: AreaId) -> Option<Arc<Area>> {
        self.by_id.get(&id).cloned()
    }

    pub fn by_code(&self, code: &str) -> Option<Arc<Area>> {
        self.by_id.values().find(|area| area.code == code).cloned()
    }

    /// The children of `parent`, or the top of the tree when `parent` is `None`.
    pub fn children(&self, parent: Option<AreaId>) -> Vec<Arc<Area>> {
        self.children
            .get(&parent)
            .map(|ids| ids.iter().filter_map(|id| self.get(*id)).collect())
            .unwrap_or_default()
    }

    /// True when `area` is `ancestor` or lies below it.
    pub fn is_within(&self, area: AreaId, ancestor: AreaId) -> bool {
        let mut current = Some(area);
        while let Some(id) = current {
            if id == ancestor {
                return true;
            }
            current = self.by_id.get(&id).and_then(|node| node.parent_id);
        }
        false
    }

    /// `area` and every area below it.
    pub fn subtree(&self, area: AreaId) -> Vec<AreaId> {
        let mut out = vec![area];
        let mut next = 0;
        while next < out.len() {
            if let Some(children) = self.children.get(&Some(out[next])) {
                out.extend(children);
            }
            next += 1;
        }
        out
    }
}

/// City 1 with districts 2 and 3, and town 4 in district 2: the tree the unit tests share.
#[cfg(test)]
pub(crate) fn test_tree() -> AreaTree {
    let area = |id: i64, parent: Option<i64>, level| Area {
        id: AreaId(id),
        code: format!("c{id}"),
        name: format!("a{id}"),
        name_en: format!("a{id}"),
        level,
        parent_id: parent.map(AreaId),
        lat: 0.0,
        lng: 0.0,
    };
    AreaTree::from_areas(vec![
        area(1, None, AreaLevel::City),
        area(2, Some(1), AreaLevel::District),
        area(3, Some(1), AreaLevel::District),
        area(4, Some(2), AreaLevel::Town),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> AreaTree {
        test_tree()
    }

    #[test]
    fn a_town_lies_within_its_district_and_city_but_not_a_sibling_district() {
        let tree = tree();
        assert!(tree.is_within(AreaId(4), AreaId(2)));
        assert!(tree.is_within(AreaId(4), AreaId(1)));
        assert!(!tree.is_within(AreaId(4), AreaId(3)));
        assert!(!tree.is_within(AreaId(1), AreaId(2)));
    }

    #[test]
    fn a_subtree_holds_the_area_and_all_below_it() {
        let mut subtree = tree().subtree(AreaId(1));
        subtree.sort();
        assert_eq!(subtree, vec![AreaId(1), AreaId(2), AreaId(3), AreaId(4)]);
        assert_eq!(tree().subtree(AreaId(3)), vec![AreaId(3)]);
    }

    #[test]
    fn the_top_of_the_tree_is_the_children_of_none() {
        let top = tree().children(None);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].id, AreaId(1));
    }
}
