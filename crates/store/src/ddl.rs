//! DDL for record tables, generated from object definitions. Runs inside the metadata
//! change's transaction (DDL is transactional on both backends), so a failed change leaves
//! neither a half-built table nor a definition without storage.

use weft_meta::{FieldDef, FieldKind, ObjectDef, OnDelete};
use weft_runtime::ports::Backend;

use crate::names::{Names, currency_col, ident, shadow_col};
use crate::sqlvalue::column_type;

fn sys_columns(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "\"id\" uuid PRIMARY KEY, \"owner\" uuid NOT NULL, \"department\" uuid, \
             \"version\" bigint NOT NULL, \"created_by\" uuid NOT NULL, \"created_at\" timestamptz NOT NULL, \
             \"updated_by\" uuid NOT NULL, \"updated_at\" timestamptz NOT NULL, \"deleted_at\" timestamptz, \
             \"deleted_by\" uuid, \"delete_batch\" uuid"
        }
        Backend::Sqlite => {
            "\"id\" BLOB PRIMARY KEY NOT NULL, \"owner\" BLOB NOT NULL, \"department\" BLOB, \
             \"version\" INTEGER NOT NULL, \"created_by\" BLOB NOT NULL, \"created_at\" TEXT NOT NULL, \
             \"updated_by\" BLOB NOT NULL, \"updated_at\" TEXT NOT NULL, \"deleted_at\" TEXT, \
             \"deleted_by\" BLOB, \"delete_batch\" BLOB"
        }
    }
}

fn on_delete_sql(f: &FieldDef) -> &'static str {
    match &f.kind {
        FieldKind::Lookup { on_delete, .. } => match on_delete {
            OnDelete::Restrict => "RESTRICT",
            OnDelete::SetNull => "SET NULL",
            OnDelete::Cascade => "CASCADE",
        },
        _ => "CASCADE",
    }
}

/// Column definitions of one field (name and type, with a foreign key for references).
fn field_columns(n: &Names, f: &FieldDef, col: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ty = column_type(n.backend, &f.kind);
    match &f.kind {
        FieldKind::MultiLookup { .. } => {}
        FieldKind::Lookup { target, .. } | FieldKind::MasterDetail { target } => {
            out.push(format!(
                "{} {ty} REFERENCES {}(\"id\") ON DELETE {}",
                ident(col),
                n.table(target.as_str()),
                on_delete_sql(f)
            ));
        }
        FieldKind::Currency { .. } => {
            out.push(format!("{} {ty}", ident(col)));
            let cur_ty = if n.backend == Backend::Postgres {
                "text"
            } else {
                "TEXT"
            };
            out.push(format!("{} {cur_ty}", ident(&currency_col(col))));
        }
        _ => out.push(format!("{} {ty}", ident(col))),
    }
    out
}

/// Index statements for a field's flags (unique, indexed, references).
pub fn field_indexes(n: &Names, object: &str, f: &FieldDef) -> Vec<String> {
    let mut out = Vec::new();
    let t = n.table(object);
    let c = ident(f.name());
    if f.unique {
        out.push(format!(
            "CREATE UNIQUE INDEX {} ON {t} ({c}) WHERE \"deleted_at\" IS NULL",
            ident(&n.index(object, &format!("unique:{}", f.name())))
        ));
    }
    if f.wants_index() && f.has_column() {
        out.push(format!(
            "CREATE INDEX {} ON {t} ({c}, \"id\")",
            ident(&n.index(object, &format!("index:{}", f.name())))
        ));
    }
    out
}

pub fn drop_field_indexes(n: &Names, object: &str, f: &FieldDef) -> Vec<String> {
    ["unique", "index"]
        .iter()
        .map(|k| {
            format!(
                "DROP INDEX IF EXISTS {}",
                n.qualified_index(&n.index(object, &format!("{k}:{}", f.name())))
            )
        })
        .collect()
}

fn junction(n: &Names, object: &str, f: &FieldDef) -> Vec<String> {
    let Some(target) = f.kind.reference_target() else {
        return vec![];
    };
    let (ty, j) = match n.backend {
        Backend::Postgres => ("uuid", n.junction(object, f.name())),
        Backend::Sqlite => ("BLOB", n.junction(object, f.name())),
    };
    vec![
        format!(
            "CREATE TABLE {j} (\"source\" {ty} NOT NULL REFERENCES {}(\"id\") ON DELETE CASCADE, \
             \"target\" {ty} NOT NULL REFERENCES {}(\"id\") ON DELETE CASCADE, PRIMARY KEY (\"source\", \"target\"))",
            n.table(object),
            n.table(target.as_str())
        ),
        format!(
            "CREATE INDEX {} ON {j} (\"target\", \"source\")",
            ident(&n.index(object, &format!("junction:{}", f.name())))
        ),
    ]
}

pub fn create_object(n: &Names, def: &ObjectDef) -> Vec<String> {
    let object = def.api_name.as_str();
    let mut cols = vec![sys_columns(n.backend).to_owned()];
    for f in &def.fields {
        cols.extend(field_columns(n, f, f.name()));
    }
    let mut out = vec![format!(
        "CREATE TABLE {} ({})",
        n.table(object),
        cols.join(", ")
    )];
    let t = n.table(object);
    // Data-scope filters (own / department) and the recycle bin read these.
    out.push(format!(
        "CREATE INDEX {} ON {t} (\"owner\", \"id\")",
        ident(&n.index(object, "sys:owner"))
    ));
    out.push(format!(
        "CREATE INDEX {} ON {t} (\"department\", \"id\")",
        ident(&n.index(object, "sys:department"))
    ));
    out.push(format!(
        "CREATE INDEX {} ON {t} (\"delete_batch\") WHERE \"delete_batch\" IS NOT NULL",
        ident(&n.index(object, "sys:batch"))
    ));
    for f in &def.fields {
        out.extend(field_indexes(n, object, f));
        if matches!(f.kind, FieldKind::MultiLookup { .. }) {
            out.extend(junction(n, object, f));
        }
    }
    out
}

pub fn drop_object(n: &Names, def: &ObjectDef) -> Vec<String> {
    let object = def.api_name.as_str();
    let mut out: Vec<String> = def
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::MultiLookup { .. }))
        .map(|f| format!("DROP TABLE IF EXISTS {}", n.junction(object, f.name())))
        .collect();
    out.push(format!("DROP TABLE IF EXISTS {}", n.table(object)));
    out
}

pub fn add_field(n: &Names, def: &ObjectDef, f: &FieldDef) -> Vec<String> {
    let object = def.api_name.as_str();
    let mut out = Vec::new();
    if matches!(f.kind, FieldKind::MultiLookup { .. }) {
        out.extend(junction(n, object, f));
        return out;
    }
    for c in field_columns(n, f, f.name()) {
        out.push(format!("ALTER TABLE {} ADD COLUMN {c}", n.table(object)));
    }
    out.extend(field_indexes(n, object, f));
    out
}

pub fn drop_field(n: &Names, def: &ObjectDef, f: &FieldDef) -> Vec<String> {
    let object = def.api_name.as_str();
    if matches!(f.kind, FieldKind::MultiLookup { .. }) {
        return vec![format!(
            "DROP TABLE IF EXISTS {}",
            n.junction(object, f.name())
        )];
    }
    let mut out = drop_field_indexes(n, object, f);
    out.push(format!(
        "ALTER TABLE {} DROP COLUMN {}",
        n.table(object),
        ident(f.name())
    ));
    if matches!(f.kind, FieldKind::Currency { .. }) {
        out.push(format!(
            "ALTER TABLE {} DROP COLUMN {}",
            n.table(object),
            ident(&currency_col(f.name()))
        ));
    }
    out
}

pub fn add_shadow(n: &Names, def: &ObjectDef, new: &FieldDef) -> Vec<String> {
    let object = def.api_name.as_str();
    let mut out = drop_shadow(n, def, new);
    for c in field_columns(n, new, &shadow_col(new.name())) {
        out.push(format!("ALTER TABLE {} ADD COLUMN {c}", n.table(object)));
    }
    out
}

pub fn drop_shadow(n: &Names, def: &ObjectDef, new: &FieldDef) -> Vec<String> {
    let object = def.api_name.as_str();
    let shadow = shadow_col(new.name());
    let mut cols = vec![shadow.clone()];
    if matches!(new.kind, FieldKind::Currency { .. }) {
        cols.push(currency_col(&shadow));
    }
    cols.iter()
        .map(|c| match n.backend {
            Backend::Postgres => format!(
                "ALTER TABLE {} DROP COLUMN IF EXISTS {}",
                n.table(object),
                ident(c)
            ),
            // SQLite has no DROP COLUMN IF EXISTS; the store checks the column first.
            Backend::Sqlite => format!("ALTER TABLE {} DROP COLUMN {}", n.table(object), ident(c)),
        })
        .collect()
}

/// Drop `old`'s columns and indexes, rename the shadow columns into place, re-create indexes.
pub fn swap_shadow(n: &Names, def: &ObjectDef, old: &FieldDef, new: &FieldDef) -> Vec<String> {
    let object = def.api_name.as_str();
    let t = n.table(object);
    let mut out = drop_field(n, def, old);
    let shadow = shadow_col(new.name());
    out.push(format!(
        "ALTER TABLE {t} RENAME COLUMN {} TO {}",
        ident(&shadow),
        ident(new.name())
    ));
    if matches!(new.kind, FieldKind::Currency { .. }) {
        out.push(format!(
            "ALTER TABLE {t} RENAME COLUMN {} TO {}",
            ident(&currency_col(&shadow)),
            ident(&currency_col(new.name()))
        ));
    }
    out.extend(field_indexes(n, object, new));
    out
}
