//! The demo tenant: created once, credentials kept in `<data dir>/demo.json`.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use weft_meta::{TenantId, UserId};
use weft_runtime::apps::AppPackage;
use weft_runtime::{Principal, Runtime};

#[derive(Serialize, Deserialize)]
pub struct DemoCreds {
    pub tenant_id: TenantId,
    pub admin_user_id: UserId,
    pub api_key: String,
    /// (name, email) of the demo users; they share the app's demo password.
    #[serde(default)]
    pub users: Vec<(String, String)>,
    #[serde(default)]
    pub password: Option<String>,
}

/// Read an app directory: `app.json` names the object files in order and the seed file.
pub fn read_app(dir: &Path) -> anyhow::Result<AppPackage> {
    #[derive(Deserialize)]
    struct Manifest {
        name: String,
        objects: Vec<String>,
        #[serde(default)]
        seed: Option<String>,
        #[serde(default)]
        org: Option<String>,
        #[serde(default)]
        demo_password: Option<String>,
        /// A file `{"rules": [...]}`.
        #[serde(default)]
        rules: Option<String>,
        #[serde(default)]
        flows: Vec<String>,
    }
    let read = |f: &str| -> anyhow::Result<serde_json::Value> {
        let p = dir.join(f);
        let s =
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        serde_json::from_str(&s).with_context(|| format!("{} is not valid JSON", p.display()))
    };
    let m: Manifest = serde_json::from_value(read("app.json")?).context("app.json")?;
    let objects = m
        .objects
        .iter()
        .map(|f| read(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let seed = match &m.seed {
        Some(f) => {
            serde_json::from_value(read(f)?).with_context(|| format!("{f} is not a seed list"))?
        }
        None => vec![],
    };
    let org = match &m.org {
        Some(f) => Some(read(f)?),
        None => None,
    };
    Ok(AppPackage {
        name: m.name,
        objects,
        seed,
        org,
        demo_password: m.demo_password,
        rules: match &m.rules {
            Some(f) => read(f)?["rules"]
                .as_array()
                .cloned()
                .with_context(|| format!("{f} has no \"rules\" list"))?,
            None => vec![],
        },
        flows: m
            .flows
            .iter()
            .map(|f| read(f))
            .collect::<anyhow::Result<Vec<_>>>()?,
    })
}

pub async fn ensure_demo(
    cfg: &crate::config::Config,
    rt: &Runtime,
    app_dir: &Path,
) -> anyhow::Result<DemoCreds> {
    let path = cfg.data_dir.join("demo.json");
    let creds: DemoCreds = match std::fs::read_to_string(&path) {
        Ok(s) => {
            serde_json::from_str(&s).context("demo.json is unreadable; delete it to start over")?
        }
        Err(_) => {
            let t = rt
                .tenants()
                .create_tenant("Demo Co. 演示公司", "Demo Admin", Some("admin@demo.weft"))
                .await?;
            DemoCreds {
                tenant_id: t.tenant_id,
                admin_user_id: t.admin_user_id,
                api_key: t.api_key,
                users: vec![],
                password: None,
            }
        }
    };
    let mut creds = creds;
    let app = read_app(app_dir)?;
    let p = Principal::system(creds.tenant_id, creds.admin_user_id);
    // The demo company is in China: `today()` in its rules is the date in Shanghai.
    rt.tenants()
        .update_tenant_settings(&p, &serde_json::json!({"time_zone": "Asia/Shanghai"}))
        .await?;
    let report = rt.apps().install_app(&p, &app).await?;
    if !report.users_created.is_empty() {
        creds.users = report.users_created.clone();
        creds.password = app.demo_password.clone();
    }
    std::fs::write(&path, serde_json::to_string_pretty(&creds)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if !report.objects_created.is_empty() {
        println!(
            "Loaded {}: {} objects, {} records",
            app.name,
            report.objects_created.len(),
            report.records_created
        );
    }
    Ok(creds)
}
