//! Short-text pieces ("grams") for index-backed substring search: every distinct one- and
//! two-character piece of a text, lower-cased by the database (`lower`), pieces holding a space
//! left out. A gram table has a primary key `(gram, <owner>)`, so a search reads the owners of one
//! gram in id order straight from the index.
//!
//! Two tables use it: `event_search_grams` (an event's title, description and address; see
//! `events::search`) and `volunteer_name_grams` (a volunteer's display name; see
//! `accounts::lookup`). Each is rewritten here in the transaction that writes its text.
//! Migrations `m20261130_000013` and `m20261130_000014` backfill them with the same statement
//! (the migration crate keeps its own copy, `migration::util::grams_insert`).

use sea_orm::ConnectionTrait;

use crate::error::Result;
use crate::values::DisplayName;

/// A table of grams: its name, the column naming whose text a gram comes from, and the longest
/// text it splits (the statement numbers the characters up to it: a bound near the real one keeps
/// a backfill of many short texts cheap).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GramTable {
    pub table: &'static str,
    pub owner: &'static str,
    pub max_chars: usize,
}

pub(crate) const EVENT_SEARCH_GRAMS: GramTable = GramTable {
    table: "event_search_grams",
    owner: "event_id",
    max_chars: 5000,
};

pub(crate) const VOLUNTEER_NAME_GRAMS: GramTable = GramTable {
    table: "volunteer_name_grams",
    owner: "volunteer_id",
    max_chars: DisplayName::MAX_CHARS,
};

/// Inserts the grams of every `(id, body)` row `source` (a `SELECT`) yields. Runs on SQLite and
/// PostgreSQL.
fn insert_statement(grams: GramTable, source: &str) -> String {
    let GramTable {
        table,
        owner,
        max_chars,
    } = grams;
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {max_chars}) \
         INSERT INTO {table} (gram, {owner}) \
         SELECT DISTINCT lower(substr(f.body, n.i, w.len)), f.id \
         FROM ({source}) f \
         JOIN n ON n.i <= length(f.body) \
         JOIN (SELECT 1 AS len UNION ALL SELECT 2) w ON n.i + w.len - 1 <= length(f.body) \
         WHERE substr(f.body, n.i, w.len) NOT LIKE '% %' \
         ON CONFLICT DO NOTHING"
    )
}

/// Rewrites the grams of the owners `owners` (a `SELECT` of ids) from their text, `source` (a
/// `SELECT` of `(id, body)` rows for the same owners). Both are built by the caller from numbers
/// formatted by Rust: nothing from the client is spliced into the SQL as text.
pub(crate) async fn refresh(
    conn: &impl ConnectionTrait,
    grams: GramTable,
    owners: &str,
    source: &str,
) -> Result<()> {
    conn.execute_unprepared(&format!(
        "DELETE FROM {} WHERE {} IN ({owners})",
        grams.table, grams.owner
    ))
    .await?;
    conn.execute_unprepared(&insert_statement(grams, source))
        .await?;
    Ok(())
}

/// The gram a substring search for `needle` (trimmed, not empty) reads: a needle of one or two
/// characters is its own gram; a longer one, its first two-character piece without a space (or,
/// when every piece holds one, its first character). Every text holding the needle holds that
/// gram; the caller still checks the whole needle.
pub(crate) fn driving_gram(needle: &str) -> String {
    let chars: Vec<char> = needle.chars().collect();
    if chars.len() <= 2 {
        return needle.to_owned();
    }
    chars
        .windows(2)
        .find(|pair| !pair.contains(&' '))
        .or_else(|| chars.chunks(1).find(|one| one[0] != ' '))
        .map(|piece| piece.iter().collect())
        .unwrap_or_else(|| needle.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_needle_is_its_own_gram_a_longer_one_its_first_spaceless_pair() {
        assert_eq!(driving_gram("黄"), "黄");
        assert_eq!(driving_gram("飞鸿"), "飞鸿");
        assert_eq!(driving_gram("黄飞鸿"), "黄飞");
        assert_eq!(driving_gram("a bc"), "bc");
        assert_eq!(driving_gram("a b"), "a");
    }

    #[test]
    fn the_insert_reads_the_given_rows_into_the_given_table() {
        let sql = insert_statement(
            VOLUNTEER_NAME_GRAMS,
            "SELECT v.id, v.display_name AS body FROM volunteers v",
        );
        assert!(sql.contains("INSERT INTO volunteer_name_grams (gram, volunteer_id)"));
        assert!(sql.contains("FROM (SELECT v.id, v.display_name AS body FROM volunteers v) f"));
        assert!(sql.contains("WHERE i < 40)"));
    }
}
