//! Scalars and small shared types: `Date`, Relay connections with `totalCount`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{
    InputValueError, InputValueResult, OutputType, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::NaiveDate;
use feihong_domain::page::{Page, PageRequest};

use super::error::GqlResult;

/// A calendar day, `YYYY-MM-DD`, in the city's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// How many items the whole list holds (not just this page).
#[derive(SimpleObject)]
pub struct ListTotal {
    pub total_count: u64,
}

pub type ListConnection<N> = Connection<String, N, ListTotal, EmptyFields>;

/// `first` (1–100, default 20) and `after` as the domain's page request; errors name the argument.
pub fn page_request(first: Option<i32>, after: Option<String>) -> GqlResult<PageRequest> {
    Ok(PageRequest::parse(first, after.as_deref())?)
}

/// A domain page as a Relay connection.
pub fn connection<T, N: OutputType>(page: Page<T>, node: impl Fn(T) -> N) -> ListConnection<N> {
    let mut connection = Connection::with_additional_fields(
        false,
        page.has_next_page,
        ListTotal {
            total_count: page.total,
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, item)| Edge::new(cursor.encode(), node(item))),
    );
    connection
}
