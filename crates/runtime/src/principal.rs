//! Who is acting, for which tenant, through which channel.

use serde::{Deserialize, Serialize};
use weft_meta::{ApiKeyId, TenantId, UserId};

/// Where a write came from; recorded in the change log and visible to rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Ui,
    Api,
    Import,
    Rule,
    Flow,
    System,
}

impl Source {
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Ui => "ui",
            Source::Api => "api",
            Source::Import => "import",
            Source::Rule => "rule",
            Source::Flow => "flow",
            Source::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ui" => Source::Ui,
            "api" => Source::Api,
            "import" => Source::Import,
            "rule" => Source::Rule,
            "flow" => Source::Flow,
            "system" => Source::System,
            _ => return None,
        })
    }
}

/// An authenticated actor. The tenant comes only from the credential, never from the request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub tenant: TenantId,
    pub user: UserId,
    pub is_admin: bool,
    /// The user's primary department: new records default to it.
    pub department: Option<uuid::Uuid>,
    pub source: Source,
    pub api_key: Option<ApiKeyId>,
    /// Depth of automation that led to this write (0 = a person or integration).
    pub cascade_depth: u8,
    /// An admin viewing the app as this user: reads only, with this user's rights.
    pub view_as: bool,
    /// The web session behind this principal, if any.
    pub session: Option<uuid::Uuid>,
}

impl Principal {
    pub fn system(tenant: TenantId, user: UserId) -> Self {
        Self {
            tenant,
            user,
            is_admin: true,
            department: None,
            source: Source::System,
            api_key: None,
            cascade_depth: 0,
            view_as: false,
            session: None,
        }
    }
}
