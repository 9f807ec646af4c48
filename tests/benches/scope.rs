//! List latency for a user whose role gives department scope against an admin, over
//! 1,000,000 records, 50 departments and 500 users (access-control issue, target: within
//! 1.5× of the admin's). Run: `cargo bench -p weft-tests --bench scope [-- sqlite|postgres] [rows]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use sea_orm::ConnectionTrait;
use serde_json::json;
use weft_runtime::Principal;
use weft_store::Names;
use weft_testkit::{Backend, TestApp};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p) as usize]
}

async fn measure(app: &TestApp, p: &Principal, body: &serde_json::Value, n: usize) -> (f64, f64) {
    for _ in 0..20 {
        app.rt.records().query(p, "deal", body).await.unwrap();
    }
    let mut t = Vec::with_capacity(n);
    for _ in 0..n {
        let s = Instant::now();
        let r = app.rt.records().query(p, "deal", body).await.unwrap();
        t.push(s.elapsed().as_secs_f64() * 1000.0);
        assert!(!r.records.is_empty());
    }
    (pct(&mut t.clone(), 0.5), pct(&mut t, 0.99))
}

async fn run(b: Backend, rows: u64) {
    let app = TestApp::new(b).await;
    let admin = app.admin();
    app.rt
        .metadata()
        .create_object(&admin, &weft_testkit::simple_object("deal"))
        .await
        .unwrap();
    let mut depts = vec![];
    for region in 0..5 {
        let r = app
            .rt
            .org_admin()
            .save_department(&admin, None, &json!({"name": format!("Region {region}")}))
            .await
            .unwrap();
        for team in 0..9 {
            let t = app
                .rt
                .org_admin()
                .save_department(
                    &admin,
                    None,
                    &json!({"name": format!("Team {region}.{team}"), "parent_id": r["id"]}),
                )
                .await
                .unwrap();
            depts.push(t["id"].as_str().unwrap().to_owned());
        }
        depts.push(r["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(depts.len(), 50);
    app.rt
        .org_admin()
        .save_role(&admin, None, &json!({"key": "rep", "label": {"en": "Rep"},
            "permissions": {"objects": {"deal": {"read": true, "update": true, "scope": "department"}}}}))
        .await
        .unwrap();
    let mut users = vec![];
    for i in 0..500 {
        let u = app
            .rt
            .org_admin()
            .create_user(&admin, &json!({"name": format!("user {i}"), "departments": [{"id": depts[i % 50], "primary": true}], "roles": ["rep"]}))
            .await
            .unwrap();
        users.push((
            u["id"].as_str().unwrap().replace('-', ""),
            depts[i % 50].replace('-', ""),
        ));
    }
    let key = app.tenant.tenant_id.0.simple().to_string();
    let rb = if b == Backend::Postgres {
        weft_runtime::ports::Backend::Postgres
    } else {
        weft_runtime::ports::Backend::Sqlite
    };
    let t = Names::new(rb, &key).table("deal");
    let db = app.store.connection();
    let started = Instant::now();
    match b {
        Backend::Postgres => {
            // Owners and departments come from a VALUES list of the 500 users.
            let vals: Vec<String> = users
                .iter()
                .enumerate()
                .map(|(i, (u, d))| format!("({i}, '{u}'::uuid, '{d}'::uuid)"))
                .collect();
            db.execute_unprepared(&format!(
                "CREATE TEMP TABLE bench_users (n int, u uuid, d uuid); INSERT INTO bench_users VALUES {}; \
                 INSERT INTO {t} (id, owner, department, version, created_by, created_at, updated_by, updated_at, name, amount, qty, stage) \
                 SELECT gen_random_uuid(), bu.u, bu.d, 1, bu.u, now(), bu.u, now(), 'n' || g, (g % 100000)::numeric / 100, g, \
                   (ARRAY['a','b','c'])[g % 3 + 1] FROM generate_series(1, {rows}) g JOIN bench_users bu ON bu.n = g % 500; \
                 ANALYZE {t}",
                vals.join(",")
            ))
            .await
            .unwrap();
        }
        Backend::Sqlite => {
            let vals: Vec<String> = users
                .iter()
                .enumerate()
                .map(|(i, (u, d))| format!("({i}, X'{u}', X'{d}')"))
                .collect();
            db.execute_unprepared(&format!(
                "CREATE TEMP TABLE bench_users (n INTEGER PRIMARY KEY, u BLOB, d BLOB); INSERT INTO bench_users VALUES {}; \
                 WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) \
                 INSERT INTO {t} (id, owner, department, version, created_by, created_at, updated_by, updated_at, name, amount, qty, stage) \
                 SELECT randomblob(16), bu.u, bu.d, 1, bu.u, '2026-01-01T00:00:00.000000Z', bu.u, '2026-01-01T00:00:00.000000Z', \
                   'n' || x, x % 100000, x, char(97 + x % 3) FROM c JOIN bench_users bu ON bu.n = x % 500; ANALYZE",
                vals.join(",")
            ))
            .await
            .unwrap();
        }
    }
    let load = started.elapsed().as_secs_f64();
    let org = app.rt.core().org(app.tenant.tenant_id).await.unwrap();
    let some_user = org.users.values().find(|u| !u.is_admin).unwrap().id;
    let mut user = Principal::system(app.tenant.tenant_id, weft_meta::UserId(some_user));
    user.is_admin = false;
    let cases = [
        ("newest first, 50 rows", json!({"limit": 50})),
        (
            "stage = b, by amount desc, 50 rows",
            json!({"limit": 50, "filter": {"field": "stage", "op": "eq", "value": "b"}, "sort": ["-amount"]}),
        ),
        ("count", json!({"limit": 1, "count": true})),
    ];
    println!(
        "\n{} — {rows} records, 50 departments, 500 users (load {load:.1} s)",
        weft_testkit::backend_name(b)
    );
    println!(
        "{:<38} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "list", "admin p50", "admin p99", "dept p50", "dept p99", "ratio"
    );
    for (name, body) in cases {
        let n = if name == "count" { 20 } else { 200 };
        let (a50, a99) = measure(&app, &admin, &body, n).await;
        let (u50, u99) = measure(&app, &user, &body, n).await;
        println!(
            "{name:<38} {a50:>9.2} ms {a99:>9.2} ms {u50:>9.2} ms {u99:>9.2} ms {:>7.2}×",
            u50 / a50
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rows: u64 = args
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
    // The load statements are long; keep sqlx's slow-statement warnings out of the table.
    weft_testkit::quiet_logs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for b in backends {
        rt.block_on(run(b, rows));
    }
}
