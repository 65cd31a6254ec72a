//! Searching events by text: `events(filter: {search})` matches a substring of the title, the
//! description or the address, Chinese or Latin, ignoring case, always through an index:
//!
//! - three or more characters: a trigram index, `pg_trgm` (GIN, on the lower-cased fields) on
//!   PostgreSQL and an FTS5 `trigram` table on SQLite (kept in step by triggers);
//! - one or two characters (`反诈`, which has no trigram): `event_search_grams`, every distinct
//!   one- and two-character piece of each field, lower-cased (`crate::grams`), written here
//!   whenever an event's text is written ([`refresh_grams`]).
//!
//! Every match is exact: a gram hit is a substring by construction, and the trigram indexes are
//! checked by `LIKE` (PostgreSQL rechecks) or by FTS5's phrase match. Migration
//! `m20261130_000013_search_and_lookups` creates the indexes; the SQL below repeats its
//! expressions exactly (the planner matches an expression index only to the same expression).

use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ConnectionTrait, DbBackend};

use crate::error::{Error, Result};
use crate::grams;
use crate::text::Text;
use crate::values::like_literal;

/// A search string is at most this many characters.
pub const MAX_SEARCH_CHARS: usize = 50;

/// Below this many characters a search reads `event_search_grams`, from it on the trigram index.
const TRIGRAM_MIN_CHARS: usize = 3;

/// The lower-cased fields as PostgreSQL's trigram index holds them; a newline between fields
/// keeps a match from spanning two of them (a search string cannot hold one).
const PG_SEARCH_EXPRESSION: &str = "lower(title || chr(10) || description || chr(10) || address)";

/// A search string that passed its checks: trimmed, 1–50 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub fn parse(raw: &str, field: &str) -> Result<Self> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(Error::invalid(field, "must-not-be-empty"));
        }
        if chars > MAX_SEARCH_CHARS {
            return Err(Error::invalid(
                field,
                Text::new("must-be-at-most-n-characters").arg("max", MAX_SEARCH_CHARS),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(Error::invalid(field, "must-not-contain-control-characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_short(&self) -> bool {
        self.0.chars().count() < TRIGRAM_MIN_CHARS
    }
}

/// An FTS5 query matching `text` as one phrase (with the trigram tokenizer: as a substring):
/// quoted, inner quotes doubled, so no FTS5 operator in it is obeyed.
pub fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The condition on `events` that the search string matches, index-backed on either backend.
pub(crate) fn condition(backend: DbBackend, search: &SearchText) -> SimpleExpr {
    let postgres = backend == DbBackend::Postgres;
    // Each backend's own placeholder (sea-query numbers PostgreSQL's).
    let placeholder = if postgres { "$1" } else { "?" };
    if search.is_short() {
        return Expr::cust_with_values(
            format!(
                "\"events\".\"id\" IN (SELECT event_id FROM event_search_grams WHERE gram = lower({placeholder}))"
            ),
            [search.as_str()],
        );
    }
    if postgres {
        Expr::cust_with_values(
            format!("{PG_SEARCH_EXPRESSION} LIKE lower($1)"),
            [format!("%{}%", like_literal(search.as_str()))],
        )
    } else {
        Expr::cust_with_values(
            "\"events\".\"id\" IN (SELECT rowid FROM events_search WHERE events_search MATCH ?)",
            [fts_phrase(search.as_str())],
        )
    }
}

/// Rewrites the short-search pieces of the events `events_where` (a condition on `e`, built here
/// from numbers formatted by Rust) chooses from their stored text.
async fn refresh(conn: &impl ConnectionTrait, events_where: &str) -> Result<()> {
    grams::refresh(
        conn,
        grams::EVENT_SEARCH_GRAMS,
        &format!("SELECT e.id FROM events e WHERE {events_where}"),
        &format!(
            "SELECT e.id, e.title AS body FROM events e WHERE {events_where} \
             UNION ALL SELECT e.id, e.description FROM events e WHERE {events_where} \
             UNION ALL SELECT e.id, e.address FROM events e WHERE {events_where}"
        ),
    )
    .await
}

/// Called in the transaction that writes an event's title, description or address.
pub(crate) async fn refresh_grams(conn: &impl ConnectionTrait, event: i64) -> Result<()> {
    refresh(conn, &format!("e.id = {event}")).await
}

/// Called in the transaction that creates a patrol schedule's occurrences.
pub(crate) async fn refresh_schedule_grams(
    conn: &impl ConnectionTrait,
    schedule: i64,
) -> Result<()> {
    refresh(conn, &format!("e.schedule_id = {schedule}")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_string_is_trimmed_bounded_and_plain_text() {
        assert_eq!(
            SearchText::parse("  反诈 ", "search").unwrap().as_str(),
            "反诈"
        );
        assert!(SearchText::parse(&"巡".repeat(50), "search").is_ok());
        for raw in ["", "   ", "a\nb", "x\u{0}y"] {
            assert!(SearchText::parse(raw, "search").is_err(), "{raw:?}");
        }
        match SearchText::parse(&"巡".repeat(51), "search") {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "search"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn like_wildcards_and_fts_operators_are_taken_literally() {
        assert_eq!(like_literal("100%_a\\b"), "100\\%\\_a\\\\b");
        assert_eq!(like_literal("反诈宣传"), "反诈宣传");
        assert_eq!(fts_phrase("a\" OR b"), "\"a\"\" OR b\"");
    }

    #[test]
    fn one_and_two_characters_read_the_gram_table_longer_strings_the_trigram_index() {
        let short = SearchText::parse("反诈", "search").unwrap();
        let long = SearchText::parse("反诈宣", "search").unwrap();
        assert!(short.is_short());
        assert!(!long.is_short());
    }
}
