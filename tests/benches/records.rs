//! Foundation benchmark (issue 2 §8): HTTP create throughput at concurrency 16, get by id, and a
//! filtered + sorted list over 1,000,000 records — each next to the same operation as raw SQL on
//! the same table of the same database in the same run (the limit), and, when a PocketBase binary
//! is given (`POCKETBASE=/path/to/pocketbase`, see `scripts/bench`), PocketBase on the same
//! workload with the same indexes.
//!
//! Run: `scripts/bench` or `cargo bench -p weft-tests --bench records [-- sqlite|postgres] [rows]`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use serde_json::{Value as Json, json};
use weft_store::Names;
use weft_testkit::{Backend, TestApp};

const CONCURRENCY: usize = 16;
const CREATES: usize = 4_000;
const GETS: usize = 8_000;
const LISTS: usize = 200;
const REGIONS: [&str; 10] = [
    "east", "west", "north", "south", "central", "ne", "nw", "se", "sw", "hk",
];
const STAGES: [&str; 5] = ["lead", "qualified", "proposal", "won", "lost"];

fn object() -> Json {
    json!({
        "api_name": "deal",
        "label": {"en": "Deal"},
        "name_field": "name",
        "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}, "required": true},
            {"api_name": "amount", "type": "decimal", "label": {"en": "Amount"}, "precision": 14, "scale": 2, "indexed": true},
            {"api_name": "stage", "type": "single_select", "label": {"en": "Stage"},
             "options": STAGES.iter().map(|s| json!({"value": s})).collect::<Vec<_>>()},
            {"api_name": "region", "type": "text", "label": {"en": "Region"}, "indexed": true},
            {"api_name": "close_date", "type": "date", "label": {"en": "Close date"}}
        ]
    })
}

fn record(i: usize) -> Json {
    json!({
        "name": format!("Deal {i}"),
        "amount": format!("{}.{:02}", (i * 7919) % 1_000_000, i % 100),
        "stage": STAGES[i % 5],
        "region": REGIONS[(i / 7) % 10],
        "close_date": format!("2027-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
    })
}

#[derive(Clone, Copy)]
struct Stat {
    /// Operations per second (throughput runs) or p50 in ms (latency runs).
    value: f64,
    p99: f64,
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p) as usize]
}

/// Runs `n` operations with `CONCURRENCY` workers; returns ops/s.
async fn throughput<F, Fut>(n: usize, op: F) -> Stat
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..CONCURRENCY {
        let op = op.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = vec![];
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let s = Instant::now();
                op(i).await;
                lat.push(s.elapsed().as_secs_f64() * 1000.0);
            }
            lat
        }));
    }
    let mut lat = vec![];
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    Stat {
        value: n as f64 / secs,
        p99: pct(&mut lat, 0.99),
    }
}

/// Sequential latency of `op`: p50 and p99 in ms.
async fn latency<F, Fut>(n: usize, op: F) -> Stat
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..10 {
        op(i).await;
    }
    let mut t = Vec::with_capacity(n);
    for i in 0..n {
        let s = Instant::now();
        op(i).await;
        t.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    Stat {
        value: pct(&mut t.clone(), 0.5),
        p99: pct(&mut t, 0.99),
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

struct Row {
    name: &'static str,
    weft: Stat,
    raw: Stat,
    pb: Option<Stat>,
    higher_is_better: bool,
}

fn print_rows(title: &str, rows: &[Row]) {
    println!("\n{title}");
    println!(
        "| operation | Weft | raw SQL (limit) | Weft / limit | PocketBase | Weft speed ÷ PocketBase |"
    );
    println!("|---|---|---|---|---|---|");
    for r in rows {
        let unit = if r.higher_is_better { "/s" } else { " ms" };
        let fmt = |s: Stat| {
            if r.higher_is_better {
                format!("{:.0}{unit} (p99 {:.1} ms)", s.value, s.p99)
            } else {
                format!("{:.2}{unit} p50 (p99 {:.2})", s.value, s.p99)
            }
        };
        let ratio = if r.higher_is_better {
            format!("{:.0}% of limit", 100.0 * r.weft.value / r.raw.value)
        } else {
            format!("{:.2}× limit", r.weft.value / r.raw.value)
        };
        let (pb, vs) = match r.pb {
            Some(p) => (
                fmt(p),
                // Weft's speed as a multiple of PocketBase's (> 1: Weft is faster).
                if r.higher_is_better {
                    format!("{:.2}×", r.weft.value / p.value)
                } else {
                    format!("{:.2}×", p.value / r.weft.value)
                },
            ),
            None => ("—".into(), "—".into()),
        };
        println!(
            "| {} | {} | {} | {ratio} | {pb} | {vs} |",
            r.name,
            fmt(r.weft),
            fmt(r.raw)
        );
    }
}

fn qmark(b: Backend, i: usize) -> String {
    if b == Backend::Postgres {
        format!("${i}")
    } else {
        "?".into()
    }
}

fn db_backend(b: Backend) -> DbBackend {
    if b == Backend::Postgres {
        DbBackend::Postgres
    } else {
        DbBackend::Sqlite
    }
}

/// `(0, 'a'), (1, 'b'), …` for a temp lookup table.
fn numbered_values(vals: &[&str]) -> String {
    vals.iter()
        .enumerate()
        .map(|(i, v)| format!("({i}, '{v}')"))
        .collect::<Vec<_>>()
        .join(",")
}

fn uuid_value(b: Backend, id: uuid::Uuid) -> Value {
    if b == Backend::Postgres {
        Value::Uuid(Some(id))
    } else {
        Value::Bytes(Some(id.as_bytes().to_vec()))
    }
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn run(b: Backend, rows: usize, pocketbase: Option<&Path>) {
    let app = TestApp::new(b).await;
    let admin = app.admin();
    app.rt
        .metadata()
        .create_object(&admin, &object())
        .await
        .unwrap();
    let srv = app
        .serve_with(weft_api::limits::RateConfig {
            tenant_per_sec: 1_000_000,
            tenant_burst: 1_000_000,
            credential_per_sec: 1_000_000,
            credential_burst: 1_000_000,
        })
        .await;
    let rb = if b == Backend::Postgres {
        weft_runtime::ports::Backend::Postgres
    } else {
        weft_runtime::ports::Backend::Sqlite
    };
    let key = app.tenant.tenant_id.0.simple().to_string();
    let table = Names::new(rb, &key).table("deal");
    let db: DatabaseConnection = app.store.connection().clone();
    let owner = app.tenant.admin_user_id.0;
    let base = srv.base.clone();
    let auth = format!("Bearer {}", srv.key);
    let client = http_client();

    // 1. Create at concurrency 16: Weft over HTTP (validation, change log, audit) vs. a raw
    //    single-row INSERT of the same columns in autocommit.
    let ids = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let weft_create = {
        let (client, base, auth, ids) = (client.clone(), base.clone(), auth.clone(), ids.clone());
        throughput(CREATES, move |i| {
            let (client, base, auth, ids) =
                (client.clone(), base.clone(), auth.clone(), ids.clone());
            async move {
                let r = client
                    .post(format!("{base}/api/v1/data/deal"))
                    .header("authorization", &auth)
                    .json(&record(i))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
                let body: Json = r.json().await.unwrap();
                ids.lock()
                    .unwrap()
                    .push(body["id"].as_str().unwrap().to_owned());
            }
        })
        .await
    };
    let now_sql = if b == Backend::Postgres {
        "now()"
    } else {
        "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
    };
    let insert_sql = format!(
        "INSERT INTO {table} (id, owner, department, version, created_by, created_at, updated_by, updated_at, \
         name, amount, stage, region, close_date) VALUES ({}, {}, NULL, 1, {}, {now_sql}, {}, {now_sql}, {}, {}, {}, {}, {})",
        qmark(b, 1),
        qmark(b, 2),
        qmark(b, 3),
        qmark(b, 4),
        qmark(b, 5),
        qmark(b, 6),
        qmark(b, 7),
        qmark(b, 8),
        qmark(b, 9),
    );
    let raw_ids = Arc::new(std::sync::Mutex::new(Vec::<uuid::Uuid>::new()));
    let raw_create = {
        let (db, sql, raw_ids) = (db.clone(), insert_sql.clone(), raw_ids.clone());
        throughput(CREATES, move |i| {
            let (db, sql, raw_ids) = (db.clone(), sql.clone(), raw_ids.clone());
            async move {
                let id = uuid::Uuid::now_v7();
                let r = record(i);
                let amount: Value = if b == Backend::Postgres {
                    Value::Decimal(Some(
                        r["amount"]
                            .as_str()
                            .unwrap()
                            .parse::<rust_decimal::Decimal>()
                            .unwrap(),
                    ))
                } else {
                    // SQLite stores decimals as scaled integers (see store/sqlvalue.rs).
                    let s = r["amount"].as_str().unwrap().replace('.', "");
                    Value::BigInt(Some(s.parse().unwrap()))
                };
                let date: Value = if b == Backend::Postgres {
                    Value::ChronoDate(Some(
                        r["close_date"]
                            .as_str()
                            .unwrap()
                            .parse::<chrono::NaiveDate>()
                            .unwrap(),
                    ))
                } else {
                    r["close_date"].as_str().unwrap().into()
                };
                db.execute_raw(Statement::from_sql_and_values(
                    db_backend(b),
                    &sql,
                    vec![
                        uuid_value(b, id),
                        uuid_value(b, owner),
                        uuid_value(b, owner),
                        uuid_value(b, owner),
                        r["name"].as_str().unwrap().into(),
                        amount,
                        r["stage"].as_str().unwrap().into(),
                        r["region"].as_str().unwrap().into(),
                        date,
                    ],
                ))
                .await
                .unwrap();
                raw_ids.lock().unwrap().push(id);
            }
        })
        .await
    };

    // 2. Fill the table to `rows` records with one statement (not measured).
    let have = (CREATES * 2) as i64;
    let more = rows as i64 - have;
    let load_started = Instant::now();
    if more > 0 {
        let regions = REGIONS
            .iter()
            .map(|r| format!("'{r}'"))
            .collect::<Vec<_>>()
            .join(",");
        let stages = STAGES
            .iter()
            .map(|r| format!("'{r}'"))
            .collect::<Vec<_>>()
            .join(",");
        let o = owner.simple().to_string();
        let sql = match b {
            Backend::Postgres => format!(
                "INSERT INTO {table} (id, owner, department, version, created_by, created_at, updated_by, updated_at, \
                 name, amount, stage, region, close_date) \
                 SELECT gen_random_uuid(), '{o}'::uuid, NULL, 1, '{o}'::uuid, now(), '{o}'::uuid, now(), 'Deal ' || g, \
                   ((g::bigint * 7919) % 1000000)::numeric + (g % 100)::numeric / 100, (ARRAY[{stages}])[g % 5 + 1], \
                   (ARRAY[{regions}])[(g / 7) % 10 + 1], DATE '2027-01-01' + (g % 365) \
                 FROM generate_series({have}, {}) g; ANALYZE {table}",
                rows - 1
            ),
            Backend::Sqlite => format!(
                "CREATE TEMP TABLE bench_r (n INTEGER PRIMARY KEY, v TEXT); \
                 INSERT INTO bench_r VALUES {}; CREATE TEMP TABLE bench_s (n INTEGER PRIMARY KEY, v TEXT); \
                 INSERT INTO bench_s VALUES {}; \
                 WITH RECURSIVE c(x) AS (SELECT {have} UNION ALL SELECT x + 1 FROM c WHERE x < {}) \
                 INSERT INTO {table} (id, owner, department, version, created_by, created_at, updated_by, updated_at, \
                 name, amount, stage, region, close_date) \
                 SELECT randomblob(16), X'{o}', NULL, 1, X'{o}', '2026-12-01T00:00:00.000000Z', X'{o}', '2026-12-01T00:00:00.000000Z', \
                   'Deal ' || x, ((x * 7919) % 1000000) * 100 + x % 100, (SELECT v FROM bench_s WHERE n = x % 5), \
                   (SELECT v FROM bench_r WHERE n = (x / 7) % 10), date('2027-01-01', '+' || (x % 365) || ' days') FROM c; ANALYZE",
                numbered_values(&REGIONS),
                numbered_values(&STAGES),
                rows - 1
            ),
        };
        db.execute_unprepared(&sql).await.unwrap();
    }
    let load = load_started.elapsed().as_secs_f64();

    // 3. Get by id at concurrency 16 over the ids created above.
    let weft_ids: Arc<Vec<String>> = Arc::new(ids.lock().unwrap().clone());
    let weft_get = {
        let (client, base, auth, ids) =
            (client.clone(), base.clone(), auth.clone(), weft_ids.clone());
        throughput(GETS, move |i| {
            let (client, base, auth, ids) =
                (client.clone(), base.clone(), auth.clone(), ids.clone());
            async move {
                let id = &ids[(i * 7) % ids.len()];
                let r = client
                    .get(format!("{base}/api/v1/data/deal/{id}"))
                    .header("authorization", &auth)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                let _: Json = r.json().await.unwrap();
            }
        })
        .await
    };
    let select_sql = format!("SELECT * FROM {table} WHERE id = {}", qmark(b, 1));
    let raw_id_list: Arc<Vec<uuid::Uuid>> = Arc::new(raw_ids.lock().unwrap().clone());
    let raw_get = {
        let (db, sql, ids) = (db.clone(), select_sql.clone(), raw_id_list.clone());
        throughput(GETS, move |i| {
            let (db, sql, ids) = (db.clone(), sql.clone(), ids.clone());
            async move {
                let id = ids[(i * 7) % ids.len()];
                let row = db
                    .query_one_raw(Statement::from_sql_and_values(
                        db_backend(b),
                        &sql,
                        vec![uuid_value(b, id)],
                    ))
                    .await
                    .unwrap();
                assert!(row.is_some());
            }
        })
        .await
    };

    // 4. Filtered + sorted list, one page of 50, sequential latency.
    let list_body = json!({
        "filter": {"and": [
            {"field": "stage", "op": "eq", "value": "won"},
            {"field": "region", "op": "eq", "value": "east"}
        ]},
        "sort": ["-amount"],
        "limit": 50
    });
    let weft_list = {
        let (client, base, auth, body) = (
            client.clone(),
            base.clone(),
            auth.clone(),
            list_body.clone(),
        );
        latency(LISTS, move |_| {
            let (client, base, auth, body) =
                (client.clone(), base.clone(), auth.clone(), body.clone());
            async move {
                let r = client
                    .post(format!("{base}/api/v1/data/deal/query"))
                    .header("authorization", &auth)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                let v: Json = r.json().await.unwrap();
                assert!(!v["records"].as_array().unwrap().is_empty());
            }
        })
        .await
    };
    let list_sql = format!(
        "SELECT * FROM {table} WHERE deleted_at IS NULL AND stage = {} AND region = {} \
         ORDER BY amount DESC, id DESC LIMIT 51",
        qmark(b, 1),
        qmark(b, 2)
    );
    let raw_list = {
        let (db, sql) = (db.clone(), list_sql.clone());
        latency(LISTS, move |_| {
            let (db, sql) = (db.clone(), sql.clone());
            async move {
                let rows = db
                    .query_all_raw(Statement::from_sql_and_values(
                        db_backend(b),
                        &sql,
                        vec!["won".into(), "east".into()],
                    ))
                    .await
                    .unwrap();
                assert!(!rows.is_empty());
            }
        })
        .await
    };

    let pb = match pocketbase {
        Some(bin) if b == Backend::Sqlite => Some(pocketbase_run(bin, rows).await),
        _ => None,
    };
    let name = weft_testkit::backend_name(b);
    print_rows(
        &format!(
            "{name}: {rows} records (bulk load {load:.1} s), HTTP client concurrency {CONCURRENCY}, \
             {CREATES} creates, {GETS} gets, {LISTS} lists"
        ),
        &[
            Row {
                name: "create (HTTP POST, c=16)",
                weft: weft_create,
                raw: raw_create,
                pb: pb.map(|p| p.0),
                higher_is_better: true,
            },
            Row {
                name: "get by id (HTTP GET, c=16)",
                weft: weft_get,
                raw: raw_get,
                pb: pb.map(|p| p.1),
                higher_is_better: true,
            },
            Row {
                name: "list: stage = won ∧ region = east, by amount desc, 50 rows",
                weft: weft_list,
                raw: raw_list,
                pb: pb.map(|p| p.2),
                higher_is_better: false,
            },
        ],
    );
    srv.handle.stop(false).await;
}

struct Pb {
    child: Child,
}

impl Drop for Pb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn pb_start(bin: &Path, dir: &Path, port: u16) -> Pb {
    let child = Command::new(bin)
        .args(["serve", "--http", &format!("127.0.0.1:{port}"), "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pocketbase");
    let pb = Pb { child };
    let c = reqwest::Client::new();
    for _ in 0..300 {
        if c.get(format!("http://127.0.0.1:{port}/api/health"))
            .send()
            .await
            .is_ok()
        {
            return pb;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pocketbase did not start");
}

/// PocketBase on the same workload: a `deals` collection with the same fields and indexes,
/// created through its API, loaded to `rows` through its SQLite file while stopped.
#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn pocketbase_run(bin: &Path, rows: usize) -> (Stat, Stat, Stat) {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let st = Command::new(bin)
        .args([
            "superuser",
            "upsert",
            "bench@example.com",
            "bench-password-1",
            "--dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let base = format!("http://127.0.0.1:{port}");
    let client = http_client();
    let pb = pb_start(bin, dir.path(), port).await;
    let token = {
        let v: Json = client
            .post(format!(
                "{base}/api/collections/_superusers/auth-with-password"
            ))
            .json(&json!({"identity": "bench@example.com", "password": "bench-password-1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["token"].as_str().unwrap().to_owned()
    };
    let r = client
        .post(format!("{base}/api/collections"))
        .header("authorization", &token)
        .json(&json!({
            "name": "deals", "type": "base",
            "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                {"name": "name", "type": "text", "required": true},
                {"name": "amount", "type": "number"},
                {"name": "stage", "type": "select", "maxSelect": 1, "values": STAGES},
                {"name": "region", "type": "text"},
                {"name": "close_date", "type": "date"}
            ],
            "indexes": [
                "CREATE INDEX idx_deals_amount ON deals (amount)",
                "CREATE INDEX idx_deals_region ON deals (region)"
            ]
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let ids = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let create = {
        let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
        throughput(CREATES, move |i| {
            let (client, base, token, ids) =
                (client.clone(), base.clone(), token.clone(), ids.clone());
            async move {
                let mut rec = record(i);
                rec["amount"] = json!(rec["amount"].as_str().unwrap().parse::<f64>().unwrap());
                rec["close_date"] = json!(format!(
                    "{} 00:00:00.000Z",
                    rec["close_date"].as_str().unwrap()
                ));
                let r = client
                    .post(format!("{base}/api/collections/deals/records"))
                    .header("authorization", &token)
                    .json(&rec)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.text().await.unwrap());
                let v: Json = r.json().await.unwrap();
                ids.lock()
                    .unwrap()
                    .push(v["id"].as_str().unwrap().to_owned());
            }
        })
        .await
    };
    drop(pb);
    // Load the rest straight into its database file, as for Weft.
    let file = dir.path().join("data.db");
    let db = sea_orm::Database::connect(format!("sqlite://{}?mode=rw", file.display()))
        .await
        .unwrap();
    let more = rows.saturating_sub(CREATES);
    if more > 0 {
        db.execute_unprepared(&format!(
            "CREATE TEMP TABLE bench_r (n INTEGER PRIMARY KEY, v TEXT); INSERT INTO bench_r VALUES {}; \
             CREATE TEMP TABLE bench_s (n INTEGER PRIMARY KEY, v TEXT); INSERT INTO bench_s VALUES {}; \
             WITH RECURSIVE c(x) AS (SELECT {CREATES} UNION ALL SELECT x + 1 FROM c WHERE x < {}) \
             INSERT INTO deals (id, name, amount, stage, region, close_date) \
             SELECT 'b' || lower(hex(randomblob(7))), 'Deal ' || x, ((x * 7919) % 1000000) + (x % 100) / 100.0, \
               (SELECT v FROM bench_s WHERE n = x % 5), (SELECT v FROM bench_r WHERE n = (x / 7) % 10), \
               date('2027-01-01', '+' || (x % 365) || ' days') || ' 00:00:00.000Z' FROM c; ANALYZE",
            numbered_values(&REGIONS),
            numbered_values(&STAGES),
            rows - 1
        ))
        .await
        .unwrap();
    }
    db.close().await.unwrap();
    let _pb = pb_start(bin, dir.path(), port).await;
    let ids: Arc<Vec<String>> = Arc::new(ids.lock().unwrap().clone());
    let get = {
        let (client, base, token, ids) = (client.clone(), base.clone(), token.clone(), ids.clone());
        throughput(GETS, move |i| {
            let (client, base, token, ids) =
                (client.clone(), base.clone(), token.clone(), ids.clone());
            async move {
                let id = &ids[(i * 7) % ids.len()];
                let r = client
                    .get(format!("{base}/api/collections/deals/records/{id}"))
                    .header("authorization", &token)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let _: Json = r.json().await.unwrap();
            }
        })
        .await
    };
    let list = {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        latency(LISTS, move |_| {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            async move {
                let r = client
                    .get(format!(
                        "{base}/api/collections/deals/records?filter={}&sort=-amount&perPage=50&skipTotal=1",
                        // stage='won' && region='east'
                        "stage%3D%27won%27%20%26%26%20region%3D%27east%27"
                    ))
                    .header("authorization", &token)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                let v: Json = r.json().await.unwrap();
                assert!(!v["items"].as_array().unwrap().is_empty());
            }
        })
        .await
    };
    (create, get, list)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rows: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let backends: Vec<Backend> = match args
        .iter()
        .find(|a| a.parse::<u64>().is_err())
        .map(String::as_str)
    {
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Postgres, Backend::Sqlite],
    };
    let pocketbase: Option<PathBuf> = std::env::var_os("POCKETBASE").map(PathBuf::from);
    weft_testkit::quiet_logs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for b in backends {
        rt.block_on(run(b, rows, pocketbase.as_deref()));
    }
}
