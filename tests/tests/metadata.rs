//! Metadata changed at runtime through the API: every field type, options, relabels, deletes
//! that keep data, purges, type changes with a dry run and a tracked job, and the revision log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, Server, TestApp, dual, problems};

fn all_types() -> Json {
    json!({
        "api_name": "kitchen", "label": {"zh": "全字段", "en": "Kitchen sink"}, "name_field": "title",
        "fields": [
            {"api_name": "title", "type": "text", "label": {"en": "Title"}, "required": true, "max_length": 20, "pattern": "^[A-Z]"},
            {"api_name": "body", "type": "long_text", "label": {"en": "Body"}},
            {"api_name": "html", "type": "rich_text", "label": {"en": "HTML"}},
            {"api_name": "count", "type": "integer", "label": {"en": "Count"}, "min": 0, "max": 10},
            {"api_name": "price", "type": "decimal", "label": {"en": "Price"}, "precision": 8, "scale": 3},
            {"api_name": "money", "type": "currency", "label": {"en": "Money"}},
            {"api_name": "pct", "type": "percent", "label": {"en": "Pct"}},
            {"api_name": "flag", "type": "boolean", "label": {"en": "Flag"}, "default": true},
            {"api_name": "day", "type": "date", "label": {"en": "Day"}, "default": "$today"},
            {"api_name": "at", "type": "datetime", "label": {"en": "At"}},
            {"api_name": "clock", "type": "time", "label": {"en": "Clock"}},
            {"api_name": "one", "type": "single_select", "label": {"en": "One"}, "options": [{"value": "a", "color": "#1677ff"}, {"value": "b", "color": "red"}]},
            {"api_name": "many", "type": "multi_select", "label": {"en": "Many"}, "options": [{"value": "x"}, {"value": "y"}], "max_selected": 2},
            {"api_name": "mail", "type": "email", "label": {"en": "Mail"}, "unique": true},
            {"api_name": "tel", "type": "phone", "label": {"en": "Tel"}, "cn_mobile": true},
            {"api_name": "site", "type": "url", "label": {"en": "Site"}},
            {"api_name": "addr", "type": "address", "label": {"en": "Address"}},
            {"api_name": "parent", "type": "lookup", "label": {"en": "Parent"}, "target": "kitchen", "on_delete": "set_null"},
            {"api_name": "peers", "type": "multi_lookup", "label": {"en": "Peers"}, "target": "kitchen"},
            {"api_name": "who", "type": "user", "label": {"en": "Who"}, "default": "$me"},
            {"api_name": "dept", "type": "department", "label": {"en": "Dept"}},
            {"api_name": "no", "type": "auto_number", "label": {"en": "No"}, "pattern": "K-{YYYY}-{000}"},
            {"api_name": "files", "type": "attachment", "label": {"en": "Files"}, "max_files": 2, "accept": ["text/*"]},
            {"api_name": "extra", "type": "json", "label": {"en": "Extra"}}
        ]
    })
}

async fn every_field_type(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    let r = s.post("/api/v1/meta/objects", all_types()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let up = s
        .raw(
            "POST",
            "/api/v1/files?name=note.txt",
            b"hello".to_vec(),
            &[("content-type", "text/plain")],
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let file_id = up.body["id"].as_str().unwrap().to_owned();
    let rec = s
        .create("kitchen", json!({
            "title": "Hello", "body": "long\ntext", "html": "<p>hi</p>", "count": 3, "price": 1.125,
            "money": {"amount": "99.90", "currency": "USD"}, "pct": "12.34", "at": "2026-03-01T10:00:00+08:00",
            "clock": "09:30", "one": "a", "many": ["y", "x"], "mail": "a@b.cn", "tel": "+86 138-0013-8000",
            "site": "https://weft.dev", "addr": {"province": "北京市", "city": "北京市", "detail": "中关村"},
            "files": [file_id], "extra": {"k": [1, 2, {"z": null}]}
        }))
        .await;
    assert_eq!(rec["price"], "1.125");
    assert_eq!(rec["money"], json!({"amount": "99.90", "currency": "USD"}));
    assert_eq!(rec["pct"], "12.34");
    assert_eq!(rec["flag"], true, "default applied");
    assert!(rec["day"].as_str().unwrap().len() == 10, "$today default");
    assert_eq!(rec["at"], "2026-03-01T02:00:00Z", "stored in UTC");
    assert_eq!(rec["clock"], "09:30:00");
    assert_eq!(rec["many"], json!(["y", "x"]));
    assert_eq!(
        rec["who"],
        app.tenant.admin_user_id.to_string(),
        "$me default"
    );
    assert!(
        rec["no"].as_str().unwrap().starts_with("K-20"),
        "{}",
        rec["no"]
    );
    assert_eq!(rec["files"][0]["name"], "note.txt");
    assert_eq!(rec["files"][0]["size"], 5);
    assert_eq!(rec["extra"], json!({"k": [1, 2, {"z": null}]}));
    let id = rec["id"].as_str().unwrap();
    let child = s
        .create(
            "kitchen",
            json!({"title": "Child", "parent": id, "peers": [id]}),
        )
        .await;
    assert_eq!(child["peers"], json!([id]));
    let got = s.get(&format!("/api/v1/data/kitchen/{id}")).await;
    assert_eq!(got.body["addr"]["province"], "北京市");
    let dl = s
        .client
        .get(format!("{}/api/v1/files/{file_id}", s.base))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        dl.headers()["content-disposition"],
        "attachment; filename*=UTF-8''note.txt"
    );
    assert_eq!(dl.bytes().await.unwrap().as_ref(), b"hello");

    // Everything wrong at once, each at its field with its code.
    let r = s
        .post("/api/v1/data/kitchen", json!({
            "title": "lower", "count": 11, "price": "1.0001", "money": {"amount": "1", "currency": "yuan"},
            "pct": "x", "at": "2026-03-01 10:00", "clock": "25:00", "one": "zz", "many": ["x", "y", "x"],
            "mail": "nope", "tel": "010-1234", "site": "ftp://x", "addr": {"planet": "Mars"}, "parent": "not-a-uuid",
            "peers": ["00000000-0000-0000-0000-000000000000"], "who": "00000000-0000-0000-0000-000000000001",
            "files": ["00000000-0000-0000-0000-000000000002"], "no": "K-1", "id": "x", "version": 3
        }))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let all = problems(&r);
    for want in [
        "/id:pattern",
        "/no:read_only",
        "/version:read_only",
        "/title:pattern",
        "/count:max",
    ] {
        assert!(all.iter().any(|g| g == want), "missing {want} in {all:?}");
    }
    assert_eq!(r.status, 422);
    let got = problems(&r);
    for want in [
        "/addr/planet:unknown_field",
        "/at:format",
        "/clock:format",
        "/count:max",
        "/files/0:not_found",
        "/mail:format",
        "/many:duplicate",
        "/money/currency:pattern",
        "/one:invalid_option",
        "/parent:pattern",
        "/pct:pattern",
        "/peers/0:not_found",
        "/price:scale",
        "/site:format",
        "/tel:format",
        "/title:pattern",
        "/who:not_found",
    ] {
        assert!(got.iter().any(|g| g == want), "missing {want} in {got:?}");
    }
    assert_eq!(
        s.get("/api/v1/data/kitchen?count=true").await.body["total"],
        2,
        "nothing was written"
    );
    // Unique email.
    let r = s
        .post(
            "/api/v1/data/kitchen",
            json!({"title": "Dup", "mail": "a@b.cn"}),
        )
        .await;
    assert_eq!(problems(&r), ["/mail:unique"]);
}

async fn object(s: &Server, name: &str) -> Json {
    s.get(&format!("/api/v1/meta/objects/{name}")).await.body
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn field_lifecycle(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    assert_eq!(
        s.post("/api/v1/meta/objects", weft_testkit::simple_object("deal"))
            .await
            .status,
        201
    );
    s.create("deal", json!({"name": "keep me", "qty": 7, "stage": "b"}))
        .await;
    let v0 = object(&s, "deal").await["version"].as_i64().unwrap();

    // Add a field without a restart; old records read it as null.
    let r = s
        .post(
            "/api/v1/meta/objects/deal/fields",
            json!({"api_name": "region", "type": "text", "label": {"zh": "区域"}, "indexed": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = s
        .create("deal", json!({"name": "new", "region": "华东"}))
        .await;
    assert_eq!(rec["region"], "华东");
    assert_eq!(
        s.get("/api/v1/data/deal?sort=name").await.body["records"][0]["region"],
        Json::Null
    );

    // Relabel, make required, add an option with a colour, retire one.
    let r = s
        .patch("/api/v1/meta/objects/deal/fields/stage", json!({"label": {"zh": "阶段", "en": "Stage"},
            "options": [{"value": "a"}, {"value": "b", "inactive": true}, {"value": "c"}, {"value": "d", "color": "#00aa00"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.post("/api/v1/data/deal", json!({"name": "x", "stage": "b"}))
            .await
            .body["error"]["details"][0]["code"],
        "inactive_option"
    );
    assert_eq!(
        s.create("deal", json!({"name": "y", "stage": "d"})).await["stage"],
        "d"
    );
    // Removing an option in use is refused (mark it inactive instead).
    let r = s
        .patch(
            "/api/v1/meta/objects/deal/fields/stage",
            json!({"options": [{"value": "a"}, {"value": "c"}, {"value": "d"}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        problems(&r).iter().any(|p| p.ends_with("option_in_use")),
        "{:?}",
        problems(&r)
    );
    // The type cannot change through a plain update.
    let r = s
        .patch(
            "/api/v1/meta/objects/deal/fields/qty",
            json!({"type": "text"}),
        )
        .await;
    assert!(problems(&r).iter().any(|p| p == "/type:use_change_type"));

    // Delete a field: hidden, data kept; restore brings it back with its data.
    assert_eq!(
        s.delete("/api/v1/meta/objects/deal/fields/qty")
            .await
            .status,
        200
    );
    let list = s.get("/api/v1/data/deal?sort=name").await;
    assert!(list.body["records"][0].get("qty").is_none());
    assert_eq!(
        problems(
            &s.post("/api/v1/data/deal", json!({"name": "z", "qty": 1}))
                .await
        ),
        ["/qty:unknown_field"]
    );
    assert_eq!(
        problems(
            &s.post(
                "/api/v1/meta/objects/deal/fields",
                json!({"api_name": "qty", "type": "text", "label": {"en": "again"}})
            )
            .await
        ),
        ["/api_name:duplicate"]
    );
    assert_eq!(
        s.post("/api/v1/meta/objects/deal/fields/qty/restore", json!({}))
            .await
            .status,
        200
    );
    let kept = s.get("/api/v1/data/deal?filter=%7B%22field%22%3A%22name%22%2C%22op%22%3A%22eq%22%2C%22value%22%3A%22keep%20me%22%7D").await;
    assert_eq!(
        kept.body["records"][0]["qty"], 7,
        "data survived delete + restore"
    );

    // Purge drops the data; the name is free again.
    assert_eq!(
        s.delete("/api/v1/meta/objects/deal/fields/qty?purge=true")
            .await
            .status,
        409,
        "delete first"
    );
    s.delete("/api/v1/meta/objects/deal/fields/qty").await;
    assert_eq!(
        s.delete("/api/v1/meta/objects/deal/fields/qty?purge=true")
            .await
            .status,
        200
    );
    let r = s
        .post(
            "/api/v1/meta/objects/deal/fields",
            json!({"api_name": "qty", "type": "text", "label": {"en": "Qty text"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        s.get("/api/v1/data/deal?sort=name").await.body["records"][0]["qty"],
        Json::Null
    );

    // Every change is versioned and in the revision log, newest first.
    let v1 = object(&s, "deal").await["version"].as_i64().unwrap();
    assert!(v1 >= v0 + 7, "{v0} -> {v1}");
    let h = s.get("/api/v1/meta/objects/deal/history").await;
    let actions: Vec<&str> = h.body["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "add_field",
            "purge_field",
            "delete_field",
            "restore_field",
            "delete_field",
            "update_field",
            "add_field",
            "create_object"
        ]
    );
    assert!(h.body["revisions"][0]["actor"].is_string());

    // The object itself: relabel, bad patch, delete refused while it has records.
    assert_eq!(
        s.patch(
            "/api/v1/meta/objects/deal",
            json!({"label": {"zh": "交易"}})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        s.patch("/api/v1/meta/objects/deal", json!({"api_name": "x"}))
            .await
            .status,
        422
    );
    assert_eq!(s.delete("/api/v1/meta/objects/deal").await.status, 409);
    assert_eq!(
        s.delete("/api/v1/meta/objects/deal?force=true")
            .await
            .status,
        204
    );
    assert_eq!(s.get("/api/v1/data/deal").await.status, 404);
}

async fn wait_job(s: &Server, app: &TestApp, job: &str) -> Json {
    for _ in 0..200 {
        app.rt.jobs().run_jobs_once("test-worker").await.unwrap();
        let j = s.get(&format!("/api/v1/jobs/{job}")).await;
        if matches!(j.body["status"].as_str(), Some("done") | Some("failed")) {
            return j.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("job did not finish");
}

async fn change_type(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    assert_eq!(
        s.post("/api/v1/meta/objects", weft_testkit::simple_object("deal"))
            .await
            .status,
        201
    );
    let mut recs = vec![];
    for v in ["12", "3.50", "oops", "", "1,200"] {
        recs.push(json!({"name": format!("n{v}"), "stage": "a"}));
        let _ = v;
    }
    // A text field with numbers in it, and one value that is not a number.
    s.post(
        "/api/v1/meta/objects/deal/fields",
        json!({"api_name": "size", "type": "text", "label": {"en": "Size"}}),
    )
    .await;
    for v in ["12", "3.50", "oops", "1,200"] {
        s.create("deal", json!({"name": format!("r{v}"), "size": v}))
            .await;
    }
    s.create("deal", json!({"name": "empty"})).await;
    let to_decimal = json!({"type": "decimal", "precision": 10, "scale": 2});
    let dry = s
        .post(
            "/api/v1/meta/objects/deal/fields/size/change-type?dry_run=true",
            to_decimal.clone(),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.body["values"], 4);
    assert_eq!(dry.body["not_convertible"], 1);
    assert_eq!(dry.body["samples"][0]["value"], "oops");
    assert_eq!(
        object(&s, "deal").await["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["api_name"] == "size")
            .unwrap()["type"],
        "text",
        "dry run changes nothing"
    );

    // Strict mode fails and unlocks the field.
    let job = s
        .post(
            "/api/v1/meta/objects/deal/fields/size/change-type",
            to_decimal.clone(),
        )
        .await;
    let jid = job.body["job"].as_str().unwrap().to_owned();
    // While the job is queued the field is locked.
    let r = s
        .post("/api/v1/data/deal", json!({"name": "during", "size": "1"}))
        .await;
    assert_eq!(problems(&r), ["/size:field_locked"]);
    let done = wait_job(&s, &app, &jid).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        s.post("/api/v1/data/deal", json!({"name": "after", "size": "2"}))
            .await
            .status
            == 201
    );

    // Null mode converts what it can.
    let job = s
        .post(
            "/api/v1/meta/objects/deal/fields/size/change-type?on_invalid=null",
            to_decimal,
        )
        .await;
    let done = wait_job(&s, &app, job.body["job"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["progress"]["failed"], 1);
    let rows = s
        .get("/api/v1/data/deal?sort=name&fields=name,size&limit=200")
        .await;
    let got: Vec<(String, Json)> = rows.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), r["size"].clone()))
        .collect();
    assert!(got.contains(&("r12".into(), json!("12.00"))), "{got:?}");
    assert!(
        got.contains(&("r1,200".into(), json!("1200.00"))),
        "{got:?}"
    );
    assert!(got.contains(&("roops".into(), Json::Null)), "{got:?}");
    // The new type filters and sorts numerically.
    let q = s
        .post(
            "/api/v1/data/deal/query",
            json!({"filter": {"field": "size", "op": "gt", "value": 5}, "sort": ["size"]}),
        )
        .await;
    let names: Vec<&str> = q.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["r12", "r1,200"]);
    let def = object(&s, "deal").await;
    let size = def["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["api_name"] == "size")
        .unwrap()
        .clone();
    assert_eq!(size["type"], "decimal");
    assert!(size.get("locked_by_job").is_none());
    // References cannot change type.
    let r = s
        .post(
            "/api/v1/meta/objects/deal/fields/stage/change-type",
            json!({"type": "lookup", "target": "deal"}),
        )
        .await;
    assert_eq!(r.status, 422);
}

async fn bad_definitions(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    let r = s
        .post("/api/v1/meta/objects", json!({
            "api_name": "bad", "label": {},
            "fields": [
                {"api_name": "a", "type": "text", "label": {"en": "A"}, "pattern": "(unclosed"},
                {"api_name": "a", "type": "integer", "label": {"en": "dup"}, "min": 5, "max": 1},
                {"api_name": "s", "type": "single_select", "label": {"en": "S"}, "options": []},
                {"api_name": "d", "type": "decimal", "label": {"en": "D"}, "precision": 40, "scale": 2},
                {"api_name": "l", "type": "lookup", "label": {"en": "L"}, "target": "ghost", "required": true},
                {"api_name": "n", "type": "auto_number", "label": {"en": "N"}, "pattern": "NO-COUNTER"},
                {"api_name": "j", "type": "json", "label": {"en": "J"}, "unique": true}
            ]
        }))
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        problems(&r),
        vec![
            "/fields/0/pattern:invalid_pattern",
            "/fields/1/api_name:duplicate",
            "/fields/1/min:range",
            "/fields/2/options:required",
            "/fields/3/precision:range",
            "/fields/4/on_delete:conflict",
            "/fields/4/target:unknown_object",
            "/fields/5/pattern:invalid_pattern",
            "/fields/6/unique:not_indexable",
            "/label:required",
        ]
    );
    for (body, want) in [
        (json!({"api_name": "Bad Name", "label": {"en": "x"}}), 422),
        (
            json!({"api_name": "x", "label": {"en": "x"}, "fields": [{"api_name": "id", "type": "text", "label": {"en": "id"}}]}),
            422,
        ),
        (
            json!({"api_name": "x", "label": {"en": "x"}, "fields": [{"api_name": "f", "type": "hologram"}]}),
            422,
        ),
        (json!("just a string"), 422),
    ] {
        let r = s.post("/api/v1/meta/objects", body.clone()).await;
        assert_eq!(r.status, want, "{body}: {}", r.body);
        assert!(
            r.body["error"]["details"][0]["path"].is_string(),
            "{}",
            r.body
        );
    }
    // Unknown keys are reported, every one at its path, instead of being dropped.
    let r = s
        .post("/api/v1/meta/objects", json!({
            "api_name": "typo", "label": {"en": "Typo", "fr": "Coquille"}, "colour": "red",
            "fields": [
                {"api_name": "amount", "type": "decimal", "label": {"en": "A"}, "requried": true},
                {"api_name": "stage", "type": "single_select", "label": {"en": "S"},
                 "options": [{"value": "won", "colour": "green"}]},
                {"api_name": "notes", "type": "text", "label": {"en": "N"}, "max_files": 3}
            ]
        }))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problems(&r),
        vec![
            "/colour:unknown_key",
            "/fields/0/requried:unknown_key",
            "/fields/1/options/0/colour:unknown_key",
            "/fields/2/max_files:unknown_key",
            "/label/fr:unknown_key",
        ]
    );
    assert_eq!(
        s.get("/api/v1/meta/objects").await.body["objects"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "nothing was created"
    );
    // The same for a field added or changed later; a definition read back is accepted.
    let created = s
        .post("/api/v1/meta/objects", weft_testkit::simple_object("deal"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let r = s
        .post(
            "/api/v1/meta/objects/deal/fields",
            json!({"api_name": "x", "type": "integer", "label": {"en": "X"}, "max_length": 3}),
        )
        .await;
    assert_eq!(problems(&r), ["/max_length:unknown_key"]);
    let r = s
        .patch(
            "/api/v1/meta/objects/deal/fields/name",
            json!({"requried": true}),
        )
        .await;
    assert_eq!(problems(&r), ["/requried:unknown_key"]);
    let def = s.get("/api/v1/meta/objects/deal").await.body;
    let mut copy = def.clone();
    copy["api_name"] = json!("deal_copy");
    let r = s.post("/api/v1/meta/objects", copy).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The copy got its own ids; the original is untouched.
    assert_ne!(r.body["id"], def["id"]);
    assert_ne!(r.body["fields"][0]["id"], def["fields"][0]["id"]);
    assert_eq!(
        s.get("/api/v1/meta/objects/deal").await.body["api_name"],
        "deal"
    );
}

/// The form layout: sections with columns, saved with the object, checked at every path,
/// and kept true when a field is deleted; a non-admin cannot change it.
async fn form_layout(b: Backend) {
    let app = TestApp::new(b).await;
    let s = app.serve().await;
    let mut def = weft_testkit::simple_object("deal");
    def["layout"] = json!({"sections": [
        {"key": "main", "label": {"zh": "基本信息", "en": "Basics"}, "columns": 2, "fields": ["name", "stage"]},
        {"key": "money", "label": {"en": "Money"}, "columns": 3, "fields": ["amount", "qty"]}
    ]});
    let r = s.post("/api/v1/meta/objects", def).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["layout"]["sections"][1]["fields"],
        json!(["amount", "qty"])
    );
    // Everything wrong is reported at once, each at its path, and nothing changes.
    let r = s
        .patch(
            "/api/v1/meta/objects/deal",
            json!({"layout": {"sections": [
                {"key": "main", "columns": 9, "fields": ["name", "ghost", "name"]},
                {"key": "main", "fields": [], "width": 3}
            ]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems(&r), vec!["/layout/sections/1/width:unknown_key"]);
    let r = s
        .patch(
            "/api/v1/meta/objects/deal",
            json!({"layout": {"sections": [
                {"key": "main", "columns": 9, "fields": ["name", "ghost", "name"]},
                {"key": "main", "fields": []}
            ]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problems(&r),
        vec![
            "/layout/sections/0/columns:range",
            "/layout/sections/0/fields/1:unknown_field",
            "/layout/sections/0/fields/2:duplicate",
            "/layout/sections/1/key:duplicate",
        ]
    );
    let cur = s.get("/api/v1/meta/objects/deal").await.body;
    assert_eq!(cur["layout"]["sections"][1]["columns"], 3, "unchanged");
    // A valid change is a new version.
    let v = cur["version"].as_i64().unwrap();
    let r = s
        .patch(
            "/api/v1/meta/objects/deal",
            json!({"layout": {"sections": [
                {"key": "all", "columns": 1, "collapsed": true, "fields": ["qty", "name", "due"]}
            ]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"].as_i64().unwrap(), v + 1);
    assert_eq!(r.body["layout"]["sections"][0]["collapsed"], true);
    // Deleting a field takes it off the layout, so the layout never names a missing field.
    let r = s.delete("/api/v1/meta/objects/deal/fields/qty").await;
    assert!(r.status < 300, "{}", r.body);
    let cur = s.get("/api/v1/meta/objects/deal").await.body;
    assert_eq!(
        cur["layout"]["sections"][0]["fields"],
        json!(["name", "due"])
    );
    // The definition read back is accepted again as is (the designer sends it back).
    let r = s
        .patch(
            "/api/v1/meta/objects/deal",
            json!({"layout": cur["layout"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Display conditions are list filters of the object, checked at their paths.
    let r = s
        .patch(
            "/api/v1/meta/objects/deal",
            json!({"layout": {
                "sections": [{"key": "all", "fields": ["name", "due"],
                              "visible_when": {"field": "amount", "op": "gt", "value": "lots"}}],
                "visible_when": {"due": {"field": "ghost", "op": "eq", "value": 1}}
            }}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let ps = problems(&r);
    assert!(
        ps.iter()
            .any(|p| p.starts_with("/layout/sections/0/visible_when")),
        "{ps:?}"
    );
    assert!(
        ps.iter().any(|p| p.starts_with("/layout/visible_when/due")),
        "{ps:?}"
    );
    let r = s
        .patch(
            "/api/v1/meta/objects/deal",
            json!({"layout": {
                "sections": [{"key": "all", "fields": ["name", "due"]}],
                "visible_when": {"due": {"field": "stage", "op": "in", "value": ["a", "b"]}}
            }}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["layout"]["visible_when"]["due"]["op"], "in");
    // `null` removes the layout: every live field shows in one section.
    let r = s
        .patch("/api/v1/meta/objects/deal", json!({"layout": null}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("layout").is_none(), "{}", r.body);
}

dual!(
    every_field_type,
    field_lifecycle,
    change_type,
    bad_definitions,
    form_layout
);
