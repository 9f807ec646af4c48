//! Request ids over real HTTP: every response carries `X-Request-Id`, every error body its
//! `request_id`, a sane incoming id is echoed and a hostile one replaced, and a 5xx is logged
//! with the id (the log is captured by this binary's own subscriber).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use sea_orm::ConnectionTrait;
use serde_json::{Value as Json, json};
use weft_testkit::{Backend, Server, TestApp, dual, simple_object};

/// Every log line of this test binary, as written by the fmt subscriber.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber before the test kit installs its own (which then finds one
/// in place and stays out). Warnings and errors only, as a production filter might be.
fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init();
    });
}

fn log_lines_with(needle: &str) -> Vec<String> {
    let logs = LOGS.lock().unwrap_or_else(|p| p.into_inner());
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// A raw request, so the test sees the response headers.
async fn call(srv: &Server, method: &str, path: &str, id: Option<&str>) -> (u16, String, Json) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = srv
        .client
        .request(m, format!("{}{path}", srv.base))
        .header("authorization", format!("Bearer {}", srv.key));
    if let Some(id) = id {
        rb = rb.header("x-request-id", id);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let header = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    let body = serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or(Json::Null);
    (status, header, body)
}

async fn ids_on_responses_and_error_bodies(b: Backend) {
    capture_logs();
    let app = TestApp::new(b).await;
    let srv = app.serve().await;

    // A success without an incoming id: a new one, in the header.
    let (status, id, _) = call(&srv, "GET", "/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    let (_, other, _) = call(&srv, "GET", "/api/v1/me", None).await;
    assert!(!other.is_empty() && other != id, "ids are per request");

    // A sane incoming id is echoed, in the header and the error body.
    let (status, id, body) =
        call(&srv, "GET", "/api/v1/data/nothing", Some("client-42.a_b:c")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(id, "client-42.a_b:c");
    assert_eq!(body["error"]["request_id"], "client-42.a_b:c", "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    // Errors raised outside the runtime carry it too: an unknown route, no credential.
    let (status, id, body) = call(&srv, "GET", "/api/v1/no/such/route", Some("r-1")).await;
    assert_eq!((status, id.as_str()), (404, "r-1"));
    assert_eq!(body["error"]["request_id"], "r-1", "{body}");
    let anonymous = srv.with_key("wft_not_a_key");
    let (status, id, body) = call(&anonymous, "GET", "/api/v1/me", Some("r-2")).await;
    assert_eq!((status, id.as_str()), (401, "r-2"));
    assert_eq!(body["error"]["request_id"], "r-2", "{body}");

    // Hostile ids are replaced by new ones: too long, spaces, quotes and braces.
    let long = "a".repeat(65);
    for hostile in [long.as_str(), "two words", "x\"}{\"y", "<script>"] {
        let (status, id, body) = call(&srv, "GET", "/api/v1/data/nothing", Some(hostile)).await;
        assert_eq!(status, 404);
        assert_ne!(id, hostile);
        assert_eq!(id.len(), 32, "{id}");
        assert_eq!(body["error"]["request_id"], id.as_str(), "{body}");
    }
}

/// The record table disappears under the runtime: the list fails in the store, the client gets
/// a 500 without internal text but with its id, and the log has the cause with the same id.
async fn server_errors_are_logged_with_the_id(b: Backend) {
    capture_logs();
    let app = TestApp::new(b).await;
    let srv = app.serve().await;
    let r = srv
        .post("/api/v1/meta/objects", simple_object("gadget"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    srv.create("gadget", json!({"name": "one"})).await;

    let db = app.store.connection();
    let find = match b {
        Backend::Sqlite => {
            "SELECT '\"' || name || '\"' AS t FROM sqlite_master \
             WHERE type = 'table' AND name LIKE 't%\\_\\_gadget' ESCAPE '\\'"
        }
        Backend::Postgres => {
            "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS t \
             FROM pg_tables WHERE tablename = 'gadget'"
        }
    };
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            find,
        ))
        .await
        .unwrap()
        .expect("the record table");
    let table: String = row.try_get_by_index(0).unwrap();
    db.execute_unprepared(&format!("DROP TABLE {table}"))
        .await
        .unwrap();

    let id = format!("boom-{}", uuid::Uuid::now_v7().simple());
    let (status, echoed, body) = call(&srv, "GET", "/api/v1/data/gadget", Some(&id)).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(echoed, id);
    assert_eq!(body["error"]["code"], "internal");
    assert_eq!(body["error"]["request_id"], id.as_str());
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.contains("gadget"), "no internal text: {message}");

    let lines = log_lines_with(&id);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("request failed")),
        "the cause is logged with the request id: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("gadget")),
        "the logged cause names the table: {lines:#?}"
    );
}

dual!(
    ids_on_responses_and_error_bodies,
    server_errors_are_logged_with_the_id
);
