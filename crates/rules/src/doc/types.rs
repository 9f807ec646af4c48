//! The `weft.rule/1` document types: the public JSON format as stored and exchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

pub const FORMAT: &str = "weft.rule/1";

fn format_tag() -> String {
    FORMAT.to_owned()
}
fn yes() -> bool {
    true
}

/// A rule as stored and exchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleDoc {
    #[serde(default = "format_tag")]
    pub format: String,
    pub api_name: String,
    /// The object the rule belongs to (for roll-ups: the parent object holding the field).
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(flatten)]
    pub body: RuleBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleBody {
    /// `condition` states what must hold; `false` rejects the write with `message`, at
    /// `field` or at the record.
    Validation {
        condition: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
    /// A stored, typed field computed on every create and update.
    Formula {
        field: String,
        expression: String,
    },
    /// A value computed on create when the write leaves the field blank.
    Default {
        field: String,
        expression: String,
    },
    /// When `condition` holds, `field` must not be blank.
    Required {
        field: String,
        condition: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// When `condition` holds for the stored record, `field` may not change.
    ReadOnly {
        field: String,
        condition: String,
    },
    Trigger(Box<TriggerDoc>),
    Rollup(RollupDoc),
}

impl RuleBody {
    pub fn kind(&self) -> &'static str {
        match self {
            RuleBody::Validation { .. } => "validation",
            RuleBody::Formula { .. } => "formula",
            RuleBody::Default { .. } => "default",
            RuleBody::Required { .. } => "required",
            RuleBody::ReadOnly { .. } => "read_only",
            RuleBody::Trigger(_) => "trigger",
            RuleBody::Rollup(_) => "rollup",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Create,
    Update,
    Delete,
    /// On a cron schedule (`cron`, `timezone`), for every record the condition holds for.
    Schedule,
    /// Relative to a date field (`date`): N days before or after it, at a local time.
    Date,
    /// Run by a user on one record (`POST /api/v1/data/{object}/{id}/actions/{rule}`).
    Manual,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Create => "create",
            Event::Update => "update",
            Event::Delete => "delete",
            Event::Schedule => "schedule",
            Event::Date => "date",
            Event::Manual => "manual",
        }
    }
}

/// `on: ["date"]`: fire `offset_days` after the date in `field` (negative: before), at `at`
/// local time; "3 days before close date" is `{"field": "close_date", "offset_days": -3}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateSpec {
    pub field: String,
    #[serde(default)]
    pub offset_days: i32,
    /// `HH:MM`, default `09:00`.
    #[serde(default = "nine")]
    pub at: String,
}

fn nine() -> String {
    "09:00".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriggerDoc {
    pub on: Vec<Event>,
    /// Fire on update only when one of these fields changes (empty = any change).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Transition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub actions: Vec<ActionDoc>,
    /// The rule may write a field its own trigger watches (the cascade-depth guard still
    /// applies at run time).
    #[serde(default)]
    pub reentrant: bool,
    /// Attempts before a run is marked failed (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// The user the actions run as (default: the rule's author).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<Uuid>,
    /// For `schedule`: five-field cron (`0 9 * * 1-5`) on `timezone`'s wall clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// For `date`: the date field and the offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateSpec>,
    /// IANA zone for `cron` and `date.at` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// For `manual`: the button's label (default: the rule's label or API name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
}

/// `stage: * → won`: `from` is `"*"`, a value or a list of values; `to` likewise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Transition {
    pub field: String,
    #[serde(default = "star")]
    pub from: Json,
    #[serde(default = "star")]
    pub to: Json,
}

fn star() -> Json {
    Json::String("*".into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollupOp {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollupDoc {
    /// The field of `object` that holds the result.
    pub field: String,
    /// The child object, and its lookup (or master-detail) field pointing at `object`.
    pub child: String,
    pub via: String,
    pub op: RollupOp,
    /// The child field aggregated (not for `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// A condition over the child (`record.stage != "lost"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignStrategy {
    /// Always `user`.
    User,
    /// In turn over `users`.
    RoundRobin,
    /// The one of `users` who owns the fewest records of the object matching `open_filter`
    /// (the query filter language; default: every live record). Ties go to the first listed.
    LeastOpen,
    /// The first of `routes` whose `when` matches the record picks the team (round robin
    /// within it); no match falls back to `users` (round robin), or assigns nobody.
    ByField,
}

/// One route of `by_field` assignment: `{"when": {"city": "上海", "industry": ["manufacturing",
/// "energy"]}, "users": [...]}` — every listed field must equal the value (or one of the list).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRoute {
    pub when: Map<String, Json>,
    pub users: Vec<Uuid>,
}

/// Declarative actions. In `values`, a plain JSON value is written as is; `{"expr": "…"}`
/// is a formula over the triggering record; `{"from": "field"}` copies a field of the
/// triggering record; `{"ref": n}` is the id of the record created by action `n`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ActionDoc {
    UpdateRecord {
        values: Map<String, Json>,
    },
    UpdateRelated {
        via: String,
        values: Map<String, Json>,
    },
    CreateRecord {
        object: String,
        values: Map<String, Json>,
    },
    AssignOwner {
        strategy: AssignStrategy,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        users: Vec<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        open_filter: Option<Json>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        routes: Vec<AssignRoute>,
    },
    Notify {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        users: Vec<Uuid>,
        /// Everyone holding one of these roles (role keys, e.g. `sales_director`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        roles: Vec<String>,
        /// Also notify the record's owner.
        #[serde(default)]
        owner: bool,
        title: String,
        body: String,
    },
    Webhook {
        url: String,
        #[serde(default)]
        secret: String,
        /// Send without `X-Weft-Signature` (only then may `secret` be empty). Workflow
        /// webhooks without a secret use this.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unsigned: bool,
        /// A text template for the body (default: the event as JSON).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// POST (default), PUT, PATCH or DELETE.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<String>,
        /// Extra request headers; the platform's own (content type, signature, timestamp,
        /// idempotency key, event) cannot be replaced.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        headers: std::collections::BTreeMap<String, String>,
    },
    Email {
        to: Vec<String>,
        subject: String,
        body: String,
    },
}

impl ActionDoc {
    pub fn type_name(&self) -> &'static str {
        match self {
            ActionDoc::UpdateRecord { .. } => "update_record",
            ActionDoc::UpdateRelated { .. } => "update_related",
            ActionDoc::CreateRecord { .. } => "create_record",
            ActionDoc::AssignOwner { .. } => "assign_owner",
            ActionDoc::Notify { .. } => "notify",
            ActionDoc::Webhook { .. } => "webhook",
            ActionDoc::Email { .. } => "email",
        }
    }
}
