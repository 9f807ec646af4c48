//! Workflows across a crash: instances wait on a timer, the real `weft` binary is killed
//! (`kill -9`) before the timers are due and stays down past them; after the restart every
//! missed timer fires once, the action after it updates its record exactly once, and every
//! instance completes — on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, TestDb};

mod support;
use support::{free_port, start, tenant};

const INSTANCES: usize = 30;

async fn case(b: Backend) {
    let db = TestDb::new(b).await;
    let key = tenant(&db, "Crash Flows Co.");
    let port = free_port();
    let mut child = start(&db, port).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let c = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Json| {
        c.request(method, format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let post = reqwest::Method::POST;
    let r = call(
        post.clone(),
        "/meta/objects".into(),
        weft_testkit::simple_object("deal"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let flow = json!({
      "schema": "crm.workflow/1", "key": "cooling_off", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "wait", "kind": "wait", "until": {"kind": "duration", "duration": "PT4S"}},
        {"id": "mark", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"b\""}}},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "wait"},
        {"id": "e2", "from": "wait", "to": "mark"},
        {"id": "e3", "from": "mark", "to": "end"}
      ]
    });
    let r = call(post.clone(), "/meta/flows".into(), flow)
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = call(
        post.clone(),
        "/meta/flows/cooling_off/publish".into(),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let mut deals = Vec::new();
    let mut instances = Vec::new();
    for i in 0..INSTANCES {
        let d: Json = call(
            post.clone(),
            "/data/deal".into(),
            json!({"name": format!("d{i}"), "stage": "a"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let id = d["id"].as_str().unwrap().to_owned();
        let inst = call(
            post.clone(),
            "/flows/instances".into(),
            json!({"flow": "cooling_off", "record": id}),
        )
        .await
        .unwrap();
        assert_eq!(inst.status(), 201);
        let inst: Json = inst.json().await.unwrap();
        instances.push(inst["id"].as_str().unwrap().to_owned());
        deals.push(id);
    }
    child.kill().unwrap(); // SIGKILL before any timer is due
    child.wait().unwrap();
    // Down past every due time: all timers are missed.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut child = start(&db, port).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut running = 0;
        for i in &instances {
            let v: Json = call(
                reqwest::Method::GET,
                format!("/flows/instances/{i}"),
                json!(null),
            )
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            if v["status"] == "running" || v["status"] == "incident" {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{running} of {INSTANCES} instances still waiting after the restart"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Give a second firing every chance to show, then check each record was updated once.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (d, i) in deals.iter().zip(&instances) {
        let rec: Json = call(reqwest::Method::GET, format!("/data/deal/{d}"), json!(null))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(rec["stage"], "b", "{rec}");
        assert_eq!(rec["version"], 2, "the action ran exactly once: {rec}");
        let v: Json = call(
            reqwest::Method::GET,
            format!("/flows/instances/{i}"),
            json!(null),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let updates = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "action.record_updated")
            .count();
        assert_eq!(updates, 1, "one update on the timeline: {v}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_missed_timers_fire_once_sqlite() {
    case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_missed_timers_fire_once_postgres() {
    case(Backend::Postgres).await;
}
