//! Saved list views over HTTP on both backends: create, list, apply, rename, share, default,
//! delete; validation with field paths (unknown object, unknown or hidden fields, names);
//! who may see and change which view; tenant isolation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use serde_json::{Value as Json, json};
use weft_testkit::{Backend, Server, TestApp, crm_app, dual, problems};

/// The CRM app and one API key per demo user (keyed by the e-mail's local part).
async fn crm_with_users(b: Backend) -> (TestApp, Server, HashMap<String, Server>) {
    let app = TestApp::new(b).await;
    app.rt
        .apps()
        .install_app(&app.admin(), &crm_app())
        .await
        .unwrap();
    let s = app.serve().await;
    let users = s.get("/api/v1/org/users").await.body["users"]
        .as_array()
        .unwrap()
        .clone();
    let mut keys = HashMap::new();
    for u in &users {
        let email = u["email"].as_str().unwrap_or("").to_owned();
        let short = email.split('@').next().unwrap().to_owned();
        let k = s
            .post(
                "/api/v1/auth/api-keys",
                json!({"name": format!("key {short}"), "user_id": u["id"]}),
            )
            .await;
        assert_eq!(k.status, 201, "{}", k.body);
        keys.insert(short, s.with_key(k.body["key"].as_str().unwrap()));
    }
    (app, s, keys)
}

fn ids(list: &Json) -> Vec<String> {
    list["views"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn total(s: &Server, object: &str, query: Json) -> i64 {
    let mut q = query;
    q["count"] = json!(true);
    let r = s.post(&format!("/api/v1/data/{object}/query"), q).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["total"].as_i64().unwrap()
}

async fn create_apply_change_delete(b: Backend) {
    let (_app, s, keys) = crm_with_users(b).await;
    let dir = &keys["director"];
    let def = json!({
        "filter": {"field": "stage", "op": "eq", "value": "won"},
        "sort": ["-amount", {"field": "name", "dir": "asc"}],
        "columns": ["name", "amount", "stage", "created_at"],
        "page_size": 50
    });
    let r = dir
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "  赢单 by amount ", "definition": def}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v = r.body.clone();
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(v["name"], "赢单 by amount", "the name is trimmed");
    assert_eq!(v["shared"], false);
    assert_eq!(v["mine"], true);
    assert_eq!(v["editable"], true);
    assert_eq!(v["version"], 1);
    assert_eq!(v["definition"]["sort"], json!(["-amount", "name"]));
    assert_eq!(v["definition"]["mode"], "list");
    assert_eq!(v["definition"]["page_size"], 50);

    // The stored definition is a query: applying it gives what the same filter gives.
    let direct = total(
        dir,
        "opportunity",
        json!({"filter": {"field": "stage", "op": "eq", "value": "won"}}),
    )
    .await;
    let all = total(dir, "opportunity", json!({})).await;
    assert!(direct > 0 && direct < all, "won {direct} of {all}");
    let got = dir.get(&format!("/api/v1/views/{id}")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let d = &got.body["definition"];
    let applied = total(
        dir,
        "opportunity",
        json!({"filter": d["filter"], "sort": d["sort"], "fields": d["columns"], "limit": d["page_size"]}),
    )
    .await;
    assert_eq!(applied, direct);

    // Listed for its object (and for all objects), not for another object.
    let l = dir.get("/api/v1/views?object=opportunity").await;
    assert_eq!(l.status, 200, "{}", l.body);
    assert_eq!(ids(&l.body), [id.as_str()]);
    assert_eq!(l.body["default_view"], Json::Null);
    assert_eq!(ids(&dir.get("/api/v1/views").await.body), [id.as_str()]);
    assert!(
        ids(&dir.get("/api/v1/views?object=account").await.body).is_empty(),
        "views are per object"
    );

    // Rename, change the definition, make it the default; a stale version is refused.
    let p = dir
        .patch(
            &format!("/api/v1/views/{id}"),
            json!({"name": "Won deals", "version": 1, "default": true,
                   "definition": {"filter": {"field": "stage", "op": "ne", "value": "won"}, "mode": "kanban", "group_field": "stage"}}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(p.body["name"], "Won deals");
    assert_eq!(p.body["version"], 2);
    assert_eq!(p.body["default"], true);
    assert_eq!(p.body["definition"]["mode"], "kanban");
    assert_eq!(p.body["definition"]["group_field"], "stage");
    assert_eq!(p.body["definition"]["columns"], json!([]));
    let stale = dir
        .patch(
            &format!("/api/v1/views/{id}"),
            json!({"name": "Older", "version": 1}),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(stale.body["error"]["code"], "stale_view");
    assert_eq!(
        dir.get(&format!("/api/v1/views/{id}")).await.body["name"],
        "Won deals",
        "a refused change changes nothing"
    );
    let l = dir.get("/api/v1/views?object=opportunity").await;
    assert_eq!(l.body["default_view"], json!(id));
    // Clearing the default leaves the view.
    let p = dir
        .patch(&format!("/api/v1/views/{id}"), json!({"default": false}))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(
        p.body["version"], 2,
        "the default is the user's, not the view's"
    );
    assert_eq!(
        dir.get("/api/v1/views?object=opportunity").await.body["default_view"],
        Json::Null
    );

    // Delete: gone, and so is the default pointing at it.
    dir.patch(&format!("/api/v1/views/{id}"), json!({"default": true}))
        .await;
    assert_eq!(dir.delete(&format!("/api/v1/views/{id}")).await.status, 204);
    assert_eq!(dir.get(&format!("/api/v1/views/{id}")).await.status, 404);
    assert_eq!(dir.delete(&format!("/api/v1/views/{id}")).await.status, 404);
    let l = dir.get("/api/v1/views?object=opportunity").await;
    assert!(ids(&l.body).is_empty());
    assert_eq!(l.body["default_view"], Json::Null);

    // A field deleted after the view was saved drops out of it (the rest still applies).
    let r = dir
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "By source",
                   "definition": {"filter": {"and": [{"field": "source", "op": "is_null", "value": false},
                                                     {"field": "stage", "op": "eq", "value": "won"}]},
                                  "sort": ["source"], "columns": ["name", "source"]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["restricted"], false);
    let vid = r.body["id"].as_str().unwrap().to_owned();
    let del = s
        .delete("/api/v1/meta/objects/opportunity/fields/source")
        .await;
    assert_eq!(del.status, 200, "{}", del.body);
    let v = dir.get(&format!("/api/v1/views/{vid}")).await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.body["restricted"], true);
    assert_eq!(
        v.body["definition"]["filter"],
        json!({"and": [{"field": "stage", "op": "eq", "value": "won"}]})
    );
    assert_eq!(v.body["definition"]["sort"], json!([]));
    assert_eq!(v.body["definition"]["columns"], json!(["name"]));
    let d = &v.body["definition"];
    assert_eq!(
        total(
            dir,
            "opportunity",
            json!({"filter": d["filter"], "sort": d["sort"], "fields": d["columns"]})
        )
        .await,
        direct
    );
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn validation_with_paths(b: Backend) {
    let (_app, s, keys) = crm_with_users(b).await;
    let zhang = &keys["zhang"];
    // Every problem at once, each at its path; nothing is stored.
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "x".repeat(81), "color": "red",
            "definition": {
                "filter": {"and": [{"field": "nope", "op": "eq", "value": 1},
                                   {"field": "amount", "op": "gt", "value": "many"}]},
                "sort": ["ghost", "competitors"],
                "columns": ["name", "missing", "name"],
                "page_size": 0,
                "mode": "gallery",
                "layout": {}
            }}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problems(&r),
        [
            "/color:unknown_key",
            "/definition/columns/1:unknown_field",
            "/definition/columns/2:duplicate",
            "/definition/filter/and/0/field:unknown_field",
            "/definition/filter/and/1/value:type",
            "/definition/layout:unknown_key",
            "/definition/mode:invalid",
            "/definition/page_size:range",
            "/definition/sort/0:unknown_field",
            "/definition/sort/1:not_sortable",
            "/name:max_length",
        ]
    );
    assert!(
        ids(&zhang.get("/api/v1/views").await.body).is_empty(),
        "nothing stored"
    );
    // Unknown object; missing name and object.
    let r = zhang
        .post("/api/v1/views", json!({"object": "spaceship", "name": "a"}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems(&r), ["/object:unknown_object"]);
    let r = zhang.post("/api/v1/views", json!({"name": "  "})).await;
    assert_eq!(problems(&r), ["/name:required", "/object:required"]);
    let r = zhang
        .post("/api/v1/views", json!(["not", "an object"]))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = zhang.get("/api/v1/views?object=spaceship").await;
    assert_eq!(problems(&r), ["/object:unknown_object"]);
    // A kanban groups by a single select; a calendar by a date.
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "k",
                   "definition": {"mode": "kanban", "group_field": "name"}}),
        )
        .await;
    assert_eq!(
        problems(&r),
        ["/definition/group_field:invalid_group_field"]
    );
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "c",
                   "definition": {"mode": "calendar", "group_field": "close_date"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Names are unique (case-insensitively) among the views a user sees.
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "My deals"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mine = r.body["id"].as_str().unwrap().to_owned();
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": " my DEALS"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(problems(&r), ["/name:duplicate"]);
    // Another user may use the same name for their own view; the same name on another object
    // is fine too.
    let liu = &keys["liu"];
    let r = liu
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "My deals"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "account", "name": "My deals"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // A shared view clashing with a name the admin sees is refused; renaming onto a taken
    // name too.
    let r = s
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "Team", "shared": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "team", "shared": true}),
        )
        .await;
    assert_eq!(problems(&r), ["/name:duplicate"]);
    let r = zhang
        .patch(&format!("/api/v1/views/{mine}"), json!({"name": "TEAM"}))
        .await;
    assert_eq!(problems(&r), ["/name:duplicate"]);
    let r = zhang
        .patch(
            &format!("/api/v1/views/{mine}"),
            json!({"object": "account", "definition": {"sort": ["nope"]}}),
        )
        .await;
    assert_eq!(
        problems(&r),
        ["/definition/sort/0:unknown_field", "/object:immutable"]
    );
    assert_eq!(
        zhang.get(&format!("/api/v1/views/{mine}")).await.body["version"],
        1,
        "refused changes change nothing"
    );

    // Hidden fields are unknown to the user they are hidden from: finance cannot filter,
    // sort, show or group by next_step.
    let zhao = &keys["zhao"];
    let r = zhao
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "peek",
                   "definition": {"filter": {"field": "next_step", "op": "contains", "value": "x"},
                                  "sort": ["-next_step"], "columns": ["name", "next_step"]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problems(&r),
        [
            "/definition/columns/1:unknown_field",
            "/definition/filter/field:unknown_field",
            "/definition/sort/0:unknown_field",
        ]
    );

    // A user owns at most 200 views per object.
    let owned = zhang.get("/api/v1/views?object=opportunity").await.body["views"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["mine"] == true)
        .count();
    for i in owned..200 {
        let r = zhang
            .post(
                "/api/v1/views",
                json!({"object": "opportunity", "name": format!("v{i}")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "one too many"}),
        )
        .await;
    assert_eq!(problems(&r), ["/object:max_views"]);
}

#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn who_sees_and_changes_what(b: Backend) {
    let (app, s, keys) = crm_with_users(b).await;
    let zhang = &keys["zhang"];
    let li = &keys["li"];
    let zhao = &keys["zhao"];
    let personal = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "Mine only",
                   "definition": {"filter": {"field": "stage", "op": "eq", "value": "won"}}}),
        )
        .await;
    assert_eq!(personal.status, 201, "{}", personal.body);
    let pid = personal.body["id"].as_str().unwrap().to_owned();

    // Another user's personal view does not exist for anyone else, the admin included.
    for other in [li, zhao, &s] {
        assert!(!ids(&other.get("/api/v1/views?object=opportunity").await.body).contains(&pid));
        assert_eq!(other.get(&format!("/api/v1/views/{pid}")).await.status, 404);
        assert_eq!(
            other
                .patch(
                    &format!("/api/v1/views/{pid}"),
                    json!({"name": "taken over"})
                )
                .await
                .status,
            404
        );
        assert_eq!(
            other
                .patch(&format!("/api/v1/views/{pid}"), json!({"default": true}))
                .await
                .status,
            404
        );
        assert_eq!(
            other.delete(&format!("/api/v1/views/{pid}")).await.status,
            404
        );
    }
    assert_eq!(
        zhang.get(&format!("/api/v1/views/{pid}")).await.body["name"],
        "Mine only"
    );

    // Only admins share: a rep may neither create a shared view nor share their own.
    let r = zhang
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "For all", "shared": true}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = zhang
        .patch(&format!("/api/v1/views/{pid}"), json!({"shared": true}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // The admin's shared view: everyone who reads opportunities sees it; only admins change it;
    // anyone may make it their default.
    let shared = s
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "Pipeline", "shared": true,
                   "definition": {"filter": {"and": [
                                      {"field": "stage", "op": "ne", "value": "lost"},
                                      {"field": "next_step", "op": "is_null", "value": false}]},
                                  "sort": ["next_step", "-amount"],
                                  "columns": ["name", "next_step", "amount"]}}),
        )
        .await;
    assert_eq!(shared.status, 201, "{}", shared.body);
    let sid = shared.body["id"].as_str().unwrap().to_owned();
    for u in ["zhang", "li", "zhao", "director"] {
        let l = keys[u].get("/api/v1/views?object=opportunity").await;
        assert!(ids(&l.body).contains(&sid), "{u} sees the shared view");
    }
    let as_rep = zhang.get(&format!("/api/v1/views/{sid}")).await;
    assert_eq!(as_rep.body["editable"], false);
    assert_eq!(as_rep.body["mine"], false);
    assert_eq!(as_rep.body["restricted"], false);
    let r = zhang
        .patch(&format!("/api/v1/views/{sid}"), json!({"name": "Mine now"}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        zhang.delete(&format!("/api/v1/views/{sid}")).await.status,
        403
    );
    let r = zhang
        .patch(&format!("/api/v1/views/{sid}"), json!({"default": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["default"], true);
    assert_eq!(r.body["version"], 1);
    assert_eq!(
        zhang.get("/api/v1/views?object=opportunity").await.body["default_view"],
        json!(sid)
    );
    assert_eq!(
        li.get("/api/v1/views?object=opportunity").await.body["default_view"],
        Json::Null,
        "defaults are per user"
    );

    // Finance, who may not see next_step, gets the view without it (and is told so).
    let as_fin = zhao.get(&format!("/api/v1/views/{sid}")).await;
    assert_eq!(as_fin.status, 200, "{}", as_fin.body);
    assert_eq!(as_fin.body["restricted"], true);
    assert!(
        !as_fin.body.to_string().contains("next_step"),
        "{}",
        as_fin.body
    );
    assert_eq!(
        as_fin.body["definition"]["filter"],
        json!({"and": [{"field": "stage", "op": "ne", "value": "lost"}]})
    );
    assert_eq!(as_fin.body["definition"]["sort"], json!(["-amount"]));
    assert_eq!(
        as_fin.body["definition"]["columns"],
        json!(["name", "amount"])
    );

    // Without read access to an object there are no views of it.
    let r = zhao.get("/api/v1/views?object=contact").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = zhao
        .post("/api/v1/views", json!({"object": "contact", "name": "c"}))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // The admin changes and unshares the shared view; the rep's default on it goes with the
    // view when it is deleted.
    let r = s
        .patch(
            &format!("/api/v1/views/{sid}"),
            json!({"name": "Open pipeline"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(s.delete(&format!("/api/v1/views/{sid}")).await.status, 204);
    assert_eq!(
        zhang.get("/api/v1/views?object=opportunity").await.body["default_view"],
        Json::Null
    );
    assert_eq!(zhang.get(&format!("/api/v1/views/{sid}")).await.status, 404);

    // Ids that are not ids are not found.
    assert_eq!(zhang.get("/api/v1/views/not-a-uuid").await.status, 404);

    // Another tenant's views do not exist here, whatever the id.
    let other = app.other_tenant("Tenant B").await;
    app.rt
        .apps()
        .install_app(&TestApp::principal_of(&other), &crm_app())
        .await
        .unwrap();
    let t = s.with_key(&other.api_key);
    let bv = t
        .post(
            "/api/v1/views",
            json!({"object": "opportunity", "name": "B shared", "shared": true}),
        )
        .await;
    assert_eq!(bv.status, 201, "{}", bv.body);
    let bid = bv.body["id"].as_str().unwrap().to_owned();
    for u in [&s, zhang] {
        assert!(!ids(&u.get("/api/v1/views").await.body).contains(&bid));
        assert_eq!(u.get(&format!("/api/v1/views/{bid}")).await.status, 404);
        assert_eq!(
            u.patch(&format!("/api/v1/views/{bid}"), json!({"name": "stolen"}))
                .await
                .status,
            404
        );
        assert_eq!(u.delete(&format!("/api/v1/views/{bid}")).await.status, 404);
    }
    // And B cannot reach A's.
    assert_eq!(t.get(&format!("/api/v1/views/{pid}")).await.status, 404);
    assert_eq!(
        t.get(&format!("/api/v1/views/{bid}")).await.body["name"],
        "B shared",
        "unchanged"
    );
}

dual!(
    create_apply_change_delete,
    validation_with_paths,
    who_sees_and_changes_what
);
