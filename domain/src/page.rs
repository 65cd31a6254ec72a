//! Cursor pagination. Cursors are opaque to clients: URL-safe base64 of the sort key of the last
//! item seen (`i:ID`, `t:MICROS:ID`) or of a position (`o:N`, for distance-ordered lists).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

pub const MAX_PAGE: u64 = 100;
pub const DEFAULT_PAGE: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    Id(i64),
    Time(DateTime<Utc>, i64),
    Offset(u64),
}

impl Cursor {
    pub fn encode(&self) -> String {
        let raw = match self {
            Self::Id(id) => format!("i:{id}"),
            Self::Time(at, id) => format!("t:{}:{id}", at.timestamp_micros()),
            Self::Offset(n) => format!("o:{n}"),
        };
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(encoded: &str) -> Result<Self> {
        let bad = || Error::invalid("after", "not-cursor-from-list");
        if encoded.len() > 100 {
            return Err(bad());
        }
        let raw = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let parts: Vec<&str> = text.split(':').collect();
        match parts.as_slice() {
            ["i", id] => id.parse().map(Self::Id).map_err(|_| bad()),
            ["o", n] => n.parse().map(Self::Offset).map_err(|_| bad()),
            ["t", micros, id] => {
                let micros: i64 = micros.parse().map_err(|_| bad())?;
                // A forged time outside the window every date lies in would reach the database
                // (which refuses it) or chrono arithmetic: it is not a cursor from any list.
                let at = DateTime::from_timestamp_micros(micros)
                    .and_then(|at| crate::dates::check_instant(at, "after").ok())
                    .ok_or_else(bad)?;
                Ok(Self::Time(at, id.parse().map_err(|_| bad())?))
            }
            _ => Err(bad()),
        }
    }
}

/// What a list was asked for: `first` in 1..=100 and where to start.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub fn parse(first: Option<i32>, after: Option<&str>) -> Result<Self> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if (1..=MAX_PAGE as i32).contains(&n) => n as u64,
            Some(_) => return Err(Error::invalid("first", "must-be-from-1-to-100")),
        };
        let after = after.map(Cursor::decode).transpose()?;
        Ok(Self { first, after })
    }

    pub fn after_id(&self) -> Result<Option<i64>> {
        match self.after {
            None => Ok(None),
            Some(Cursor::Id(id)) => Ok(Some(id)),
            Some(_) => Err(Error::invalid("after", "not-cursor-from-list")),
        }
    }

    pub fn after_time(&self) -> Result<Option<(DateTime<Utc>, i64)>> {
        match self.after {
            None => Ok(None),
            Some(Cursor::Time(at, id)) => Ok(Some((at, id))),
            Some(_) => Err(Error::invalid("after", "not-cursor-from-list")),
        }
    }

    pub fn offset(&self) -> Result<u64> {
        match self.after {
            None => Ok(0),
            Some(Cursor::Offset(n)) => Ok(n),
            Some(_) => Err(Error::invalid("after", "not-cursor-from-list")),
        }
    }
}

/// One page of a list; `items` carry their own cursors.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub total: u64,
}

impl<T> Page<T> {
    /// Builds a page from up to `first + 1` fetched rows (the extra one tells there is more).
    pub fn from_rows(
        mut rows: Vec<T>,
        first: u64,
        total: u64,
        cursor: impl Fn(&T) -> Cursor,
    ) -> Self {
        let has_next_page = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Self {
            items: rows.into_iter().map(|row| (cursor(&row), row)).collect(),
            has_next_page,
            total,
        }
    }

    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self
                .items
                .into_iter()
                .map(|(cursor, item)| (cursor, f(item)))
                .collect(),
            has_next_page: self.has_next_page,
            total: self.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let at = DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap();
        for cursor in [Cursor::Id(7), Cursor::Time(at, 9), Cursor::Offset(40)] {
            assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        }
        assert!(Cursor::decode("nonsense!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("x:1")).is_err());
    }

    #[test]
    fn cursors_with_times_outside_the_window_are_refused_as_input() {
        for raw in [
            "t:-8000000000000000000:1",
            "t:8000000000000000000:1",
            "t:-62135596800000000:1",
            "t:9223372036854775807:1",
        ] {
            match Cursor::decode(&URL_SAFE_NO_PAD.encode(raw)) {
                Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "after", "{raw}"),
                other => panic!("{raw}: expected invalid input, got {other:?}"),
            }
        }
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap().first, 20);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert_eq!(PageRequest::parse(Some(100), None).unwrap().first, 100);
    }

    #[test]
    fn an_extra_row_means_there_is_a_next_page() {
        let page = Page::from_rows(vec![1, 2, 3], 2, 3, |n| Cursor::Id(*n));
        assert!(page.has_next_page);
        assert_eq!(page.items.len(), 2);
        assert!(!Page::from_rows(vec![1, 2], 2, 2, |n| Cursor::Id(*n)).has_next_page);
    }
}
