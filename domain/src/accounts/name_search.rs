//! A name search without a phone, driven by `volunteer_name_grams`: the volunteers whose names
//! hold one gram of the needle ([`grams::driving_gram`]), read in id order from the gram table's
//! primary key `(gram, volunteer_id)`, each looked up by id and kept when it is homed in the
//! admin's areas and its lower-cased name holds the whole needle (`LIKE`, wildcards escaped).
//!
//! The join order is spelled out per backend, so neither planner can drive the search from
//! `volunteers` (on PostgreSQL it would, misjudging the `LIKE`: a scan of every volunteer): a
//! `LATERAL` subquery kept from being flattened (`OFFSET 0`) on PostgreSQL, a `CROSS JOIN` (which
//! SQLite never reorders) on SQLite. Ids and the limit are numbers formatted by Rust; the gram and
//! the pattern are bound values.

use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement, Value};

use crate::entity::volunteers;
use crate::error::Result;
use crate::grams;
use crate::values::like_literal;

/// The `FROM … WHERE …` of the search (binding the gram, then the pattern).
fn from_where(backend: DbBackend, homes: &[i64]) -> String {
    let areas = homes
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if backend == DbBackend::Postgres {
        format!(
            "FROM volunteer_name_grams g CROSS JOIN LATERAL (SELECT v.* FROM volunteers v \
             WHERE v.id = g.volunteer_id AND v.area_id IN ({areas}) \
             AND lower(v.display_name) LIKE $2 ESCAPE '\\' OFFSET 0) v \
             WHERE g.gram = lower($1)"
        )
    } else {
        format!(
            "FROM volunteer_name_grams g CROSS JOIN volunteers v ON v.id = g.volunteer_id \
             WHERE g.gram = lower(?) AND v.area_id IN ({areas}) \
             AND lower(v.display_name) LIKE ? ESCAPE '\\'"
        )
    }
}

/// The gram and the pattern for a lower-cased needle.
fn values(name: &str) -> Vec<Value> {
    vec![
        grams::driving_gram(name).into(),
        format!("%{}%", like_literal(name)).into(),
    ]
}

/// The volunteers (homed in `homes`) whose lower-cased name holds `name`, after id `after`, by
/// id, at most `limit`; and how many there are in all.
pub(super) async fn search(
    db: &impl ConnectionTrait,
    homes: &[i64],
    name: &str,
    after: Option<i64>,
    limit: u64,
) -> Result<(Vec<volunteers::Model>, u64)> {
    if homes.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let backend = db.get_database_backend();
    let from = from_where(backend, homes);
    let after = after.map_or(String::new(), |id| format!(" AND g.volunteer_id > {id}"));
    let page = Statement::from_sql_and_values(
        backend,
        format!("SELECT v.* {from}{after} ORDER BY g.volunteer_id LIMIT {limit}"),
        values(name),
    );
    let rows = volunteers::Entity::find()
        .from_raw_sql(page)
        .all(db)
        .await?;
    let count = Statement::from_sql_and_values(
        backend,
        format!("SELECT count(*) AS n {from}"),
        values(name),
    );
    let total = match db.query_one_raw(count).await? {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    };
    Ok((rows, u64::try_from(total).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_reads_the_gram_table_first_on_both_backends() {
        let postgres = from_where(DbBackend::Postgres, &[3, 4]);
        assert!(postgres.starts_with("FROM volunteer_name_grams g CROSS JOIN LATERAL"));
        assert!(postgres.contains("v.area_id IN (3, 4)") && postgres.contains("OFFSET 0"));
        let sqlite = from_where(DbBackend::Sqlite, &[3]);
        assert!(sqlite.starts_with("FROM volunteer_name_grams g CROSS JOIN volunteers v"));
        assert_eq!(
            values("黄飞鸿"),
            vec![Value::from("黄飞"), Value::from("%黄飞鸿%")]
        );
    }
}
