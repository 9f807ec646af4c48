//! Exactly-once automation across a crash: `kill -9` the real `weft` binary while writes keep
//! triggering a rule (create a follow-up task + a signed webhook) and the outbox worker is
//! delivering, restart it, and when the outbox has drained every deal has exactly one task
//! (record effects are exactly once), and the receiver has seen every deal's webhook with its
//! stable Idempotency-Key (deliveries are at least once; duplicates carry the same key).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft_testkit::{Backend, TestDb};

mod support;
use support::{free_port, start, weft};

/// A plain HTTP/1.1 receiver on loopback: records each request's Idempotency-Key and answers
/// 200 after a short delay (so deliveries are in flight when the kill comes).
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = l.accept().await else {
                return;
            };
            let g = g.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, len) = loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (p + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let key = head
                    .lines()
                    .find_map(|l| l.strip_prefix("idempotency-key:"))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default();
                tokio::time::sleep(Duration::from_millis(5)).await;
                g.lock().unwrap().push(key);
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (url, got)
}

async fn all(c: &reqwest::Client, base: &str, key: &str, object: &str) -> Vec<Json> {
    let mut out = Vec::new();
    let mut cursor = Json::Null;
    loop {
        let r: Json = c
            .post(format!("{base}/data/{object}/query"))
            .bearer_auth(key)
            .json(&json!({"limit": 200, "cursor": cursor}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(r["records"].as_array().unwrap().iter().cloned());
        cursor = r["next_cursor"].clone();
        if cursor.is_null() {
            return out;
        }
    }
}

async fn case(b: Backend) {
    let db = TestDb::new(b).await;
    let (hook_url, hooks) = receiver().await;
    let out = weft(&db, &["tenant", "create", "--name", "Crash Automation Co."])
        .output()
        .unwrap();
    assert!(out.status.success());
    let t: Json = serde_json::from_slice(&out.stdout).unwrap();
    let key = t["api_key"].as_str().unwrap().to_owned();
    let port = free_port();
    let mut child = start(&db, port).await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let c = reqwest::Client::new();
    let post = |path: &str, body: Json| {
        c.post(format!("{base}{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let r = post("/meta/objects", weft_testkit::simple_object("deal"))
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = post(
        "/meta/objects",
        json!({"api_name": "task", "label": {"en": "Task"}, "fields": [
            {"api_name": "name", "type": "text", "label": {"en": "Name"}},
            {"api_name": "deal", "type": "lookup", "label": {"en": "Deal"}, "target": "deal"}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = post("/meta/rules", json!({
        "api_name": "follow_up", "object": "deal", "kind": "trigger", "on": ["create"],
        "actions": [
            {"type": "create_record", "object": "task", "values": {"name": {"from": "name"}, "deal": {"from": "id"}}},
            {"type": "webhook", "url": hook_url, "secret": "crash-test-secret-0123"}
        ]
    }))
    .await
    .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());

    let mut writers = vec![];
    for w in 0..8 {
        let (c, base, key) = (c.clone(), base.clone(), key.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let r = c
                    .post(format!("{base}/data/deal"))
                    .bearer_auth(&key)
                    .json(&json!({"name": format!("w{w}-{i}")}))
                    .send()
                    .await;
                if !matches!(r, Ok(ref r) if r.status().as_u16() == 201) {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    child.kill().unwrap(); // SIGKILL, with writes and deliveries in flight
    child.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    let before_restart = hooks.lock().unwrap().len();

    let mut child = start(&db, port).await;
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(120);
    let (deals, tasks) = loop {
        let deals = all(&c, &base, &key, "deal").await;
        let tasks = all(&c, &base, &key, "task").await;
        let keys: HashSet<String> = hooks.lock().unwrap().iter().cloned().collect();
        if tasks.len() >= deals.len() && keys.len() >= deals.len() {
            break (deals, tasks);
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain after the restart: {} deals, {} tasks, {} webhook keys",
            deals.len(),
            tasks.len(),
            keys.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!(
        "{b:?}: {} deals, {} webhook deliveries before the restart, drained {:?} after it",
        deals.len(),
        before_restart,
        restarted.elapsed()
    );
    // Let any straggling retries finish, then check.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let tasks_now = all(&c, &base, &key, "task").await;
    assert_eq!(tasks_now.len(), tasks.len(), "no task appears late");
    assert!(
        deals.len() > 20,
        "only {} deals before the kill",
        deals.len()
    );
    let mut per_deal: HashMap<String, usize> = HashMap::new();
    for t in &tasks_now {
        *per_deal
            .entry(t["deal"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    for d in &deals {
        let id = d["id"].as_str().unwrap();
        assert_eq!(
            per_deal.get(id).copied().unwrap_or(0),
            1,
            "deal {id} must have exactly one follow-up task"
        );
    }
    let got = hooks.lock().unwrap().clone();
    let keys: HashSet<&String> = got.iter().collect();
    assert_eq!(
        keys.len(),
        deals.len(),
        "one webhook key per deal (deliveries: {}, before the restart: {before_restart})",
        got.len()
    );
    assert!(keys.iter().all(|k| !k.is_empty()));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_automation_runs_exactly_once_sqlite() {
    case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_automation_runs_exactly_once_postgres() {
    case(Backend::Postgres).await;
}
