//! API names of objects and fields: the stable identifiers used in URLs, JSON and SQL.
//! Labels can change freely; an API name is fixed once created.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Column names every record table has; user fields may not take them.
pub const SYSTEM_FIELDS: &[&str] = &[
    "id",
    "owner",
    "department",
    "version",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "deleted_at",
    "deleted_by",
    "delete_batch",
];

/// Names reserved for storage system columns (PostgreSQL and SQLite hidden columns, the tenant
/// key). SQL keywords are fine: every identifier is quoted.
const RESERVED: &[&str] = &[
    "tenant_id",
    "oid",
    "ctid",
    "xmin",
    "xmax",
    "cmin",
    "cmax",
    "tableoid",
    "rowid",
    "oid_",
];

pub const MAX_API_NAME_LEN: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ApiName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must be 1 to {MAX_API_NAME_LEN} characters")]
    Length,
    #[error(
        "must start with a lowercase letter and contain only lowercase letters, digits and single underscores"
    )]
    Charset,
    #[error("'{0}' is reserved")]
    Reserved(String),
}

impl ApiName {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() || s.len() > MAX_API_NAME_LEN {
            return Err(NameError::Length);
        }
        let bytes = s.as_bytes();
        let ok_first = bytes[0].is_ascii_lowercase();
        let ok_rest = bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
        if !ok_first || !ok_rest || s.contains("__") || s.ends_with('_') {
            return Err(NameError::Charset);
        }
        if RESERVED.contains(&s) {
            return Err(NameError::Reserved(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    /// A field name: an API name that is also not a system column.
    pub fn parse_field(s: &str) -> Result<Self, NameError> {
        if SYSTEM_FIELDS.contains(&s) {
            return Err(NameError::Reserved(s.to_owned()));
        }
        Self::parse(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ApiName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ApiName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ApiName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "account", "close_date", "x1", "a_b_c"] {
            assert!(ApiName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "1a",
            "_a",
            "a_",
            "a__b",
            "a-b",
            "名称",
            "ctid",
            &"a".repeat(41),
        ] {
            assert!(ApiName::parse(bad).is_err(), "{bad}");
        }
        assert!(ApiName::parse_field("owner").is_err());
        assert!(ApiName::parse("owner").is_ok());
    }
}
