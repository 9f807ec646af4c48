//! Bilingual labels. Weft's users work in Chinese first; English is the fallback.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Label {
    pub fn new(zh: &str, en: &str) -> Self {
        Self {
            zh: Some(zh.to_owned()),
            en: Some(en.to_owned()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.zh.as_deref().is_none_or(|s| s.trim().is_empty())
            && self.en.as_deref().is_none_or(|s| s.trim().is_empty())
    }

    /// The label in the preferred language, falling back to the other one.
    pub fn get(&self, prefer_zh: bool) -> &str {
        let (a, b) = if prefer_zh {
            (&self.zh, &self.en)
        } else {
            (&self.en, &self.zh)
        };
        a.as_deref().or(b.as_deref()).unwrap_or("")
    }
}
