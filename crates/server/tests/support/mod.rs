//! Running the real `weft` binary in tests: a free port, the command with a test database,
//! and start-up that waits for `/healthz`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use weft_testkit::{Backend, TestDb};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `weft <args>` on the test database. Webhooks may reach loopback receivers, and work claimed
/// by a killed process is taken over 3 s after the claim (`WEFT_LEASE_SECS`).
pub fn weft(db: &TestDb, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weft"));
    c.args(args)
        .arg("--data-dir")
        .arg(db.dir.path())
        .env("WEFT_LOG", "warn")
        .env("WEFT_WEBHOOK_ALLOW_LOOPBACK", "true")
        .env("WEFT_LEASE_SECS", "3")
        .env_remove("WEFT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if db.backend == Backend::Postgres {
        c.arg("--database-url").arg(&db.url);
    }
    c
}

/// `weft serve` on `port`, once it answers.
pub async fn start(db: &TestDb, port: u16) -> Child {
    let mut child = weft(db, &["serve", "--port", &port.to_string()])
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("weft did not start");
}

/// A tenant created with `weft tenant create`: its admin API key.
pub fn tenant(db: &TestDb, name: &str) -> String {
    let out = weft(db, &["tenant", "create", "--name", name])
        .output()
        .unwrap();
    assert!(out.status.success());
    // The JSON document; a log line (a warning under load) may come before it.
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text.find('{').map(|i| &text[i..]).unwrap_or(&text);
    let t: serde_json::Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("weft tenant create printed no JSON ({e}): {text}"));
    t["api_key"].as_str().unwrap().to_owned()
}
