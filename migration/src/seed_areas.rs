//! Seeds the area tree (city → districts → towns/streets) from `data/foshan-areas.json`.
//!
//! District codes are GB/T 2260. The national scheme stops at county level, so a town gets a
//! project-internal code: its district's code followed by a three-digit ordinal (`440604001`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use serde::Deserialize;

use crate::m20261128_000001_foundation::Areas;

const AREAS_JSON: &str = include_str!("../data/foshan-areas.json");

#[derive(Deserialize)]
struct AreaFile {
    city: CityEntry,
    districts: Vec<DistrictEntry>,
}

#[derive(Deserialize)]
struct CityEntry {
    code: String,
    name: String,
    name_en: String,
    center: [f64; 2],
}

#[derive(Deserialize)]
struct DistrictEntry {
    code: String,
    name: String,
    name_en: String,
    center: [f64; 2],
    towns: Vec<String>,
}

struct AreaRow {
    id: i64,
    code: String,
    name: String,
    name_en: String,
    level: &'static str,
    parent_id: Option<i64>,
    center: [f64; 2],
}

fn area_rows() -> Result<Vec<AreaRow>, DbErr> {
    let file: AreaFile = serde_json::from_str(AREAS_JSON)
        .map_err(|error| DbErr::Migration(format!("foshan-areas.json: {error}")))?;
    let mut rows = vec![AreaRow {
        id: 1,
        code: file.city.code,
        name: file.city.name,
        name_en: file.city.name_en,
        level: "CITY",
        parent_id: None,
        center: file.city.center,
    }];
    let mut next_id = 2;
    let mut towns = Vec::new();
    for district in file.districts {
        let district_id = next_id;
        next_id += 1;
        for (ordinal, town) in district.towns.iter().enumerate() {
            towns.push(AreaRow {
                id: 0,
                code: format!("{}{:03}", district.code, ordinal + 1),
                name: town.clone(),
                // Town names are kept in Chinese only; no official romanisation is shipped.
                name_en: town.clone(),
                level: "TOWN",
                parent_id: Some(district_id),
                center: district.center,
            });
        }
        rows.push(AreaRow {
            id: district_id,
            code: district.code,
            name: district.name,
            name_en: district.name_en,
            level: "DISTRICT",
            parent_id: Some(1),
            center: district.center,
        });
    }
    for mut town in towns {
        town.id = next_id;
        next_id += 1;
        rows.push(town);
    }
    Ok(rows)
}

pub(crate) async fn seed(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut insert = Query::insert();
    insert.into_table(Areas::Table).columns([
        Areas::Id,
        Areas::Code,
        Areas::Name,
        Areas::NameEn,
        Areas::Level,
        Areas::ParentId,
        Areas::Lat,
        Areas::Lng,
    ]);
    for row in area_rows()? {
        insert.values_panic([
            row.id.into(),
            row.code.into(),
            row.name.into(),
            row.name_en.into(),
            row.level.into(),
            row.parent_id.into(),
            row.center[0].into(),
            row.center[1].into(),
        ]);
    }
    manager.exec_stmt(insert).await?;

    // Explicit ids bypass PostgreSQL's sequence; move it past them so later inserts do not clash.
    let connection = manager.get_connection();
    if connection.get_database_backend() == DbBackend::Postgres {
        connection
            .execute_unprepared(
                "SELECT setval(pg_get_serial_sequence('areas', 'id'), (SELECT max(id) FROM areas))",
            )
            .await?;
    }
    Ok(())
}
