//! A problem found in a document: where (a JSON pointer), what (a stable machine code) and a
//! human message. Every validator in Weft collects all of its problems before it answers.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// JSON pointer into the submitted document, e.g. `/amount` or `/fields/3/options/0/value`.
    pub path: String,
    /// Stable, machine-readable code such as `required`, `type`, `max_length`.
    pub code: String,
    /// In English.
    pub message: String,
    /// In Chinese, where the code has a translation (the API picks it by `Accept-Language`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
}

impl Problem {
    pub fn new(path: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code: code.to_owned(),
            message: message.into(),
            zh: None,
        }
    }

    /// The message in Chinese.
    pub fn zh(mut self, zh: impl Into<String>) -> Self {
        self.zh = Some(zh.into());
        self
    }

    /// Prefix the path with a parent pointer.
    pub fn under(mut self, parent: &str) -> Self {
        self.path = format!("{parent}{}", self.path);
        self
    }
}

/// Escape a key for use as one JSON pointer segment (RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
