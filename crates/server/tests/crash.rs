//! Durability: `kill -9` the real `weft` binary in the middle of concurrent writes, restart it,
//! and every write it acknowledged (2xx) is there — on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, TestDb};

mod support;
use support::{free_port, start, weft};

async fn case(b: Backend) {
    let db = TestDb::new(b).await;
    let out = weft(&db, &["tenant", "create", "--name", "Crash Co."])
        .output()
        .unwrap();
    assert!(out.status.success());
    let t: Json = serde_json::from_slice(&out.stdout).unwrap();
    let key = t["api_key"].as_str().unwrap().to_owned();
    let port = free_port();
    let mut child = start(&db, port).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{base}/meta/objects"))
        .bearer_auth(&key)
        .json(&weft_testkit::simple_object("deal"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // 16 writers until the kill; each remembers what was acknowledged.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let mut tasks = vec![];
    for w in 0..16 {
        let (c, base, key, acked) = (c.clone(), base.clone(), key.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("w{w}-{i}");
                match c
                    .post(format!("{base}/data/deal"))
                    .bearer_auth(&key)
                    .json(&json!({"name": name, "qty": i}))
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() == 201 => {
                        if let Ok(j) = r.json::<Json>().await {
                            acked
                                .lock()
                                .unwrap()
                                .push((j["id"].as_str().unwrap().to_owned(), name));
                        }
                    }
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 20,
        "only {} writes acknowledged before the kill",
        acked.len()
    );
    let mut child = start(&db, port).await;
    for chunk in acked.chunks(200) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let r = c.post(format!("{base}/data/deal/query")).bearer_auth(&key)
            .json(&json!({"filter": {"field": "id", "op": "in", "value": ids}, "limit": 200, "fields": ["name"]}))
            .send().await.unwrap();
        let got: Json = r.json().await.unwrap();
        let found: std::collections::HashMap<String, String> = got["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for (id, name) in chunk {
            assert_eq!(
                found.get(id),
                Some(name),
                "acknowledged write {id} lost after kill -9"
            );
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write_sqlite() {
    case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_write_postgres() {
    case(Backend::Postgres).await;
}
