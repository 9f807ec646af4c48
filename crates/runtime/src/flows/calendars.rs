//! Business calendars for workflow timers (`/meta/calendars`): storage, the per-tenant cache
//! and the admin service. The document, its validation and the working-day arithmetic are
//! `weft_flow::calendar`.
//!
//! Calendars are cached per tenant and metadata version (saving one bumps the version), so
//! another process sees a change within the metadata TTL. A timer already scheduled keeps its
//! due time. Publishing a flow that names an unknown calendar is refused (`calendar.unknown`);
//! a version published earlier whose calendar is later missing counts Monday to Friday in UTC
//! (the behaviour before calendars existed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};
use weft_meta::{Problem, TenantId};

pub(crate) use weft_flow::calendar::referenced;
pub use weft_flow::calendar::{BUILTIN, Calendar, CalendarDoc, Calendars};

use super::ports::FlowCalendarRow;
use super::view_types::{CalendarList, CalendarView};
use super::{FlowError, require_admin};
use crate::core::Core;
use crate::error::{Error, Result};
use crate::metadata::parse_doc_as;
use crate::ports::TxMode;
use crate::principal::Principal;

/// The tenant's calendars with the metadata version they were loaded at.
type Cached = (i64, Arc<Calendars>);

/// Business calendars: the admin service and the per-tenant cache the timers read.
#[derive(Clone)]
pub struct BusinessCalendars {
    core: Arc<Core>,
    cache: Arc<Mutex<HashMap<TenantId, Cached>>>,
}

impl BusinessCalendars {
    /// The service over the runtime's core, with an empty cache.
    pub fn new(core: Arc<Core>) -> Self {
        Self {
            core,
            cache: Arc::default(),
        }
    }
}

const CACHE_MAX: usize = 10_000;

fn row_view(r: &FlowCalendarRow) -> CalendarView {
    CalendarView {
        name: r.name.clone(),
        calendar: r.doc.clone(),
        updated_by: r.updated_by,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

impl BusinessCalendars {
    /// The tenant's calendars (cached per metadata version). Call outside a transaction.
    pub(crate) async fn for_tenant(&self, tenant: TenantId) -> Result<Arc<Calendars>> {
        let version = self.core.meta(tenant).await?.version;
        if let Some((_, c)) = self
            .cache
            .lock()
            .ok()
            .and_then(|m| m.get(&tenant).cloned())
            .filter(|(v, _)| *v == version)
        {
            return Ok(c);
        }
        let mut tx = self.core.begin(tenant, TxMode::Read).await?;
        let rows = tx.flow_calendars().await?;
        tx.commit().await?;
        let mut map = HashMap::with_capacity(rows.len());
        for r in rows {
            let compiled = serde_json::from_value::<CalendarDoc>(r.doc)
                .map_err(|e| vec![Problem::new("", "calendar.invalid", e.to_string())])
                .and_then(|d| Calendar::compile(&d));
            match compiled {
                Ok(c) => {
                    map.insert(r.name, c);
                }
                Err(ps) => {
                    tracing::warn!(calendar = %r.name, problems = ?ps, "stored calendar does not compile")
                }
            }
        }
        let c = Arc::new(Calendars::new(map));
        if let Ok(mut m) = self.cache.lock() {
            if m.len() >= CACHE_MAX {
                m.clear();
            }
            m.insert(tenant, (version, c.clone()));
        }
        Ok(c)
    }

    /// The tenant's calendars and the built-in one's name.
    pub async fn list_calendars(&self, p: &Principal) -> Result<CalendarList, FlowError> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let rows = tx.flow_calendars().await?;
        tx.commit().await?;
        Ok(CalendarList {
            calendars: rows.iter().map(row_view).collect(),
            builtin: vec![BUILTIN.to_owned()],
        })
    }

    /// One calendar.
    pub async fn get_calendar(&self, p: &Principal, name: &str) -> Result<CalendarView, FlowError> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Read).await?;
        let row = tx
            .flow_calendar(name)
            .await?
            .ok_or_else(|| Error::not_found(format!("calendar '{name}'")))?;
        tx.commit().await?;
        Ok(row_view(&row))
    }

    /// Create or replace a calendar. Returns the saved row and whether it was created.
    pub async fn put_calendar(
        &self,
        p: &Principal,
        name: &str,
        body: &Json,
    ) -> Result<(CalendarView, bool), FlowError> {
        require_admin(p)?;
        let doc = parse_doc_as::<CalendarDoc>(body, "calendar.invalid")?;
        let mut problems = match Calendar::compile(&doc) {
            Ok(_) => vec![],
            Err(ps) => ps,
        };
        if doc.name != name {
            problems.push(Problem::new(
                "/name",
                "calendar.name_mismatch",
                "the document's name must match the URL",
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Validation(problems).into());
        }
        let now = self.core.clock.now();
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        let existing = tx.flow_calendar(name).await?;
        let row = FlowCalendarRow {
            name: name.to_string(),
            doc: serde_json::to_value(&doc).map_err(Error::internal)?,
            updated_by: p.user.0,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        tx.flow_calendar_put(&row).await?;
        self.calendar_changed(tx, p, "calendar.saved", name).await?;
        Ok((row_view(&row), existing.is_none()))
    }

    /// Delete a calendar; refused while a draft or the latest published version of a flow
    /// names it.
    pub async fn delete_calendar(&self, p: &Principal, name: &str) -> Result<(), FlowError> {
        require_admin(p)?;
        let mut tx = self.core.begin(p.tenant, TxMode::Write).await?;
        if tx.flow_calendar(name).await?.is_none() {
            return Err(Error::not_found(format!("calendar '{name}'")).into());
        }
        for d in tx.flow_defs().await? {
            let mut docs = vec![d.doc.clone()];
            if d.latest_version > 0
                && let Some(v) = tx
                    .flow_versions(&d.key)
                    .await?
                    .into_iter()
                    .max_by_key(|v| v.version)
            {
                docs.push(v.doc);
            }
            for doc in docs {
                let Ok(def) = serde_json::from_value::<weft_flow::Definition>(doc) else {
                    continue;
                };
                if referenced(&def).iter().any(|(_, c)| c == name) {
                    return Err(FlowError::CalendarInUse { flow: d.key });
                }
            }
        }
        tx.flow_calendar_delete(name).await?;
        Ok(self
            .calendar_changed(tx, p, "calendar.deleted", name)
            .await?)
    }
}

impl BusinessCalendars {
    /// The end of a calendar change: caches reload (calendars are cached per metadata
    /// version), the audit log records it, the transaction commits.
    async fn calendar_changed(
        &self,
        mut tx: crate::core::TxCtx,
        p: &Principal,
        action: &'static str,
        name: &str,
    ) -> Result<()> {
        tx.bump_rules_version().await?;
        self.core
            .audit(
                tx.as_mut(),
                Some(p.user.0),
                crate::access::audit::Event {
                    action,
                    object: None,
                    record_id: None,
                    detail: json!({ "name": name }),
                },
            )
            .await?;
        tx.commit().await?;
        self.core.invalidate_meta(p.tenant);
        Ok(())
    }
}
