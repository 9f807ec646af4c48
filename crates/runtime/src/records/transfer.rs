//! Operations beyond CRUD: transferring ownership, exporting to CSV, explaining access.

use serde_json::{Value as Json, json};
use uuid::Uuid;
use weft_meta::query::{Cursor, parse_query};
use weft_meta::value::to_json;
use weft_meta::{Value, WriteMode};

use super::path::{load_multi_links, load_one};
use super::{RecordError, Records};
use crate::access::Guard;
use crate::access::model::{FieldAccess, Op, Scope};
use crate::error::{Error, Result};
use crate::json::record_json;
use crate::ports::{FetchOpts, TxMode};
use crate::principal::Principal;

/// Why a user can (or cannot) see or change records of an object.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccessExplanation {
    /// The user the explanation is for.
    pub user: ExplainedUser,
    /// The object's API name.
    pub object: String,
    /// The user's rights on the object.
    pub can: crate::access::Rights,
    /// Which records the user reaches; null without a grant.
    pub scope: Option<Scope>,
    /// Per live field, in the object's order: `edit`, `read` or `hidden`.
    #[schema(value_type = std::collections::BTreeMap<String, FieldAccess>)]
    pub fields: indexmap::IndexMap<String, FieldAccess>,
    /// The record asked about (null when none was).
    pub record: Option<RecordAccess>,
    /// The steps of the decision, in order.
    pub chain: Vec<ExplainStep>,
}

/// The user in an access explanation.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ExplainedUser {
    pub id: Uuid,
    pub name: String,
    pub is_admin: bool,
    /// active | disabled
    pub status: String,
    /// The user's role names.
    pub roles: Vec<String>,
    /// The user's departments.
    pub departments: Vec<Uuid>,
}

/// One record's access for the explained user.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RecordAccess {
    pub id: Uuid,
    pub owner: Uuid,
    pub department: Option<Uuid>,
    /// Whether the record is in the user's scope.
    pub visible: bool,
    pub can_update: bool,
    pub can_delete: bool,
}

/// One step of an access decision.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ExplainStep {
    /// user | admin | roles | role | record
    pub step: String,
    /// allow | deny (absent on `role` steps)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// On a `roles` step: the user's roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// On a `role` step: the role that grants access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// On a `role` step: what it grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grants: Option<String>,
    /// On a `role` step: its scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

impl ExplainStep {
    fn decided(step: &str, allow: bool, why: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            result: Some(if allow { "allow" } else { "deny" }.into()),
            why: Some(why.into()),
            ..Self::default()
        }
    }
}

pub const EXPORT_MAX_ROWS: usize = 100_000;

/// One CSV cell: RFC 4180 quoting, and a leading `'` on text that a spreadsheet would run as
/// a formula (`= + - @`, tab, CR, NUL).
pub fn csv_cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r', '\0']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn cell_text(v: &Json) -> String {
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Object(m) if m.contains_key("amount") => {
            format!(
                "{} {}",
                m["amount"].as_str().unwrap_or(""),
                m.get("currency").and_then(Json::as_str).unwrap_or("")
            )
        }
        Json::Array(a) => a
            .iter()
            .map(|x| {
                x.get("name")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        x.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| x.to_string())
                    })
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Give a record to another owner (and department: by default the new owner's primary
/// one). Needs update rights on the record.
pub(super) async fn transfer(
    r: &Records,
    p: &Principal,
    object: &str,
    id: Uuid,
    body: &Json,
) -> Result<Json> {
    let g = r.access.guard(p, object).await?;
    g.require(Op::Update, object)?;
    let owner = body
        .get("owner")
        .and_then(Json::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| Error::one("/owner", "required", "the new owner's user id is required"))?;
    let org = r.core.org(p.tenant).await?;
    if org.users.get(&owner).is_none_or(|u| u.status != "active") {
        return Err(Error::one("/owner", "not_found", "no such active user"));
    }
    let department = match body.get("department") {
        Some(Json::Null) => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .filter(|d| org.departments.contains_key(d))
                .ok_or_else(|| Error::one("/department", "not_found", "no such department"))?,
        ),
        None => org.primary_department(owner),
    };
    let obj = r.core.object(p.tenant, object).await?;
    let mut tx = r.core.begin(p.tenant, TxMode::Write).await?;
    let opts = FetchOpts {
        for_update: true,
        ..Default::default()
    };
    let current = load_one(tx.as_mut(), &obj, id, opts, g.scope()).await?;
    let patch = json!({"owner": owner, "department": department});
    // The ownership columns are written with full rights once the checks above passed.
    let sys = Guard::system(p.user.0);
    let row = match r
        .path
        .patch(&mut tx, p, &sys, &obj, current, &patch, None)
        .await?
    {
        Ok(row) => row,
        Err(ps) => return Err(Error::Validation(ps)),
    };
    r.path.commit(tx).await?;
    Ok(record_json(&obj, &row, None, &|f| g.can_see(f)))
}

/// Matching records as CSV (UTF-8 with BOM, so spreadsheet programs read Chinese text).
pub(super) async fn export(
    r: &Records,
    p: &Principal,
    object: &str,
    body: &Json,
) -> Result<Vec<u8>> {
    let obj = r.core.object(p.tenant, object).await?;
    let g = r.access.guard(p, object).await?;
    g.require(Op::Export, object)?;
    let mut plan = parse_query(&obj, body, &|f| g.hidden(f)).map_err(Error::Validation)?;
    plan.limit = 1_000;
    plan.expand.clear();
    let columns: Vec<String> = match &plan.fields {
        Some(f) => f.clone(),
        None => obj
            .live_fields()
            .filter(|f| g.can_see(f.name()))
            .map(|f| f.name().to_owned())
            .collect(),
    };
    let mut out = String::from("\u{feff}");
    let mut header = vec!["id".to_owned()];
    for c in &columns {
        let label = obj
            .field(c)
            .map(|f| f.label.get(true).to_owned())
            .unwrap_or_default();
        header.push(if label.is_empty() { c.clone() } else { label });
    }
    out.push_str(
        &header
            .iter()
            .map(|h| csv_cell(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push_str("\r\n");
    let mut tx = r.core.begin(p.tenant, TxMode::Read).await?;
    let mut written = 0usize;
    loop {
        let mut rows = tx
            .query_records(&obj, &plan, g.scope(), FetchOpts::default())
            .await?;
        load_multi_links(tx.as_mut(), &obj, &mut rows).await?;
        for r in &rows {
            let mut line = vec![csv_cell(&r.id.to_string())];
            for c in &columns {
                let v = r.values.get(c).unwrap_or(&Value::Null);
                let j = obj
                    .field(c)
                    .map(|f| to_json(&f.kind, v))
                    .unwrap_or(Json::Null);
                line.push(csv_cell(&cell_text(&j)));
            }
            out.push_str(&line.join(","));
            out.push_str("\r\n");
            written += 1;
            if written >= EXPORT_MAX_ROWS {
                break;
            }
        }
        let Some(last) = rows.last() else { break };
        if rows.len() < plan.limit as usize || written >= EXPORT_MAX_ROWS {
            break;
        }
        let values = plan
            .sort
            .iter()
            .map(|k| match k.col.name.as_str() {
                "id" => Value::Uuid(last.id),
                "created_at" => Value::DateTime(last.created_at),
                "updated_at" => Value::DateTime(last.updated_at),
                "version" => Value::Int(last.version),
                "owner" => Value::Uuid(last.owner),
                "created_by" => Value::Uuid(last.created_by),
                "updated_by" => Value::Uuid(last.updated_by),
                "department" => last.department.map(Value::Uuid).unwrap_or(Value::Null),
                n => match last.values.get(n) {
                    Some(Value::Money { amount, .. }) => Value::Decimal(*amount),
                    Some(v) => v.clone(),
                    None => Value::Null,
                },
            })
            .collect();
        plan.cursor = Some(Cursor {
            values,
            id: last.id,
        });
    }
    tx.commit().await?;
    let _ = WriteMode::Create;
    Ok(out.into_bytes())
}

/// Why can user `user` see or change records of `object` (and record `record`)?
pub(super) async fn explain_access(
    r: &Records,
    p: &Principal,
    user: Uuid,
    object: &str,
    record: Option<Uuid>,
) -> Result<AccessExplanation> {
    if !p.is_admin || p.view_as {
        return Err(RecordError::ExplainAdminOnly.into());
    }
    let obj = r.core.object(p.tenant, object).await?;
    let org = r.core.org(p.tenant).await?;
    let u = org
        .users
        .get(&user)
        .cloned()
        .ok_or_else(|| Error::not_found("user"))?;
    let mut as_user = Principal::system(p.tenant, weft_meta::UserId(user));
    as_user.is_admin = u.is_admin;
    let g = r.access.guard(&as_user, object).await?;
    let access = org.access(user);
    let mut chain = Vec::new();
    if !u.status.eq("active") {
        chain.push(ExplainStep::decided("user", false, "the user is disabled"));
    }
    if u.is_admin {
        chain.push(ExplainStep::decided(
            "admin",
            true,
            "tenant admins have every right",
        ));
    } else if !access.objects.contains_key(object) {
        chain.push(ExplainStep {
            roles: Some(access.roles.clone()),
            ..ExplainStep::decided(
                "roles",
                false,
                format!("no role of the user grants anything on {object} (deny by default)"),
            )
        });
    } else {
        for (role, scope) in &g.grant.sources {
            chain.push(ExplainStep {
                step: "role".into(),
                role: Some(role.clone()),
                grants: Some("read".into()),
                scope: Some(*scope),
                ..ExplainStep::default()
            });
        }
    }
    let fields = obj
        .live_fields()
        .map(|f| (f.name().to_owned(), g.field(f.name())))
        .collect();
    let mut rec = None;
    if let Some(rid) = record {
        let mut tx = r.core.begin(p.tenant, TxMode::Read).await?;
        let row = load_one(tx.as_mut(), &obj, rid, FetchOpts::default(), None).await?;
        let visible = load_one(tx.as_mut(), &obj, rid, FetchOpts::default(), g.scope())
            .await
            .is_ok();
        tx.commit().await?;
        let scope = if g.unrestricted {
            Some(Scope::All)
        } else {
            g.grant.scope
        };
        let why = if !visible {
            format!(
                "outside the user's scope ({scope:?}): owned by {} in department {:?}",
                row.owner, row.department
            )
        } else if g.unrestricted || scope == Some(Scope::All) {
            "every record of the object is in scope".to_owned()
        } else if row.owner == user {
            "the user owns the record".to_owned()
        } else if row
            .department
            .is_some_and(|d| access.departments.contains(&d))
        {
            "the record belongs to one of the user's departments".to_owned()
        } else {
            "the record belongs to a department below one of the user's departments".to_owned()
        };
        chain.push(ExplainStep::decided("record", visible, why));
        rec = Some(RecordAccess {
            id: rid,
            owner: row.owner,
            department: row.department,
            visible,
            can_update: visible && g.allows(Op::Update),
            can_delete: visible && g.allows(Op::Delete),
        });
    }
    Ok(AccessExplanation {
        user: ExplainedUser {
            id: user,
            name: u.name.clone(),
            is_admin: u.is_admin,
            status: u.status.clone(),
            roles: access.roles.clone(),
            departments: access.departments.clone(),
        },
        object: object.to_owned(),
        can: g.rights(),
        scope: g.reach(),
        fields,
        record: rec,
        chain,
    })
}
