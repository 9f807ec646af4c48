//! Workflows across a crash and across processes, against the real `weft` binary:
//! - instances wait on a timer, the binary is killed (`kill -9`) before the timers are due and
//!   stays down past them; after the restart every missed timer fires once, the action after
//!   it updates its record exactly once, and every instance completes (SQLite, PostgreSQL);
//! - three `weft serve` processes on one PostgreSQL database, all running their timer and
//!   outbox workers: each timer fires once and each record update happens once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, TestDb};

mod support;
use support::{free_port, start, tenant};

const INSTANCES: usize = 30;

/// Calls one server's API with the tenant's key.
struct Api {
    c: reqwest::Client,
    key: String,
}

impl Api {
    async fn call(
        &self,
        port: u16,
        method: reqwest::Method,
        path: &str,
        body: Json,
    ) -> (u16, Json) {
        let r = self
            .c
            .request(method, format!("http://127.0.0.1:{port}/api/v1{path}"))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Json::Null))
    }
    async fn post(&self, port: u16, path: &str, body: Json) -> (u16, Json) {
        self.call(port, reqwest::Method::POST, path, body).await
    }
    async fn get(&self, port: u16, path: &str) -> Json {
        let (s, v) = self
            .call(port, reqwest::Method::GET, path, json!(null))
            .await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }
}

/// The `deal` object and a published flow that waits `wait` and then marks its record.
async fn setup(api: &Api, port: u16, wait: &str) {
    let (s, _) = api
        .post(port, "/meta/objects", weft_testkit::simple_object("deal"))
        .await;
    assert_eq!(s, 201);
    let flow = json!({
      "schema": "crm.workflow/1", "key": "cooling_off", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "wait", "kind": "wait", "until": {"kind": "duration", "duration": wait}},
        {"id": "mark", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"b\""}}},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "wait"},
        {"id": "e2", "from": "wait", "to": "mark"},
        {"id": "e3", "from": "mark", "to": "end"}
      ]
    });
    assert_eq!(api.post(port, "/meta/flows", flow).await.0, 201);
    let (s, v) = api
        .post(port, "/meta/flows/cooling_off/publish", json!({}))
        .await;
    assert_eq!(s, 201, "{v}");
}

/// `INSTANCES` deals, each with a running instance, created round robin over `ports`.
async fn start_instances(api: &Api, ports: &[u16]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..INSTANCES {
        let port = ports[i % ports.len()];
        let (s, d) = api
            .post(
                port,
                "/data/deal",
                json!({"name": format!("d{i}"), "stage": "a"}),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        let deal = d["id"].as_str().unwrap().to_owned();
        let (s, inst) = api
            .post(
                port,
                "/flows/instances",
                json!({"flow": "cooling_off", "record": deal}),
            )
            .await;
        assert_eq!(s, 201, "{inst}");
        out.push((deal, inst["id"].as_str().unwrap().to_owned()));
    }
    out
}

/// Every instance completes, then (after giving a second firing every chance to show) each
/// record was updated exactly once and each timeline has one update.
async fn each_fires_once(api: &Api, port: u16, all: &[(String, String)]) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut running = 0;
        for (_, i) in all {
            let v = api.get(port, &format!("/flows/instances/{i}")).await;
            if v["status"] == "running" || v["status"] == "incident" {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{running} of {INSTANCES} instances still waiting"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (d, i) in all {
        let rec = api.get(port, &format!("/data/deal/{d}")).await;
        assert_eq!(rec["stage"], "b", "{rec}");
        assert_eq!(rec["version"], 2, "the action ran exactly once: {rec}");
        let v = api.get(port, &format!("/flows/instances/{i}")).await;
        let updates = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "action.record_updated")
            .count();
        assert_eq!(updates, 1, "one update on the timeline: {v}");
    }
}

async fn killed_and_restarted(b: Backend) {
    let db = TestDb::new(b).await;
    let api = Api {
        c: reqwest::Client::new(),
        key: tenant(&db, "Crash Flows Co."),
    };
    let port = free_port();
    let mut child = start(&db, port).await;
    setup(&api, port, "PT4S").await;
    let all = start_instances(&api, &[port]).await;
    child.kill().unwrap(); // SIGKILL before any timer is due
    child.wait().unwrap();
    // Down past every due time: all timers are missed.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut child = start(&db, port).await;
    each_fires_once(&api, port, &all).await;
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_missed_timers_fire_once_sqlite() {
    killed_and_restarted(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_missed_timers_fire_once_postgres() {
    killed_and_restarted(Backend::Postgres).await;
}

/// Three processes, one PostgreSQL database: instances started on all three, every process's
/// workers claiming the same due timers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_fire_each_timer_once_postgres() {
    let db = TestDb::new(Backend::Postgres).await;
    let api = Api {
        c: reqwest::Client::new(),
        key: tenant(&db, "Three Processes Co."),
    };
    let ports = [free_port(), free_port(), free_port()];
    let mut children = Vec::new();
    for p in ports {
        children.push(start(&db, p).await);
    }
    setup(&api, ports[0], "PT3S").await;
    let all = start_instances(&api, &ports).await;
    each_fires_once(&api, ports[1], &all).await;
    for mut c in children {
        c.kill().unwrap();
        c.wait().unwrap();
    }
}
