//! Decoded sets of active volunteers of `stats_place_periods` rows, kept per node by row id.
//!
//! A row's set never changes: the worker and the bulk rebuild replace a row by deleting it and
//! inserting a new one under a new id (ids are never reused: a PostgreSQL sequence, SQLite
//! `AUTOINCREMENT`), so a set decoded once is right for as long as it is kept. An answer reads
//! its rows' ids and sums first and fetches only the sets this node does not hold yet: a
//! district's month of 185 K volunteers is a 213 KB set at scale 1.0, and past months' rows are
//! never rebuilt again. Kept up to `KEPT_BYTES` of encoded sets, least recently used first out.

use std::collections::HashMap;
use std::sync::Arc;

use roaring::RoaringTreemap;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::places::decode;
use crate::entity::stats_place_periods;
use crate::error::Result;

/// The most encoded bytes of sets a node keeps.
pub(super) const KEPT_BYTES: u64 = 32 << 20;

pub(super) struct Sets {
    kept: moka::sync::Cache<i64, Arc<RoaringTreemap>>,
}

impl Sets {
    pub(super) fn new(max_bytes: u64) -> Self {
        let kept = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, set: &Arc<RoaringTreemap>| {
                u32::try_from(set.serialized_size()).unwrap_or(u32::MAX)
            })
            .build();
        Self { kept }
    }

    /// The sets of rows `ids`, read in the caller's transaction where this node does not hold
    /// them yet.
    pub(super) async fn of(
        &self,
        conn: &impl ConnectionTrait,
        ids: &[i64],
    ) -> Result<HashMap<i64, Arc<RoaringTreemap>>> {
        let mut sets = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for &id in ids {
            match self.kept.get(&id) {
                Some(set) => {
                    sets.insert(id, set);
                }
                None => missing.push(id),
            }
        }
        // Bounded batches keep each statement's parameter list small.
        for chunk in missing.chunks(400) {
            let rows: Vec<(i64, Vec<u8>)> = stats_place_periods::Entity::find()
                .select_only()
                .column(stats_place_periods::Column::Id)
                .column(stats_place_periods::Column::Volunteers)
                .filter(stats_place_periods::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(conn)
                .await?;
            for (id, bytes) in rows {
                let set = Arc::new(decode(&bytes)?);
                self.kept.insert(id, Arc::clone(&set));
                sets.insert(id, set);
            }
        }
        Ok(sets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_weighed_by_their_encoded_size() {
        let sets = Sets::new(1_000);
        let small: RoaringTreemap = [1u64, 2, 3].into_iter().collect();
        let size = small.serialized_size() as u64;
        for id in 0..100 {
            sets.kept.insert(id, Arc::new(small.clone()));
        }
        sets.kept.run_pending_tasks();
        assert!(sets.kept.weighted_size() <= 1_000);
        assert!(sets.kept.weighted_size() >= size);
    }
}
