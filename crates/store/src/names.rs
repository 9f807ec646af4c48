//! Physical names of a tenant's record storage. On PostgreSQL a tenant owns schema
//! `t_<key>` and role `weft_t_<key>`; on SQLite its tables share the file and carry the key
//! in their names. Names are built only from validated API names and hex keys, so quoting them
//! with double quotes is safe; `ident` refuses anything else.

use sha2::{Digest, Sha256};
use weft_runtime::ports::Backend;

/// Quote an identifier made of `[a-z0-9_]` only.
pub fn ident(s: &str) -> String {
    debug_assert!(
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "unsafe identifier {s:?}"
    );
    let clean: String = s
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    format!("\"{clean}\"")
}

#[derive(Clone, Debug)]
pub struct Names {
    pub backend: Backend,
    pub key: String,
}

impl Names {
    pub fn new(backend: Backend, key: &str) -> Self {
        Self {
            backend,
            key: key.to_owned(),
        }
    }

    pub fn schema(&self) -> String {
        format!("t_{}", self.key)
    }

    pub fn role(&self) -> String {
        format!("weft_t_{}", self.key)
    }

    fn qualified(&self, local: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("{}.{}", ident(&self.schema()), ident(local)),
            Backend::Sqlite => ident(&format!("t{}__{local}", self.key)),
        }
    }

    /// The record table of an object, quoted and qualified.
    pub fn table(&self, object: &str) -> String {
        self.qualified(object)
    }

    /// The junction table of a multi-lookup field.
    pub fn junction(&self, object: &str, field: &str) -> String {
        self.qualified(&format!("{object}__{field}"))
    }

    /// A short, unique index name (PostgreSQL caps names at 63 bytes; index names are per
    /// schema there and per file on SQLite, so the key is part of the hash).
    pub fn index(&self, object: &str, what: &str) -> String {
        let h = Sha256::digest(format!("{}:{object}:{what}", self.key).as_bytes());
        format!("ix_{}", &hex::encode(h)[..20])
    }

    /// Index names are schema-qualified on PostgreSQL when dropped.
    pub fn qualified_index(&self, name: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("{}.{}", ident(&self.schema()), ident(name)),
            Backend::Sqlite => ident(name),
        }
    }
}

/// The column holding a field's value, and for currency the column of its code.
pub fn currency_col(field: &str) -> String {
    format!("{field}__cur")
}

/// The temporary column a type change writes into.
pub fn shadow_col(field: &str) -> String {
    format!("{field}__new")
}

impl Names {
    fn local_ref(&self, local: String) -> sea_orm::sea_query::TableRef {
        use sea_orm::sea_query::{Alias, IntoTableRef};
        match self.backend {
            Backend::Postgres => (Alias::new(self.schema()), Alias::new(local)).into_table_ref(),
            Backend::Sqlite => Alias::new(format!("t{}__{local}", self.key)).into_table_ref(),
        }
    }

    /// The record table as a sea-query table reference.
    pub fn table_ref(&self, object: &str) -> sea_orm::sea_query::TableRef {
        self.local_ref(object.to_owned())
    }

    pub fn junction_ref(&self, object: &str, field: &str) -> sea_orm::sea_query::TableRef {
        self.local_ref(format!("{object}__{field}"))
    }
}
