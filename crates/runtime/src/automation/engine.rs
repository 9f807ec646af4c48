//! The compiled rules of a tenant, cached per metadata version, and the evaluation inputs.

use super::Automation;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json, json};
use uuid::Uuid;
use weft_meta::{CompiledObject, TenantId};
use weft_rules::{CompiledScript, EvalContext, formula_order};

use super::doc::{Compiled, CompiledRule, RuleDoc, RuleProblem, check};
use super::ports::RuleRow;
use crate::access::org::OrgSnapshot;
use crate::core::cache::TenantMeta;
use crate::error::Result;
use crate::json::record_json;
use crate::ports::RecordRow;
use crate::ports::prelude::*;
use crate::principal::Principal;

/// The rules of one object, grouped by when they run.
#[derive(Default, Debug)]
pub struct ObjectRules {
    pub defaults: Vec<Arc<CompiledRule>>,
    /// In dependency order.
    pub formulas: Vec<Arc<CompiledRule>>,
    pub required: Vec<Arc<CompiledRule>>,
    pub read_only: Vec<Arc<CompiledRule>>,
    pub validations: Vec<Arc<CompiledRule>>,
    pub triggers: Vec<Arc<CompiledRule>>,
    /// Fields any before-save script reads (`record.x`, `old.x`, `changed("x")`): only
    /// these are converted to script values.
    pub reads: Vec<String>,
    pub reads_user: bool,
}

impl ObjectRules {
    pub fn has_before(&self) -> bool {
        !(self.defaults.is_empty()
            && self.formulas.is_empty()
            && self.required.is_empty()
            && self.read_only.is_empty()
            && self.validations.is_empty())
    }
}

/// Every active rule of a tenant, compiled against one metadata version.
#[derive(Default, Debug)]
pub struct RuleSet {
    pub version: i64,
    pub objects: HashMap<String, ObjectRules>,
    /// Roll-ups by child object.
    pub rollups: HashMap<String, Vec<Arc<CompiledRule>>>,
    /// Rules that no longer compile (a field they use was deleted), with their problems.
    pub broken: Vec<(String, Vec<RuleProblem>)>,
}

fn scripts(rule: &CompiledRule) -> Vec<&CompiledScript> {
    match &rule.compiled {
        Compiled::Validation { condition, .. }
        | Compiled::Required { condition, .. }
        | Compiled::ReadOnly { condition, .. } => vec![condition],
        Compiled::Formula { script, .. } | Compiled::Default { script, .. } => vec![script],
        Compiled::Trigger {
            condition, actions, ..
        } => condition
            .iter()
            .chain(actions.iter().flat_map(|a| a.exprs.iter().map(|(_, s)| s)))
            .collect(),
        Compiled::Rollup { filter, .. } => filter.iter().collect(),
    }
}

impl RuleSet {
    /// Compile stored rules. Returns the set and, separately, formula cycles by rule name.
    pub fn build(meta: &TenantMeta, rows: &[(RuleDoc, Uuid, i64, Uuid)]) -> RuleSet {
        let mut set = RuleSet {
            version: meta.version,
            ..Default::default()
        };
        for (doc, id, version, by) in rows {
            if !doc.active {
                continue;
            }
            match check(meta, doc, *id, *version, *by) {
                Ok(r) => set.add(Arc::new(r)),
                Err(ps) => {
                    tracing::warn!(rule = %doc.api_name, problems = ?ps, "rule no longer compiles; skipped");
                    set.broken.push((doc.api_name.clone(), ps));
                }
            }
        }
        for (name, o) in set.objects.iter_mut() {
            let mut reads = BTreeSet::new();
            let all = o
                .defaults
                .iter()
                .chain(&o.formulas)
                .chain(&o.required)
                .chain(&o.read_only)
                .chain(&o.validations)
                .chain(&o.triggers);
            for r in all {
                for s in scripts(r) {
                    let refs = s.referenced_fields();
                    reads.extend(refs.record_fields().into_iter().map(str::to_owned));
                    reads.extend(refs.old.iter().cloned());
                    o.reads_user |= !refs.user.is_empty();
                }
                if let Compiled::Trigger { doc, .. } = &r.compiled {
                    reads.extend(doc.fields.iter().cloned());
                    if let Some(t) = &doc.transition {
                        reads.insert(t.field.clone());
                    }
                }
            }
            o.reads = reads.into_iter().collect();
            // Formulas that read other formulas run after them.
            let pairs: Vec<(String, CompiledScript)> = o
                .formulas
                .iter()
                .filter_map(|r| match &r.compiled {
                    Compiled::Formula { field, script } => Some((field.clone(), script.clone())),
                    _ => None,
                })
                .collect();
            match formula_order(pairs.iter().map(|(f, s)| (f.as_str(), s))) {
                Ok(order) => {
                    let pos = |r: &Arc<CompiledRule>| match &r.compiled {
                        Compiled::Formula { field, .. } => {
                            order.iter().position(|f| f == field).unwrap_or(usize::MAX)
                        }
                        _ => usize::MAX,
                    };
                    o.formulas.sort_by_key(pos);
                }
                Err(cycle) => {
                    tracing::warn!(object = %name, ?cycle, "formula cycle; formulas skipped");
                    o.formulas.clear();
                }
            }
        }
        set
    }

    fn add(&mut self, r: Arc<CompiledRule>) {
        if let Compiled::Rollup { doc, .. } = &r.compiled {
            self.rollups.entry(doc.child.clone()).or_default().push(r);
            return;
        }
        let o = self.objects.entry(r.doc.object.clone()).or_default();
        match &r.compiled {
            Compiled::Validation { .. } => o.validations.push(r),
            Compiled::Formula { .. } => o.formulas.push(r),
            Compiled::Default { .. } => o.defaults.push(r),
            Compiled::Required { .. } => o.required.push(r),
            Compiled::ReadOnly { .. } => o.read_only.push(r),
            Compiled::Trigger { .. } => o.triggers.push(r),
            Compiled::Rollup { .. } => {}
        }
    }

    pub fn object(&self, name: &str) -> Option<&ObjectRules> {
        self.objects.get(name)
    }
}

/// Compiled rule sets per tenant, keyed by metadata version.
#[derive(Default)]
pub struct RuleCache {
    map: Mutex<HashMap<TenantId, Arc<RuleSet>>>,
}

pub(crate) fn stored_docs(rows: &[RuleRow]) -> Vec<(RuleDoc, Uuid, i64, Uuid)> {
    rows.iter()
        .filter_map(|r| match serde_json::from_value::<RuleDoc>(r.doc.clone()) {
            Ok(d) => Some((d, r.id, r.version, r.created_by)),
            Err(e) => {
                tracing::warn!(rule = %r.api_name, error = %e, "stored rule does not parse");
                None
            }
        })
        .collect()
}

impl RuleCache {
    /// The tenant's rules compiled for `meta`'s version (from cache when it matches), read
    /// through the caller's transaction when they must be compiled.
    pub(crate) async fn get(&self, tx: &mut dyn Tx, meta: &TenantMeta) -> Result<Arc<RuleSet>> {
        let tenant = tx.tenant();
        if let Ok(m) = self.map.lock()
            && let Some(s) = m.get(&tenant)
            && s.version == meta.version
        {
            return Ok(s.clone());
        }
        let rows = tx.load_rules().await?;
        let set = Arc::new(RuleSet::build(meta, &stored_docs(&rows)));
        if let Ok(mut m) = self.map.lock() {
            m.insert(tenant, set.clone());
        }
        Ok(set)
    }

    pub(crate) fn forget(&self, tenant: TenantId) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(&tenant);
        }
    }
}

/// `user.*` for scripts and templates: the acting user as the organization knows them.
pub(crate) fn user_map(org: &OrgSnapshot, p: &Principal) -> Map<String, Json> {
    let mut m = Map::new();
    m.insert("id".into(), json!(p.user.0));
    m.insert("department".into(), json!(p.department));
    if let Some(u) = org.users.get(&p.user.0) {
        m.insert("name".into(), json!(u.name));
        m.insert("email".into(), json!(u.email));
        m.insert("phone".into(), json!(u.mobile));
        let roles: Vec<&str> = org
            .user_roles
            .get(&p.user.0)
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| org.roles.get(r).map(|r| r.key.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        m.insert("roles".into(), json!(roles));
        let depts: Vec<Uuid> = org
            .memberships
            .get(&p.user.0)
            .map(|ds| ds.iter().map(|(d, _)| *d).collect())
            .unwrap_or_default();
        m.insert("departments".into(), json!(depts));
        if p.department.is_none() {
            m.insert("department".into(), json!(org.primary_department(p.user.0)));
        }
    }
    m
}

impl Automation {
    /// The rule set, loaded in the caller's transaction on a cache miss.
    pub(crate) async fn rules_for(
        &self,
        tx: &mut dyn Tx,
        meta: &TenantMeta,
    ) -> Result<Arc<RuleSet>> {
        self.rules.get(tx, meta).await
    }

    pub(crate) fn forget_rules(&self, tenant: TenantId) {
        self.rules.forget(tenant);
    }
}

/// A record's JSON form, limited to `fields` plus the system columns.
pub(crate) fn row_map(
    obj: &CompiledObject,
    row: &RecordRow,
    fields: Option<&[String]>,
) -> Map<String, Json> {
    match record_json(obj, row, fields, &|_| true) {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// Inputs of one evaluation, owned.
pub(crate) struct Input {
    pub record: Map<String, Json>,
    pub old: Option<Map<String, Json>>,
    pub user: Map<String, Json>,
    pub now: DateTime<Utc>,
    /// The tenant's zone: `today()` is the date there.
    pub tz: chrono_tz::Tz,
}

impl Input {
    pub fn ctx(&self) -> EvalContext<'_> {
        EvalContext {
            record: &self.record,
            old: self.old.as_ref(),
            user: &self.user,
            now: self.now,
            tz: self.tz,
        }
    }
}
