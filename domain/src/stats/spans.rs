//! Rows united over a district (`DISTRICT`) and over the whole city (`CITY`), kept beside the
//! places' own rows (`PLACE`) in `stats_place_periods`: per team kind, and for every kind and the
//! registrations together (team kind `*`). A district's or the city's answer then reads one row
//! per period, or one per kind and period, instead of every place × kind × period, and unites a
//! few sets instead of about 1,500 (a district's year by month at scale 1.0).
//!
//! The worker keeps them through marks of their own, as it keeps the place rows: rebuilding a
//! place's day, week or month marks its district's (`DISTD`, `DISTW`, `DISTM`); rebuilding
//! those marks the city's (`CITYD`, `CITYW`, `CITYM`). A district's rows are united from its
//! places' rows, the city's from the districts' rows by kind; a month's mark also rebuilds its
//! year. However many places change in a round, each district's and the city's period is rebuilt
//! about once, and a mark moved meanwhile stays for the next round (`rollup::recompute_mark`).

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::places::{self, ALL_KINDS, CITY, Cell, Cells, DISTRICT, PLACE};
use crate::entity::{stats_dirty, stats_place_periods};
use crate::error::Result;
use crate::store::{DirtyDay, WriteTxn};

pub(crate) const DISTRICT_DAY: &str = "DISTD";
pub(crate) const DISTRICT_WEEK: &str = "DISTW";
pub(crate) const DISTRICT_MONTH: &str = "DISTM";
pub(crate) const CITY_DAY: &str = "CITYD";
pub(crate) const CITY_WEEK: &str = "CITYW";
pub(crate) const CITY_MONTH: &str = "CITYM";

/// Every mark of united rows.
pub(super) const MARKS: [&str; 6] = [
    DISTRICT_DAY,
    DISTRICT_WEEK,
    DISTRICT_MONTH,
    CITY_DAY,
    CITY_WEEK,
    CITY_MONTH,
];

/// A span's cells by period: `(period, key)` to cells by team kind.
pub(super) type Periods = HashMap<(&'static str, String), Cells>;

/// Adds `from`'s cells into `into`, kind by kind.
pub(super) fn merge(into: &mut Cells, from: &Cells) {
    for (kind, cell) in from {
        into.entry(kind.clone())
            .or_default()
            .add(&cell.figures, &cell.volunteers);
    }
}

/// `cells` with the all-kinds cell: the sums of every kind's cell and the union of their sets.
pub(super) fn with_all_kinds(mut cells: Cells) -> Cells {
    if cells.is_empty() {
        return cells;
    }
    let mut all = Cell::default();
    for (kind, cell) in &cells {
        if kind != ALL_KINDS {
            all.add(&cell.figures, &cell.volunteers);
        }
    }
    cells.insert(ALL_KINDS.to_owned(), all);
    cells
}

/// Rebuilds one period's rows of `span`: district `district`'s from its places' own rows, or
/// (`CITY`) the city's from every district's rows by kind.
pub(crate) async fn rebuild(
    conn: &impl ConnectionTrait,
    span: &'static str,
    district: i64,
    period: &str,
    key: &str,
) -> Result<()> {
    let rows = stats_place_periods::Entity::find()
        .filter(stats_place_periods::Column::Period.eq(period))
        .filter(stats_place_periods::Column::PeriodKey.eq(key));
    let (rows, at) = if span == CITY {
        let rows = rows
            .filter(stats_place_periods::Column::Span.eq(DISTRICT))
            .filter(stats_place_periods::Column::TeamKind.ne(ALL_KINDS));
        (rows, (0, 0))
    } else {
        let rows = rows
            .filter(stats_place_periods::Column::Span.eq(PLACE))
            .filter(stats_place_periods::Column::DistrictId.eq(district));
        (rows, (district, 0))
    };
    let mut cells = Cells::new();
    for row in rows.all(conn).await? {
        let volunteers = places::decode(&row.volunteers)?;
        cells
            .entry(row.team_kind.clone())
            .or_default()
            .add(&places::figures_of(&row), &volunteers);
    }
    places::store(conn, span, at, period, key, with_all_kinds(cells)).await
}

/// Rebuilds what a mark of united rows names, and marks the city's rows of a district's period.
pub(super) async fn recompute(txn: &WriteTxn<'_>, mark: &stats_dirty::Model) -> Result<()> {
    let day = mark.day;
    let (span, city_mark) = match mark.kind.as_str() {
        DISTRICT_DAY => (DISTRICT, Some(CITY_DAY)),
        DISTRICT_WEEK => (DISTRICT, Some(CITY_WEEK)),
        DISTRICT_MONTH => (DISTRICT, Some(CITY_MONTH)),
        _ => (CITY, None),
    };
    let pieces = match mark.kind.as_str() {
        DISTRICT_DAY | CITY_DAY => vec![(places::DAY, places::day_key(day))],
        DISTRICT_WEEK | CITY_WEEK => vec![(places::WEEK, places::week_key(day))],
        _ => vec![
            (places::MONTH, places::month_key(day)),
            (places::YEAR, places::year_key(day)),
        ],
    };
    for (period, key) in pieces {
        rebuild(&**txn, span, mark.ref_id, period, &key).await?;
    }
    if let Some(kind) = city_mark {
        txn.mark_dirty(DirtyDay {
            kind,
            ref_id: 0,
            day,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use roaring::RoaringTreemap;

    use super::*;
    use crate::stats::Figures;

    fn cell(minutes: i64, volunteers: &[u64]) -> Cell {
        Cell {
            figures: Figures {
                approved_minutes: minutes,
                ..Figures::default()
            },
            volunteers: volunteers.iter().copied().collect(),
        }
    }

    #[test]
    fn the_all_kinds_cell_sums_every_kind_and_unites_their_sets() {
        let cells: Cells = [
            ("KUNG_FU_PATROL".to_owned(), cell(60, &[1, 2])),
            ("ANTI_FRAUD".to_owned(), cell(30, &[2, 3])),
            (String::new(), cell(0, &[])),
        ]
        .into_iter()
        .collect();
        let cells = with_all_kinds(cells);
        let all = &cells[ALL_KINDS];
        assert_eq!(all.figures.approved_minutes, 90);
        assert_eq!(
            all.volunteers,
            [1u64, 2, 3].into_iter().collect::<RoaringTreemap>()
        );
        assert_eq!(cells.len(), 4);
        assert!(with_all_kinds(Cells::new()).is_empty());
    }

    #[test]
    fn merging_unites_kind_by_kind() {
        let mut into: Cells = [("ANTI_FRAUD".to_owned(), cell(10, &[1]))]
            .into_iter()
            .collect();
        let from: Cells = [
            ("ANTI_FRAUD".to_owned(), cell(5, &[1, 9])),
            ("CAMPUS_GUARD".to_owned(), cell(7, &[4])),
        ]
        .into_iter()
        .collect();
        merge(&mut into, &from);
        assert_eq!(into["ANTI_FRAUD"].figures.approved_minutes, 15);
        assert_eq!(into["ANTI_FRAUD"].volunteers.len(), 2);
        assert_eq!(into["CAMPUS_GUARD"].volunteers.len(), 1);
    }
}
