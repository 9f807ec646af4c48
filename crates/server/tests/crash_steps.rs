//! A kill -9 in the middle of 1,000 workflow steps: 500 records, each started on an approval
//! flow and approved (two commands each), by eight concurrent clients against the real `weft`
//! binary, which is killed with SIGKILL once half the steps are acknowledged. After the
//! restart every acknowledged step is there (0 lost), no step took effect twice (one instance
//! per record, the approval's record update applied once), and the rest completes — on
//! SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use tokio::sync::Mutex;
use weft_testkit::{Backend, TestDb};

mod support;
use support::{free_port, start, tenant};

const RECORDS: usize = 500;
const CLIENTS: usize = 8;

#[derive(Clone)]
struct Api {
    c: reqwest::Client,
    base: String,
}

impl Api {
    async fn send(
        &self,
        key: &str,
        m: reqwest::Method,
        path: &str,
        body: Json,
    ) -> Result<(u16, Json), reqwest::Error> {
        let mut r = self
            .c
            .request(m, format!("{}{path}", self.base))
            .bearer_auth(key);
        if !body.is_null() {
            r = r.json(&body);
        }
        let resp = r.send().await?;
        let status = resp.status().as_u16();
        let v = resp.json().await.unwrap_or(Json::Null);
        Ok((status, v))
    }
    async fn get(&self, key: &str, path: &str) -> Json {
        let (s, v) = self
            .send(key, reqwest::Method::GET, path, Json::Null)
            .await
            .unwrap();
        assert_eq!(s, 200, "{path}: {v}");
        v
    }
    async fn post(&self, key: &str, path: &str, body: Json) -> Result<(u16, Json), reqwest::Error> {
        self.send(key, reqwest::Method::POST, path, body).await
    }
}

/// The approver's open task on an instance, if any.
async fn open_task(api: &Api, key: &str, inst: &str) -> Option<String> {
    let v = api.get(key, &format!("/flows/instances/{inst}")).await;
    v["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["status"] == "open")
        .and_then(|t| t["id"].as_str())
        .map(str::to_owned)
}

/// Start (if `start`) and approve one record's instance; each acknowledged step is recorded.
/// Returns false once the server is gone.
async fn steps(api: &Api, admin: &str, approver: &str, rec: &str, i: usize, acks: &Acks) -> bool {
    let inst = match api
        .post(
            admin,
            "/flows/instances",
            json!({"flow": "approve_once", "record": rec}),
        )
        .await
    {
        Ok((201, v)) => {
            acks.started.lock().await[i] = true;
            acks.total.fetch_add(1, Ordering::SeqCst);
            v["id"].as_str().unwrap().to_owned()
        }
        Ok((s, v)) => panic!("start {rec}: {s} {v}"),
        Err(_) => return false,
    };
    let Ok((200, v)) = api
        .send(
            admin,
            reqwest::Method::GET,
            &format!("/flows/instances/{inst}"),
            Json::Null,
        )
        .await
    else {
        return false;
    };
    let Some(task) = v["tasks"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["status"] == "open"))
        .and_then(|t| t["id"].as_str())
    else {
        panic!("no open task on {inst}: {v}");
    };
    match api
        .post(
            approver,
            &format!("/flows/tasks/{task}/actions"),
            json!({"action": "approve"}),
        )
        .await
    {
        Ok((200, _)) => {
            acks.approved.lock().await[i] = true;
            acks.total.fetch_add(1, Ordering::SeqCst);
            true
        }
        Ok((s, v)) => panic!("approve {inst}: {s} {v}"),
        Err(_) => false,
    }
}

struct Acks {
    started: Mutex<Vec<bool>>,
    approved: Mutex<Vec<bool>>,
    total: AtomicUsize,
}

/// The object, an approver with an API key, the published flow and the records; returns the
/// approver's key and the record ids.
async fn prepare(api: &Api, admin: &str) -> (String, Vec<String>) {
    let (s, _) = api
        .post(admin, "/meta/objects", weft_testkit::simple_object("deal"))
        .await
        .unwrap();
    assert_eq!(s, 201);
    let (s, u) = api
        .post(
            admin,
            "/org/users",
            json!({"name": "Approver", "email": "ap@crash.test", "is_admin": true}),
        )
        .await
        .unwrap();
    assert_eq!(s, 201, "{u}");
    let uid = u["id"].as_str().unwrap().to_owned();
    let (s, k) = api
        .post(
            admin,
            "/auth/api-keys",
            json!({"name": "ap", "user_id": uid}),
        )
        .await
        .unwrap();
    assert_eq!(s, 201, "{k}");
    let approver = k["key"].as_str().unwrap().to_owned();
    let flow = json!({
      "schema": "crm.workflow/1", "key": "approve_once", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "ok", "kind": "approval", "assignees": [{"kind": "users", "ids": [uid]}], "mode": {"kind": "any"}},
        {"id": "count", "kind": "action", "action": {"kind": "update_record", "set": {"qty": "record.qty + 1"}}},
        {"id": "end", "kind": "end"},
        {"id": "no", "kind": "end", "outcome": "rejected"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "ok"},
        {"id": "e2", "from": "ok", "to": "count", "on": "approved"},
        {"id": "e3", "from": "ok", "to": "no", "on": "rejected"},
        {"id": "e4", "from": "count", "to": "end", "on": "done"}
      ]
    });
    let (s, v) = api.post(admin, "/meta/flows", flow).await.unwrap();
    assert_eq!(s, 201, "{v}");
    let (s, v) = api
        .post(admin, "/meta/flows/approve_once/publish", json!({}))
        .await
        .unwrap();
    assert_eq!(s, 201, "{v}");
    let mut recs = Vec::with_capacity(RECORDS);
    for i in 0..RECORDS {
        let (s, d) = api
            .post(
                admin,
                "/data/deal",
                json!({"name": format!("d{i}"), "qty": 0}),
            )
            .await
            .unwrap();
        assert_eq!(s, 201, "{d}");
        recs.push(d["id"].as_str().unwrap().to_owned());
    }
    (approver, recs)
}

async fn case(b: Backend) {
    let db = TestDb::new(b).await;
    let admin = tenant(&db, "Crash Steps Co.");
    let port = free_port();
    let mut child = start(&db, port).await;
    let api = Api {
        c: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{port}/api/v1"),
    };
    let (approver, recs) = prepare(&api, &admin).await;

    // 1,000 steps from eight clients; SIGKILL once half of them are acknowledged.
    let acks = Arc::new(Acks {
        started: Mutex::new(vec![false; RECORDS]),
        approved: Mutex::new(vec![false; RECORDS]),
        total: AtomicUsize::new(0),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let gone = Arc::new(AtomicBool::new(false));
    let recs = Arc::new(recs);
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (api, admin, approver) = (api.clone(), admin.clone(), approver.clone());
        let (acks, next, gone, recs) = (acks.clone(), next.clone(), gone.clone(), recs.clone());
        workers.push(tokio::spawn(async move {
            while !gone.load(Ordering::SeqCst) {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= RECORDS || !steps(&api, &admin, &approver, &recs[i], i, &acks).await {
                    break;
                }
            }
        }));
    }
    while acks.total.load(Ordering::SeqCst) < RECORDS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    gone.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    let acked = acks.total.load(Ordering::SeqCst);
    assert!(
        acked < 2 * RECORDS,
        "the kill came before the last step ({acked} acknowledged)"
    );

    let mut child = start(&db, port).await;
    let started = acks.started.lock().await.clone();
    let approved = acks.approved.lock().await.clone();
    eprintln!(
        "{b:?}: killed with {acked} of {} steps acknowledged ({} starts, {} approvals)",
        2 * RECORDS,
        started.iter().filter(|x| **x).count(),
        approved.iter().filter(|x| **x).count()
    );
    check_acknowledged(&api, &admin, &recs, &started, &approved).await;
    finish(&api, &admin, &approver, &recs).await;
    child.kill().unwrap();
    child.wait().unwrap();
}

/// 0 lost, 0 twice: every acknowledged start has its one instance, every acknowledged
/// approval its decision; no record has two instances.
async fn check_acknowledged(
    api: &Api,
    admin: &str,
    recs: &[String],
    started: &[bool],
    approved: &[bool],
) {
    for (i, rec) in recs.iter().enumerate() {
        let v = api
            .get(admin, &format!("/flows/instances?object=deal&record={rec}"))
            .await;
        let list = v["instances"].as_array().unwrap();
        assert!(
            list.len() <= 1,
            "record {i} has {} instances: {v}",
            list.len()
        );
        if started[i] {
            assert_eq!(list.len(), 1, "acknowledged start of record {i} lost: {v}");
        }
        if approved[i] {
            let st = &list[0]["status"];
            assert!(
                st != "running" && st != "incident"
                    || open_task(api, admin, list[0]["id"].as_str().unwrap())
                        .await
                        .is_none(),
                "acknowledged approval of record {i} lost: {v}"
            );
        }
    }
}

/// Finish what was not acknowledged (start where no instance exists, approve open tasks);
/// then every record ends counted exactly once.
async fn finish(api: &Api, admin: &str, approver: &str, recs: &[String]) {
    for rec in recs.iter() {
        let v = api
            .get(admin, &format!("/flows/instances?object=deal&record={rec}"))
            .await;
        let inst = match v["instances"].as_array().unwrap().first() {
            Some(x) => x["id"].as_str().unwrap().to_owned(),
            None => {
                let (s, x) = api
                    .post(
                        admin,
                        "/flows/instances",
                        json!({"flow": "approve_once", "record": rec}),
                    )
                    .await
                    .unwrap();
                assert_eq!(s, 201, "{x}");
                x["id"].as_str().unwrap().to_owned()
            }
        };
        if let Some(t) = open_task(api, admin, &inst).await {
            let (s, x) = api
                .post(
                    approver,
                    &format!("/flows/tasks/{t}/actions"),
                    json!({"action": "approve"}),
                )
                .await
                .unwrap();
            assert_eq!(s, 200, "{x}");
        }
    }
    // Every record ends counted exactly once.
    let deadline = Instant::now() + Duration::from_secs(120);
    for (i, rec) in recs.iter().enumerate() {
        loop {
            let d = api.get(admin, &format!("/data/deal/{rec}")).await;
            let v = api
                .get(admin, &format!("/flows/instances?object=deal&record={rec}"))
                .await;
            let list = v["instances"].as_array().unwrap();
            assert_eq!(list.len(), 1, "record {i}: {v}");
            let done = list[0]["status"] != "running" && list[0]["status"] != "incident";
            if done {
                assert_eq!(d["qty"], 1, "record {i} counted {} times: {d}", d["qty"]);
                assert_eq!(d["version"], 2, "one update of record {i}: {d}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "record {i} never completed: {v} {d}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_1000_steps_sqlite() {
    case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_1000_steps_postgres() {
    case(Backend::Postgres).await;
}
