//! Test support. Every test gets its own database — a temporary SQLite file or a new
//! PostgreSQL database — and, when it needs HTTP, the real API on a random loopback port.
//! PostgreSQL comes from `WEFT_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! a test on PostgreSQL fails, never skips, when the server is unreachable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{Value as Json, json};
use weft_meta::{TenantId, UserId};
use weft_runtime::clock::{Clock, SystemClock};
use weft_runtime::tenants::TenantCreated;
use weft_runtime::{Principal, Runtime, RuntimeConfig};
use weft_store::{LocalDiskBlobStore, SeaStore, StoreOptions};

/// Run one async test case on both backends: `dual!(my_case)` defines `my_case::sqlite` and
/// `my_case::postgres`, each calling `my_case(Backend)`.
#[macro_export]
macro_rules! dual {
    ($($case:ident),+ $(,)?) => {
        $(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$case($crate::Backend::Postgres).await
            }
        }
        )+
    };
}

/// Re-exported for the `dual!` macro.
pub use weft_runtime::ports::Backend;

pub fn pg_admin_url() -> String {
    std::env::var("WEFT_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Log errors only (benchmarks); call before the first `TestApp`.
pub fn quiet_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("error")
        .try_init();
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("WEFT_TEST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

/// A database that exists for one test.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        // reqwest has no TLS provider of its own here (see weft-outbound): install ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("weft.db").display());
                Self {
                    backend,
                    url,
                    dir,
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("weft_test_{}", uuid::Uuid::now_v7().simple());
                weft_store::admin::create_database(&admin, &name)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {admin} is required for this test: {e}")
                    });
                let url = weft_store::admin::database_url(&admin, &name);
                Self {
                    backend,
                    url,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let admin = pg_admin_url();
        // Drop the database and the tenant roles it created (roles are cluster-wide) on a
        // thread and runtime of its own: `drop` is synchronous and may run on a runtime's
        // worker, where blocking on a future is not allowed.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let _ = rt.block_on(weft_store::admin::drop_database(&admin, &name));
        })
        .join();
    }
}

/// The platform wired on a fresh database, with one tenant ready.
pub struct TestApp {
    pub db: TestDb,
    pub store: Arc<SeaStore>,
    pub rt: Arc<Runtime>,
    pub tenant: TenantCreated,
}

impl TestApp {
    pub async fn new(backend: Backend) -> Self {
        Self::with_clock(backend, Arc::new(SystemClock)).await
    }

    pub async fn with_clock(backend: Backend, clock: Arc<dyn Clock>) -> Self {
        Self::build(backend, clock, |_| {}).await
    }

    /// PostgreSQL with the application's own tenant conditions switched off, so row-level
    /// security and the tenant roles are the only wall (isolation tests only).
    pub async fn without_app_tenant_filter() -> Self {
        Self::build(Backend::Postgres, Arc::new(SystemClock), |o| {
            o.app_tenant_filter = false
        })
        .await
    }

    pub async fn build(
        backend: Backend,
        clock: Arc<dyn Clock>,
        tweak: impl FnOnce(&mut StoreOptions),
    ) -> Self {
        Self::build_with(backend, clock, tweak, RuntimeConfig::default()).await
    }

    /// A runtime with its own settings (quotas, limits).
    pub async fn with_config(backend: Backend, cfg: RuntimeConfig) -> Self {
        Self::build_with(backend, Arc::new(SystemClock), |_| {}, cfg).await
    }

    pub async fn build_with(
        backend: Backend,
        clock: Arc<dyn Clock>,
        tweak: impl FnOnce(&mut StoreOptions),
        cfg: RuntimeConfig,
    ) -> Self {
        let db = TestDb::new(backend).await;
        let mut opts = StoreOptions::new(db.url.clone());
        opts.max_connections = 8;
        tweak(&mut opts);
        let store = Arc::new(SeaStore::connect(&opts).await.expect("connect"));
        store.migrate().await.expect("migrate");
        let rt = Runtime::new(
            store.clone(),
            Arc::new(LocalDiskBlobStore::new(db.dir.path().join("files"))),
            clock,
            cfg,
        );
        let tenant = rt
            .tenants()
            .create_tenant("Test Co.", "Admin", Some("admin@test.weft"))
            .await
            .expect("tenant");
        Self {
            db,
            store,
            rt,
            tenant,
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    /// The tenant admin acting through the API.
    pub fn admin(&self) -> Principal {
        let mut p = Principal::system(self.tenant.tenant_id, self.tenant.admin_user_id);
        p.source = weft_runtime::Source::Api;
        p
    }

    /// Another tenant on the same database, for isolation checks.
    pub async fn other_tenant(&self, name: &str) -> TenantCreated {
        self.rt
            .tenants()
            .create_tenant(name, "Other Admin", None)
            .await
            .expect("tenant")
    }

    pub fn principal_of(t: &TenantCreated) -> Principal {
        Principal::system(t.tenant_id, t.admin_user_id)
    }

    /// Start the real HTTP server on a random loopback port.
    pub async fn serve(&self) -> Server {
        self.serve_with(weft_api::limits::RateConfig::default())
            .await
    }

    /// Start the server with explicit rate limits.
    pub async fn serve_with(&self, limits: weft_api::limits::RateConfig) -> Server {
        self.serve_cfg(weft_api::HttpConfig {
            limits,
            ..weft_api::HttpConfig::default()
        })
        .await
    }

    /// Behind a reverse proxy on 127.0.0.1: `X-Forwarded-For` names the client.
    pub async fn serve_behind_proxy(&self) -> Server {
        self.serve_cfg(weft_api::HttpConfig {
            trusted_proxies: weft_api::client_ip::parse_trusted("127.0.0.1").expect("cidr"),
            ..weft_api::HttpConfig::default()
        })
        .await
    }

    pub async fn serve_cfg(&self, cfg: weft_api::HttpConfig) -> Server {
        let cfg = weft_api::HttpConfig {
            workers: 2,
            handle_signals: false,
            ..cfg
        };
        let serving = weft_api::serve(self.rt.clone(), &cfg).expect("bind");
        let (addr, h) = (serving.addr(), serving.handle());
        // The server runs on its own task; the handle stops it.
        drop(serving);
        Server {
            base: format!("http://{addr}"),
            handle: h,
            client: reqwest::Client::new(),
            key: self.tenant.api_key.clone(),
            owner: true,
        }
    }
}

/// A running API server and a client holding an API key.
pub struct Server {
    pub base: String,
    pub handle: weft_api::ServerHandle,
    pub client: reqwest::Client,
    pub key: String,
    /// Only the server's first handle stops it when dropped; clones made by `with_key` share it.
    owner: bool,
}

/// A response: status, headers we look at, JSON body (or null).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub etag: Option<String>,
    pub body: Json,
}

impl Server {
    pub fn with_key(&self, key: &str) -> Server {
        Server {
            base: self.base.clone(),
            handle: self.handle.clone(),
            client: self.client.clone(),
            key: key.to_owned(),
            owner: false,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Json>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{}", self.base, path);
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self
            .client
            .request(m, url)
            .header("authorization", format!("Bearer {}", self.key));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Json::Null);
        Resp { status, etag, body }
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{}", self.base, path);
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self
            .client
            .request(m, url)
            .header("authorization", format!("Bearer {}", self.key));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let resp = rb.body(body).send().await.expect("request");
        let status = resp.status().as_u16();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = resp.text().await.unwrap_or_default();
        Resp {
            status,
            etag,
            body: serde_json::from_str(&text).unwrap_or(Json::Null),
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: Json) -> Resp {
        self.send("POST", path, Some(&body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: Json) -> Resp {
        self.send("PATCH", path, Some(&body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, &[]).await
    }

    /// Create a record, asserting success; returns its JSON.
    pub async fn create(&self, object: &str, body: Json) -> Json {
        let r = self.post(&format!("/api/v1/data/{object}"), body).await;
        assert_eq!(r.status, 201, "create {object}: {}", r.body);
        r.body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.owner {
            return;
        }
        let h = self.handle.clone();
        tokio::spawn(async move { h.stop(false).await });
    }
}

/// The codes of an error response's details, `path:code`, sorted.
pub fn problems(r: &Resp) -> Vec<String> {
    let mut v: Vec<String> = r.body["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    format!(
                        "{}:{}",
                        d["path"].as_str().unwrap_or(""),
                        d["code"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The CRM example package from `examples/crm`.
pub fn crm_app() -> weft_runtime::apps::AppPackage {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/crm");
    let read = |f: &str| -> Json {
        let s = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("read {f}: {e}"));
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    let manifest = read("app.json");
    let objects = manifest["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| read(f.as_str().unwrap()))
        .collect();
    let seed = serde_json::from_value(read(manifest["seed"].as_str().unwrap())).unwrap();
    weft_runtime::apps::AppPackage {
        name: manifest["name"].as_str().unwrap().into(),
        objects,
        seed,
        org: manifest["org"].as_str().map(read),
        demo_password: manifest["demo_password"].as_str().map(str::to_owned),
        // Tests install the CRM's rules and flows themselves, where they test them.
        rules: vec![],
        flows: vec![],
    }
}

/// Run the automation outbox until it is empty (test servers run no worker); panics when it
/// does not drain, so a run that keeps re-queuing itself fails the test.
pub async fn drain_outbox(
    rt: &weft_runtime::Runtime,
    out: &dyn weft_runtime::automation::ports::Outbound,
) {
    for _ in 0..50 {
        if rt
            .automation()
            .run_automation_once(out, "test-worker")
            .await
            .unwrap_or(0)
            == 0
        {
            return;
        }
    }
    panic!("the outbox did not drain");
}

/// The CRM app as `weft demo` installs it: with its rules and its published approval flow.
pub fn crm_app_full() -> weft_runtime::apps::AppPackage {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/crm");
    let read = |f: &str| -> Json {
        let s = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("read {f}: {e}"));
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("{f}: {e}"))
    };
    let manifest = read("app.json");
    let mut app = crm_app();
    app.rules = read(manifest["rules"].as_str().unwrap_or("rules.json"))["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    app.flows = manifest["flows"]
        .as_array()
        .map(|fs| fs.iter().filter_map(Json::as_str).map(read).collect())
        .unwrap_or_default();
    app
}

/// A small object definition used by many tests.
pub fn simple_object(name: &str) -> Json {
    json!({
        "api_name": name,
        "label": {"en": name},
        "name_field": "name",
        "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "amount", "type": "decimal", "label": {"en": "Amount"}, "precision": 12, "scale": 2, "indexed": true},
            {"api_name": "qty", "type": "integer", "label": {"en": "Qty"}},
            {"api_name": "stage", "type": "single_select", "label": {"en": "Stage"},
             "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}]},
            {"api_name": "due", "type": "date", "label": {"en": "Due"}}
        ]
    })
}

pub fn tenant_id(t: &TenantCreated) -> TenantId {
    t.tenant_id
}

pub fn user_id(t: &TenantCreated) -> UserId {
    t.admin_user_id
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    SystemClock.now()
}

pub fn is_pg(b: Backend) -> bool {
    b == Backend::Postgres
}

pub fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}
