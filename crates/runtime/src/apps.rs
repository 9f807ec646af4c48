//! Installing an app shipped as metadata (the CRM in `examples/crm` is one): its objects in
//! dependency order, then its seed records, whose cross references are written `"@ref"` and
//! resolved to the ids of records created earlier in the same seed.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use std::sync::Arc;

use crate::access::admin::OrgAdmin;
use crate::automation::Automation;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::flows::Workflows;
use crate::metadata::Metadata;
use crate::principal::Principal;
use crate::records::Records;

/// An app package: object definitions and seed data, already read from disk.
#[derive(Debug, Clone, Deserialize)]
pub struct AppPackage {
    pub name: String,
    /// Object definitions, in an order where every reference target comes first.
    pub objects: Vec<Json>,
    /// `{object: [record, …]}`; a record's `_ref` names it for `"@name"` references;
    /// `"@user:<key>"` and `"@dept:<key>"` name users and departments of `org`.
    #[serde(default)]
    pub seed: Vec<SeedBatch>,
    /// Departments, roles and users (`examples/crm/org.json`), installed with the app.
    #[serde(default)]
    pub org: Option<Json>,
    /// The password given to the app's users (demo installs only).
    #[serde(default)]
    pub demo_password: Option<String>,
    /// Rule documents (`weft.rule/1`), installed before the seed so formulas and defaults
    /// apply to it.
    #[serde(default)]
    pub rules: Vec<Json>,
    /// Workflow definitions (`crm.workflow/1`), saved and published after the seed.
    #[serde(default)]
    pub flows: Vec<Json>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedBatch {
    pub object: String,
    pub records: Vec<Json>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InstallReport {
    pub objects_created: Vec<String>,
    pub objects_skipped: Vec<String>,
    pub records_created: usize,
    /// (name, email) of the users created from `org`.
    pub users_created: Vec<(String, String)>,
}

/// Seed dates relative to the day of installation, so a demo's open deals close in the
/// future whenever it is installed: `"@date:+18"` (a date), `"@datetime:-14T10:00+08:00"`.
fn relative_date(s: &str, today: chrono::NaiveDate) -> Option<Result<Json>> {
    let bad = || {
        Error::from(AppError::BadRelativeDate {
            value: s.to_owned(),
        })
    };
    if let Some(n) = s.strip_prefix("@date:") {
        return Some(n.parse::<i64>().map_err(|_| bad()).map(|n| {
            json!(
                (today + chrono::Duration::days(n))
                    .format("%Y-%m-%d")
                    .to_string()
            )
        }));
    }
    let rest = s.strip_prefix("@datetime:")?;
    Some((|| {
        let (n, time) = rest.split_once('T').ok_or_else(bad)?;
        let n: i64 = n.parse().map_err(|_| bad())?;
        let day = today + chrono::Duration::days(n);
        Ok(json!(format!("{}T{time}", day.format("%Y-%m-%d"))))
    })())
}

fn resolve(v: &Json, refs: &HashMap<String, String>) -> Result<Json> {
    Ok(match v {
        Json::String(s) if s.starts_with('@') => {
            let id = refs.get(&s[1..]).ok_or_else(|| {
                Error::from(AppError::UnknownRef {
                    reference: s.to_owned(),
                })
            })?;
            Json::String(id.clone())
        }
        Json::Array(a) => Json::Array(a.iter().map(|x| resolve(x, refs)).collect::<Result<_>>()?),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), resolve(x, refs)?)))
                .collect::<Result<_>>()?,
        ),
        other => other.clone(),
    })
}

/// App packages: objects, organization, rules, seed records and flows installed in one go.
#[derive(Clone)]
pub struct Apps {
    core: Arc<Core>,
    metadata: Metadata,
    records: Records,
    automation: Automation,
    workflows: Workflows,
    org_admin: OrgAdmin,
}

impl Apps {
    pub fn new(
        core: Arc<Core>,
        metadata: Metadata,
        records: Records,
        automation: Automation,
        workflows: Workflows,
        org_admin: OrgAdmin,
    ) -> Self {
        Self {
            core,
            metadata,
            records,
            automation,
            workflows,
            org_admin,
        }
    }

    /// Install objects that do not exist yet, then the seed (only when an object was created,
    /// so installing twice does not duplicate records).
    pub async fn install_app(
        &self,
        p: &Principal,
        app: &AppPackage,
    ) -> Result<InstallReport, AppError> {
        let existing: Vec<String> = self
            .core
            .meta(p.tenant)
            .await?
            .objects
            .keys()
            .cloned()
            .collect();
        let mut report = InstallReport {
            objects_created: vec![],
            objects_skipped: vec![],
            records_created: 0,
            users_created: vec![],
        };
        for doc in &app.objects {
            let name = doc
                .get("api_name")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            if existing.contains(&name) {
                report.objects_skipped.push(name);
                continue;
            }
            self.metadata
                .create_object(p, doc)
                .await
                .map_err(|e| match Error::from(e) {
                    Error::Validation(ps) => Error::Validation(
                        ps.into_iter()
                            .map(|x| x.under(&format!("/objects/{name}")))
                            .collect(),
                    ),
                    other => other,
                })?;
            report.objects_created.push(name);
        }
        if report.objects_created.is_empty() {
            return Ok(report);
        }
        let mut refs: HashMap<String, String> = HashMap::new();
        // Relative seed dates count from the runtime clock's today.
        let today = self.core.clock.now().date_naive();
        if let Some(org) = &app.org {
            self.install_org(p, org, app.demo_password.as_deref(), &mut refs, &mut report)
                .await?;
        }
        for (i, rule) in app.rules.iter().enumerate() {
            // Rules name the app's users as `@user:<key>`.
            let rule = resolve(rule, &refs)?;
            self.automation
                .create_rule(p, &rule)
                .await
                .map_err(|e| match Error::from(e) {
                    Error::Validation(ps) => Error::Validation(
                        ps.into_iter()
                            .map(|x| x.under(&format!("/rules/{i}")))
                            .collect(),
                    ),
                    other => other,
                })?;
        }
        for batch in &app.seed {
            let mut bodies = Vec::with_capacity(batch.records.len());
            let mut names = Vec::with_capacity(batch.records.len());
            for r in &batch.records {
                let Some(m) = r.as_object() else {
                    return Err(AppError::SeedNotObject);
                };
                let mut body = Map::new();
                let mut name = None;
                for (k, v) in m {
                    if k == "_ref" {
                        name = v.as_str().map(str::to_owned);
                        continue;
                    }
                    let value = match v.as_str().and_then(|s| relative_date(s, today)) {
                        Some(d) => d?,
                        None => resolve(v, &refs)?,
                    };
                    body.insert(k.clone(), value);
                }
                bodies.push(Json::Object(body));
                names.push(name);
            }
            let out = self
                .records
                .create_many(p, &batch.object, &bodies, true)
                .await?;
            for (res, name) in out.results.iter().zip(names) {
                if let (Some(n), Some(id)) = (
                    name,
                    res.record
                        .as_ref()
                        .and_then(|r| r.get("id"))
                        .and_then(Json::as_str),
                ) {
                    refs.insert(n, id.to_owned());
                }
            }
            report.records_created += out.succeeded;
        }
        for flow in &app.flows {
            let key = flow
                .get("key")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            self.workflows.save_flow(p, None, flow).await?;
            self.workflows.publish_flow(p, &key).await?;
        }
        Ok(report)
    }

    /// Departments (parents first), roles, users; department leaders once users exist.
    async fn install_org(
        &self,
        p: &Principal,
        org: &Json,
        password: Option<&str>,
        refs: &mut HashMap<String, String>,
        report: &mut InstallReport,
    ) -> Result<()> {
        let empty = vec![];
        let list = |k: &str| {
            org.get(k)
                .and_then(Json::as_array)
                .unwrap_or(&empty)
                .clone()
        };
        for d in list("departments") {
            let key = d["key"].as_str().unwrap_or_default();
            let parent = match d.get("parent").and_then(Json::as_str) {
                Some(pk) => Some(resolve(&json!(format!("@dept:{pk}")), refs)?),
                None => None,
            };
            let out = self
                .org_admin
                .save_department(p, None, &json!({"name": d["name"], "parent_id": parent}))
                .await?;
            refs.insert(
                format!("dept:{key}"),
                out["id"].as_str().unwrap_or_default().to_owned(),
            );
        }
        for r in list("roles") {
            let mut body = r.clone();
            if let Some(m) = body.as_object_mut() {
                m.remove("members");
            }
            let out = self.org_admin.save_role(p, None, &body).await?;
            refs.insert(
                format!("role:{}", r["key"].as_str().unwrap_or_default()),
                out["id"].as_str().unwrap_or_default().to_owned(),
            );
        }
        for u in list("users") {
            let key = u["key"].as_str().unwrap_or_default();
            let depts: Vec<Json> = u["departments"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .enumerate()
                .map(|(i, d)| Ok(json!({"id": resolve(&json!(format!("@dept:{}", d.as_str().unwrap_or_default())), refs)?, "primary": i == 0})))
                .collect::<Result<_>>()?;
            let mut body = json!({
                "name": u["name"], "email": u["email"], "departments": depts,
                "roles": u.get("roles").cloned().unwrap_or(json!([])), "is_admin": u.get("admin").cloned().unwrap_or(json!(false)),
            });
            if let Some(pw) = password {
                body["password"] = json!(pw);
            }
            let id = if u.get("admin").and_then(Json::as_bool) == Some(true) && key == "admin" {
                // The tenant's first admin becomes this user.
                if let Some(m) = body.as_object_mut() {
                    m.remove("is_admin");
                }
                self.org_admin.update_user(p, p.user.0, &body).await?;
                p.user.0.to_string()
            } else {
                let out = self.org_admin.create_user(p, &body).await?;
                out["id"].as_str().unwrap_or_default().to_owned()
            };
            report.users_created.push((
                u["name"].as_str().unwrap_or_default().into(),
                u["email"].as_str().unwrap_or_default().into(),
            ));
            refs.insert(format!("user:{key}"), id);
        }
        for d in list("departments") {
            if let Some(leader) = d.get("leader").and_then(Json::as_str) {
                let did = resolve(
                    &json!(format!("@dept:{}", d["key"].as_str().unwrap_or_default())),
                    refs,
                )?;
                let lid = resolve(&json!(format!("@user:{leader}")), refs)?;
                let did = did
                    .as_str()
                    .and_then(|s| uuid::Uuid::parse_str(s).ok())
                    .ok_or_else(|| Error::internal("department id"))?;
                self.org_admin
                    .save_department(p, Some(did), &json!({"leader_id": lid}))
                    .await?;
            }
        }
        Ok(())
    }
}

/// The app packages service's own failure kinds (see [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A seed value `@date:…` / `@datetime:…` that does not parse.
    #[error("'{value}' is not @date:±N or @datetime:±NTHH:MM±HH:MM")]
    BadRelativeDate { value: String },
    /// A seed value `@name` that no earlier seed record defines.
    #[error("seed reference {reference} is not defined earlier")]
    UnknownRef { reference: String },
    /// A seed record that is not a JSON object.
    #[error("seed records are objects")]
    SeedNotObject,
    /// A kind every service shares: validation problems, not found, storage failures.
    #[error(transparent)]
    Other(Error),
}

impl crate::error::ErrorKinds for AppError {
    fn named(&self) -> Option<crate::error::Named> {
        use crate::error::{Class, named};
        match self {
            Self::BadRelativeDate { value } => named(
                Class::BadRequest,
                "bad_seed",
                format!("「{value}」不是有效的相对日期（@date:±N 或 @datetime:±NTHH:MM±HH:MM）"),
            ),
            Self::UnknownRef { reference } => named(
                Class::BadRequest,
                "unknown_ref",
                format!("示例数据引用 {reference} 在此之前没有定义"),
            ),
            Self::SeedNotObject => named(
                Class::BadRequest,
                "bad_seed",
                "示例数据中的每条记录都应是 JSON 对象",
            ),
            Self::Other(_) => None,
        }
    }
}

crate::service_error!(AppError);
crate::via_shared!(
    AppError: crate::flows::FlowError,
    crate::records::RecordError,
    crate::metadata::MetaError,
    crate::automation::AutomationError,
    crate::access::AccessError,
);
