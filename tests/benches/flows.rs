//! End-to-end approval throughput through the runtime (issue 5: ≥ 300 instances/s on 2 cores,
//! SpiffWorkflow ≈ 56 instances/s with its JSON persistence per step, perf.md): the
//! workflow.md §3 model — exclusive gateway on amount, three parallel approvals, join, end.
//! Each instance = start + 3 approvals (4 commands, 4 transactions, each with its revision
//! check), approvers reading their inbox first. Next to it, in the same run, a raw-SQL
//! baseline writing the same rows (instance insert + 3 tasks + events, then per approval:
//! instance swap, task update, events) in the same number of transactions.
//!
//! Run: `cargo bench -p weft-tests --bench flows [-- sqlite|postgres] [instances]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde_json::json;
use uuid::Uuid;
use weft_meta::UserId;
use weft_runtime::Principal;
use weft_testkit::{Backend, TestApp};

const CLIENTS: usize = 8;

fn model() -> serde_json::Value {
    json!({
      "schema": "crm.workflow/1", "key": "bench", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "route", "kind": "exclusive", "default": "e_small"},
        {"id": "fork", "kind": "parallel"},
        {"id": "legal", "kind": "approval", "assignees": [{"kind": "initiator_chooses"}], "mode": {"kind": "all"}},
        {"id": "finance", "kind": "approval", "assignees": [{"kind": "initiator_chooses"}], "mode": {"kind": "all"}},
        {"id": "sales", "kind": "approval", "assignees": [{"kind": "initiator_chooses"}], "mode": {"kind": "all"}},
        {"id": "join", "kind": "parallel"},
        {"id": "mgr", "kind": "approval", "assignees": [{"kind": "initiator_chooses"}]},
        {"id": "end", "kind": "end"},
        {"id": "end_low", "kind": "end"}
      ],
      "edges": [
        {"id": "e0", "from": "start", "to": "route"},
        {"id": "e_big", "from": "route", "to": "fork", "order": 1, "when": {"expr": "record.amount > 500000"}},
        {"id": "e_small", "from": "route", "to": "mgr"},
        {"id": "f1", "from": "fork", "to": "legal"}, {"id": "f2", "from": "fork", "to": "finance"},
        {"id": "f3", "from": "fork", "to": "sales"},
        {"id": "j1", "from": "legal", "to": "join", "on": "approved"},
        {"id": "j2", "from": "finance", "to": "join", "on": "approved"},
        {"id": "j3", "from": "sales", "to": "join", "on": "approved"},
        {"id": "e1", "from": "join", "to": "end"},
        {"id": "m1", "from": "mgr", "to": "end_low", "on": "approved"}
      ]
    })
}

struct Client {
    initiator: Principal,
    approvers: [Principal; 3],
    records: Vec<String>,
}

async fn setup(b: Backend, n: usize) -> (TestApp, Vec<Client>) {
    let app = TestApp::new(b).await;
    let admin = app.admin();
    app.rt
        .metadata()
        .create_object(&admin, &weft_testkit::simple_object("deal"))
        .await
        .unwrap();
    app.rt
        .org_admin()
        .save_role(&admin, None, &json!({"key": "rep", "label": {"en": "Rep"},
            "permissions": {"objects": {"deal": {"read": true, "create": true, "update": true, "scope": "all"}}}}))
        .await
        .unwrap();
    app.rt
        .workflows()
        .save_flow(&admin, None, &model())
        .await
        .unwrap();
    app.rt
        .workflows()
        .publish_flow(&admin, "bench")
        .await
        .unwrap();
    let mut clients = vec![];
    for c in 0..CLIENTS {
        let mut ps = vec![];
        for i in 0..4 {
            let u = app
                .rt
                .org_admin()
                .create_user(
                    &admin,
                    &json!({"name": format!("u{c}.{i}"), "roles": ["rep"]}),
                )
                .await
                .unwrap();
            let mut p = Principal::system(
                app.tenant.tenant_id,
                UserId(Uuid::parse_str(u["id"].as_str().unwrap()).unwrap()),
            );
            p.is_admin = false;
            p.source = weft_runtime::Source::Api;
            ps.push(p);
        }
        let mut records = vec![];
        for _ in 0..n.div_ceil(CLIENTS) {
            let r = app
                .rt
                .records()
                .create(
                    &ps[0],
                    "deal",
                    &json!({"name": "d", "amount": 600000}),
                    None,
                )
                .await
                .unwrap();
            records.push(r.record["id"].as_str().unwrap().to_string());
        }
        clients.push(Client {
            initiator: ps[0].clone(),
            approvers: [ps[1].clone(), ps[2].clone(), ps[3].clone()],
            records,
        });
    }
    (app, clients)
}

async fn run_client(app: Arc<TestApp>, c: Client) -> usize {
    let mut done = 0;
    for rec in &c.records {
        let chosen = json!({"legal": [c.approvers[0].user.0], "finance": [c.approvers[1].user.0],
                            "sales": [c.approvers[2].user.0]});
        let inst = app
            .rt
            .workflows()
            .start_flow(
                &c.initiator,
                &json!({"flow": "bench", "record": rec, "chosen": chosen}),
            )
            .await
            .unwrap();
        let mut last = None;
        for a in &c.approvers {
            let inbox = app
                .rt
                .workflows()
                .flow_inbox(a, "todo", Some(1))
                .await
                .unwrap();
            let task = match inbox.items.first() {
                Some(weft_runtime::flows::view_types::InboxItem::Task(t)) => t.id,
                other => panic!("no open task: {other:?}"),
            };
            last = Some(
                app.rt
                    .workflows()
                    .act_on_task(a, task, &json!({"action": "approve"}))
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            last.map(|l| l.status).as_deref(),
            Some("approved"),
            "{inst:?}"
        );
        done += 1;
    }
    done
}

fn st(b: Backend, sql: &str, v: Vec<Value>) -> Statement {
    match b {
        Backend::Postgres => Statement::from_sql_and_values(DbBackend::Postgres, sql, v),
        Backend::Sqlite => {
            Statement::from_sql_and_values(DbBackend::Sqlite, sql.replace('$', "?"), v)
        }
    }
}

/// The same rows in the same number of transactions, with hand-written SQL.
async fn raw_client(app: Arc<TestApp>, n: usize) -> usize {
    let b = app.backend();
    let db = app.store.connection();
    let t = app.tenant.tenant_id.0;
    let state = json!({"id": "x", "rev": 1, "status": "running", "initiator": "u",
        "tokens": [{"id": 1, "node": "legal", "ni": 2}, {"id": 3, "node": "finance", "ni": 4}, {"id": 5, "node": "sales", "ni": 6}],
        "nodes": [{"id": 2, "node": "legal", "assignees": ["a"], "slots": 1, "need": 1}],
        "tasks": [{"id": 7, "ni": 2, "user": "a"}, {"id": 8, "ni": 4, "user": "b"}, {"id": 9, "ni": 6, "user": "c"}]});
    let now = chrono::Utc::now();
    let ts = |_: ()| Value::ChronoDateTimeUtc(Some(now));
    let js = || Value::Json(Some(Box::new(state.clone())));
    for _ in 0..n {
        let id = Uuid::now_v7();
        let txn = sea_orm::TransactionTrait::begin(db).await.unwrap();
        txn.execute_raw(st(b, "INSERT INTO flow_instances (tenant_id, id, version_id, flow_key, version, object, record_id, initiator, status, rev, state, created_at, updated_at) VALUES ($1,$2,$3,'bench',1,'deal',$4,$5,'running',1,$6,$7,$7)",
            vec![t.into(), id.into(), Uuid::now_v7().into(), Uuid::now_v7().into(), Uuid::now_v7().into(), js(), ts(())])).await.unwrap();
        for k in 0..3 {
            txn.execute_raw(st(b, "INSERT INTO flow_tasks (tenant_id, id, instance_id, task, ni, node, assignee, kind, status, flow_key, object, record_id, created_at) VALUES ($1,$2,$3,$4,1,'legal','u','normal','open','bench','deal',$5,$6)",
                vec![t.into(), Uuid::now_v7().into(), id.into(), k.into(), Uuid::now_v7().into(), ts(())])).await.unwrap();
        }
        for s in 0..4i64 {
            txn.execute_raw(st(b, "INSERT INTO flow_events (tenant_id, instance_id, seq, at, event, data) VALUES ($1,$2,$3,$4,'started',$5)",
                vec![t.into(), id.into(), (1000 + s).into(), ts(()), js()])).await.unwrap();
        }
        txn.commit().await.unwrap();
        for k in 0..3i64 {
            let txn = sea_orm::TransactionTrait::begin(db).await.unwrap();
            let r = txn.execute_raw(st(b, "UPDATE flow_instances SET rev = $3, state = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND rev = $6",
                vec![t.into(), id.into(), (k + 2).into(), js(), ts(()), (k + 1).into()])).await.unwrap();
            assert_eq!(r.rows_affected(), 1);
            txn.execute_raw(st(b, "UPDATE flow_tasks SET status = 'approved', closed_at = $4 WHERE tenant_id = $1 AND instance_id = $2 AND task = $3",
                vec![t.into(), id.into(), (k as i32).into(), ts(())])).await.unwrap();
            for s in 0..2i64 {
                txn.execute_raw(st(b, "INSERT INTO flow_events (tenant_id, instance_id, seq, at, event, data) VALUES ($1,$2,$3,$4,'decided',$5)",
                    vec![t.into(), id.into(), ((k + 2) * 1000 + s).into(), ts(()), js()])).await.unwrap();
            }
            txn.commit().await.unwrap();
        }
    }
    n
}

async fn run(b: Backend, n: usize) {
    let (app, clients) = setup(b, n).await;
    let app = Arc::new(app);
    // Warm up (compile cache, connections) on a few instances, not measured.
    let started = Instant::now();
    let handles: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(run_client(app.clone(), c)))
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(raw_client(app.clone(), n.div_ceil(CLIENTS))))
        .collect();
    let mut raw = 0;
    for h in handles {
        raw += h.await.unwrap();
    }
    let raw_secs = started.elapsed().as_secs_f64();
    println!(
        "{:<9} {total:>6} instances  weft runtime {:>7.1} inst/s   raw SQL same rows {:>7.1} inst/s   ratio {:>4.2}",
        weft_testkit::backend_name(b),
        total as f64 / secs,
        raw as f64 / raw_secs,
        (total as f64 / secs) / (raw as f64 / raw_secs),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(2_000);
    let backends: Vec<Backend> = match args
        .iter()
        .find(|a| a.parse::<usize>().is_err())
        .map(String::as_str)
    {
        Some("sqlite") => vec![Backend::Sqlite],
        Some("postgres") => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    weft_testkit::quiet_logs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "end-to-end approvals: XOR + 3 parallel approvals + join, {CLIENTS} concurrent clients"
    );
    for b in backends {
        rt.block_on(run(b, n));
    }
}
