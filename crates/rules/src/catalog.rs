//! What a script may read: the fields of one object and their types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The value type of a field as scripts see it.
///
/// This is deliberately coarser than the metadata field types: a percent, a number and an
/// auto-computed rollup are all `Decimal` here; a lookup, a user and a department field are
/// all `Id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScalarType {
    Text,
    Integer,
    /// Exact decimal (number, percent, amount). JSON form: a string such as `"500000.00"`
    /// (numbers are accepted on input).
    Decimal,
    /// JSON form `{"amount": "1.00", "currency": "CNY"}`; scripts see the decimal amount and
    /// read the code with `currency_of("field")`.
    Currency,
    Bool,
    /// `"YYYY-MM-DD"`.
    Date,
    /// RFC 3339.
    DateTime,
    /// `"HH:MM:SS"`.
    Time,
    /// Multi-select: an array of strings.
    TextList,
    /// A uuid string (lookup, user, department).
    Id,
    /// An array of uuid strings.
    IdList,
    /// Any JSON value, read-only in scripts.
    Json,
}

impl ScalarType {
    /// The name used in messages to tenant admins.
    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Currency => "currency",
            Self::Bool => "bool",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Time => "time",
            Self::TextList => "text list",
            Self::Id => "id",
            Self::IdList => "id list",
            Self::Json => "json",
        }
    }
}

/// The fields of one object, by api name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCatalog {
    fields: BTreeMap<String, ScalarType>,
}

impl FieldCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a field; returns `self` so catalogs read well in tests.
    pub fn with(mut self, api_name: impl Into<String>, ty: ScalarType) -> Self {
        self.insert(api_name, ty);
        self
    }

    pub fn insert(&mut self, api_name: impl Into<String>, ty: ScalarType) {
        self.fields.insert(api_name.into(), ty);
    }

    pub fn get(&self, api_name: &str) -> Option<ScalarType> {
        self.fields.get(api_name).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, ScalarType)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The closest field name, for "did you mean" hints.
    pub(crate) fn suggest(&self, name: &str) -> Option<&str> {
        closest(name, self.fields.keys().map(String::as_str))
    }
}

impl<K: Into<String>> FromIterator<(K, ScalarType)> for FieldCatalog {
    fn from_iter<I: IntoIterator<Item = (K, ScalarType)>>(iter: I) -> Self {
        Self {
            fields: iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

/// The candidate within a small edit distance of `name`, if any.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_ascii_lowercase();
    let budget = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let v = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let c = FieldCatalog::new()
            .with("amount", ScalarType::Decimal)
            .with("stage", ScalarType::Text);
        assert_eq!(c.suggest("amout"), Some("amount"));
        assert_eq!(c.suggest("Stage"), Some("stage"));
        assert_eq!(c.suggest("owner"), None);
    }
}
