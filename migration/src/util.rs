//! Small builders shared by migrations. Changing one never changes a landed migration's effect:
//! they only spell out foreign keys and indexes.

use sea_orm_migration::prelude::*;

pub(crate) fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

pub(crate) fn index(
    name: &str,
    table: impl IntoIden,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut statement = Index::create().name(name).table(table).to_owned();
    for column in columns {
        statement.col(Alias::new(*column));
    }
    statement
}
