//! Operators' `/metrics` and the admins' usage report, over real HTTP on both backends:
//! requests counted under their route pattern (never the raw path) with method and status,
//! duration histograms, the automation backlog per tenant read at scrape time, the pools; who
//! may scrape (loopback, or the configured token; a proxied request is not loopback); and
//! `/api/v1/tenant/usage` matching what was created, for admins only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use weft_outbound::{Channels, OutboundConfig};
use weft_testkit::{Backend, Server, TestApp, dual, simple_object};

const TOKEN: &str = "scrape-s3cret-token";

/// A scrape: status, content type, body.
async fn scrape(srv: &Server, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut rb = srv.client.get(format!("{}/metrics", srv.base));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, ct, resp.text().await.unwrap())
}

/// The value of the sample `name` whose labels include all of `want`.
fn sample(text: &str, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let has_all = want.iter().all(|(k, v)| {
            labels
                .split("\",")
                .any(|p| p.trim_end_matches('"') == format!("{k}=\"{v}"))
        });
        (n == name && has_all).then(|| value.parse().ok())?
    })
}

/// The `route` label values of the request counter.
fn routes(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("weft_http_requests_total{"))
        .filter_map(|l| {
            let i = l.find("route=\"")? + 7;
            let rest = &l[i..];
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

async fn setup(b: Backend) -> (TestApp, Server) {
    let app = TestApp::new(b).await;
    let srv = app
        .serve_cfg(weft_api::HttpConfig {
            metrics_token: Some(TOKEN.into()),
            ..weft_api::HttpConfig::default()
        })
        .await;
    let r = srv
        .post("/api/v1/meta/objects", simple_object("deal"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (app, srv)
}

/// A trigger that queues a run (never drained here) on every create.
async fn notify_rule(srv: &Server) {
    let r = srv
        .post(
            "/api/v1/meta/rules",
            json!({"api_name": "note", "object": "deal", "kind": "trigger", "on": ["create"],
                   "actions": [{"type": "notify", "owner": true, "title": "New", "body": "new"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn scrape_counts_routes_and_backlog(b: Backend) {
    let (app, srv) = setup(b).await;
    notify_rule(&srv).await;
    let a = srv.create("deal", json!({"name": "A"})).await;
    srv.create("deal", json!({"name": "B"})).await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        srv.get(&format!("/api/v1/data/deal/{id}")).await.status,
        200
    );
    let missing = uuid::Uuid::now_v7();
    assert_eq!(
        srv.get(&format!("/api/v1/data/deal/{missing}"))
            .await
            .status,
        404
    );
    assert_eq!(srv.get("/api/v1/no-such-route").await.status, 404);

    let (status, ct, text) = scrape(&srv, &[]).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(ct, "text/plain; version=0.0.4");
    let post = [
        ("route", "/api/v1/data/{object}"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert_eq!(
        sample(&text, "weft_http_requests_total", &post),
        Some(2.0),
        "{text}"
    );
    let get = [("route", "/api/v1/data/{object}/{id}"), ("method", "GET")];
    let ok = [get[0], get[1], ("status", "200")];
    let nf = [get[0], get[1], ("status", "404")];
    assert_eq!(
        sample(&text, "weft_http_requests_total", &ok),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "weft_http_requests_total", &nf),
        Some(1.0),
        "{text}"
    );
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(
        sample(&text, "weft_http_requests_total", &unmatched),
        Some(1.0),
        "{text}"
    );
    // Patterns only: no record id, no object name, no raw path in any route label.
    let labels = routes(&text);
    assert!(!labels.is_empty());
    for r in &labels {
        assert!(r == "unmatched" || r.starts_with('/'), "{r}");
        assert!(!r.contains(id) && !r.contains(&missing.to_string()), "{r}");
        assert!(!r.contains("/deal") && !r.contains("no-such-route"), "{r}");
    }
    assert!(!text.contains(id), "a record id leaked into the metrics");

    // The histogram: buckets, +Inf and count agree with the counter.
    let h = [("route", "/api/v1/data/{object}"), ("method", "POST")];
    let le = |b: &'static str| [h[0], h[1], ("le", b)];
    assert!(
        sample(
            &text,
            "weft_http_request_duration_seconds_bucket",
            &le("0.005")
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "weft_http_request_duration_seconds_bucket",
            &le("+Inf")
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "weft_http_request_duration_seconds_count", &h),
        Some(2.0)
    );
    assert!(sample(&text, "weft_http_request_duration_seconds_sum", &h).unwrap() > 0.0);

    // The backlog of this tenant: the two queued runs, read from the store now.
    let tenant = app.tenant.tenant_id.0.to_string();
    let t = [("tenant", tenant.as_str())];
    assert_eq!(
        sample(&text, "weft_outbox_pending", &t),
        Some(2.0),
        "{text}"
    );
    let age = sample(&text, "weft_outbox_oldest_age_seconds", &t).unwrap();
    assert!((0.0..600.0).contains(&age), "{age}");
    assert_eq!(sample(&text, "weft_store_up", &[]), Some(1.0));
    let pool = if b == Backend::Postgres {
        "app"
    } else {
        "writer"
    };
    for state in ["idle", "in_use"] {
        let p = [("pool", pool), ("state", state)];
        assert!(
            sample(&text, "weft_db_pool_connections", &p).is_some(),
            "{text}"
        );
    }

    // Another tenant's run shows under its own label; the first tenant's count is unchanged.
    let other = app.other_tenant("Other Co.").await;
    let os = srv.with_key(&other.api_key);
    let r = os.post("/api/v1/meta/objects", simple_object("deal")).await;
    assert_eq!(r.status, 201, "{}", r.body);
    notify_rule(&os).await;
    os.create("deal", json!({"name": "Theirs"})).await;
    let (_, _, text) = scrape(&srv, &[]).await;
    let o = other.tenant_id.0.to_string();
    assert_eq!(
        sample(&text, "weft_outbox_pending", &[("tenant", o.as_str())]),
        Some(1.0)
    );
    assert_eq!(sample(&text, "weft_outbox_pending", &t), Some(2.0));
    // The earlier scrape is counted too, under its own route.
    let m = [("route", "/metrics"), ("method", "GET"), ("status", "200")];
    assert!(sample(&text, "weft_http_requests_total", &m).unwrap() >= 1.0);
}

async fn only_operators_may_scrape(b: Backend) {
    let (app, srv) = setup(b).await;
    // Loopback still works with a token configured, with or without presenting it.
    assert_eq!(scrape(&srv, &[]).await.0, 200);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(scrape(&srv, &[("authorization", &bearer)]).await.0, 200);
    // Through a proxy the caller is not loopback: 404 without the token, or with a wrong one
    // (a tenant's API key is not it either); the token lets it in.
    let fwd = ("x-forwarded-for", "203.0.113.9");
    let (status, _, body) = scrape(&srv, &[fwd]).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("weft_"), "{body}");
    assert_eq!(
        scrape(&srv, &[fwd, ("authorization", "Bearer wrong")])
            .await
            .0,
        404
    );
    let key = format!("Bearer {}", app.tenant.api_key);
    assert_eq!(scrape(&srv, &[fwd, ("authorization", &key)]).await.0, 404);
    assert_eq!(
        scrape(&srv, &[("forwarded", "for=203.0.113.9")]).await.0,
        404
    );
    let (status, _, text) = scrape(&srv, &[fwd, ("authorization", &bearer)]).await;
    assert_eq!(status, 200);
    assert!(text.contains("weft_http_requests_total"), "{text}");

    // Without a configured token, only loopback: no bearer opens it.
    let plain = app.serve().await;
    assert_eq!(scrape(&plain, &[]).await.0, 200);
    assert_eq!(
        scrape(&plain, &[fwd, ("authorization", &bearer)]).await.0,
        404
    );
    assert_eq!(
        scrape(&plain, &[fwd, ("authorization", "Bearer ")]).await.0,
        404
    );
}

async fn usage_for_admins(b: Backend) {
    let (app, srv) = setup(b).await;
    // One run that fails for good: a webhook to loopback, refused by the SSRF guard.
    let r = srv
        .post(
            "/api/v1/meta/rules",
            json!({"api_name": "hook", "object": "deal", "kind": "trigger", "on": ["create"],
                   "max_attempts": 1,
                   "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s3cret-s3cret-s3cret"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    srv.create("deal", json!({"name": "A"})).await;
    weft_testkit::drain_outbox(&app.rt, &Channels::new(OutboundConfig::default())).await;
    assert_eq!(srv.delete("/api/v1/meta/rules/hook").await.status, 204);
    // Two runs left waiting.
    notify_rule(&srv).await;
    srv.create("deal", json!({"name": "B"})).await;
    let c = srv.create("deal", json!({"name": "C"})).await;
    let r = srv
        .delete(&format!("/api/v1/data/deal/{}", c["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bytes = vec![7u8; 1234];
    let r = srv
        .raw(
            "POST",
            "/api/v1/files?name=a.bin",
            bytes,
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let r = srv.get("/api/v1/tenant/usage").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let u = &r.body;
    assert_eq!(
        u["objects"],
        json!([{"object": "deal", "records": 2, "deleted": 1}]),
        "{u}"
    );
    assert_eq!(u["attachments"]["files"], 1, "{u}");
    assert_eq!(u["attachments"]["bytes"], 1234, "{u}");
    assert!(u["attachments"]["quota"].as_u64().unwrap() > 0, "{u}");
    assert_eq!(
        u["automation_runs"],
        json!({"pending": 2, "failed_last_24h": 1}),
        "{u}"
    );
    assert!(u["at"].is_string(), "{u}");

    // Another tenant's figures are its own.
    let other = app.other_tenant("Other Co.").await;
    let r = srv
        .with_key(&other.api_key)
        .get("/api/v1/tenant/usage")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["objects"], json!([]));
    assert_eq!(
        r.body["automation_runs"],
        json!({"pending": 0, "failed_last_24h": 0})
    );

    // A user who is not an admin: 403 admin_only, in either language.
    let user = srv
        .post(
            "/api/v1/org/users",
            json!({"name": "Uma", "email": "uma@usage.test"}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.body);
    let k = srv
        .post(
            "/api/v1/auth/api-keys",
            json!({"name": "uma", "user_id": user.body["id"]}),
        )
        .await;
    assert_eq!(k.status, 201, "{}", k.body);
    let uma = srv.with_key(k.body["key"].as_str().unwrap());
    let r = uma.get("/api/v1/tenant/usage").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "admin_only", "{}", r.body);
    let r = uma
        .send(
            "GET",
            "/api/v1/tenant/usage",
            None,
            &[("accept-language", "zh-CN")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("管理员"),
        "{}",
        r.body
    );
}

dual!(
    scrape_counts_routes_and_backlog,
    only_operators_may_scrape,
    usage_for_admins
);
