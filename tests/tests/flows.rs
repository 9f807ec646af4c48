//! Approval flows end to end over HTTP on SQLite and PostgreSQL: definitions (validate every
//! problem at once, publish immutable versions), the inboxes, 会签 with veto, 或签, 依次,
//! conditional branch by amount, parallel branches and join, return to an earlier node,
//! transfer, add signer, withdraw, CC, the record lock, record actions through the write
//! path, racing 会签 approvals (one transaction per command, retried inside), leased timers
//! and tenant isolation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/receivers.rs"]
mod receivers;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use receivers::HookReceiver;
use serde_json::{Value as Json, json};
use weft_outbound::{Channels, OutboundConfig};
use weft_runtime::automation::sign_webhook;
use weft_runtime::clock::ManualClock;
use weft_testkit::{Backend, Server, TestApp, dual, problems};

struct World {
    app: TestApp,
    s: Server,
    /// name → (user id, API client)
    users: HashMap<&'static str, (String, Server)>,
}

impl World {
    fn id(&self, u: &str) -> String {
        self.users[u].0.clone()
    }
    fn as_(&self, u: &str) -> &Server {
        &self.users[u].1
    }
}

const USERS: &[(&str, &[&str])] = &[
    ("ini", &["member"]),
    ("mgr", &["member"]),
    ("a", &["member", "legal"]),
    ("b", &["member", "legal"]),
    ("c", &["member", "legal"]),
    ("f1", &["member", "finance"]),
    ("f2", &["member", "finance"]),
    ("d", &["member"]),
    ("x", &["member"]),
];

async fn world_with(app: TestApp) -> World {
    let s = app.serve().await;
    let mut obj = weft_testkit::simple_object("deal");
    obj["fields"].as_array_mut().unwrap().push(
        json!({"api_name": "discount", "type": "decimal", "label": {"en": "Discount"}, "precision": 5, "scale": 2}),
    );
    let r = s.post("/api/v1/meta/objects", obj).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let perms = json!({"objects": {"deal": {"create": true, "read": true, "update": true, "scope": "all"}}});
    for key in ["member", "legal", "finance"] {
        let r = s
            .post(
                "/api/v1/org/roles",
                json!({"key": key, "label": {"en": key}, "permissions": perms}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let dept = s
        .post("/api/v1/org/departments", json!({"name": "Sales"}))
        .await;
    assert_eq!(dept.status, 201, "{}", dept.body);
    let dept_id = dept.body["id"].as_str().unwrap().to_string();
    let mut users = HashMap::new();
    for (name, roles) in USERS {
        let r = s
            .post(
                "/api/v1/org/users",
                json!({"name": name, "email": format!("{name}@flows.test"),
                       "departments": [{"id": dept_id, "primary": true}], "roles": roles}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        let k = s
            .post(
                "/api/v1/auth/api-keys",
                json!({"name": name, "user_id": id}),
            )
            .await;
        assert_eq!(k.status, 201, "{}", k.body);
        users.insert(*name, (id, s.with_key(k.body["key"].as_str().unwrap())));
    }
    // mgr leads Sales: the initiator's manager at level 1.
    let r = s
        .patch(
            &format!("/api/v1/org/departments/{dept_id}"),
            json!({"leader_id": users["mgr"].0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    World { app, s, users }
}

async fn world(b: Backend) -> World {
    world_with(TestApp::new(b).await).await
}

/// The workflow.md §3/§5 shape: XOR on amount; big deals go to legal (会签, one reject
/// vetoes) and finance (或签) in parallel, then a join; small deals to the direct manager;
/// approval sets the stage through the record write path; rejection terminates.
fn big_deal_flow() -> Json {
    json!({
      "schema": "crm.workflow/1", "key": "deal_approval", "name": {"zh": "商机审批", "en": "Deal approval"},
      "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "route", "kind": "exclusive", "default": "e_small"},
        {"id": "mgr", "kind": "approval", "assignees": [{"kind": "manager_of", "of": "initiator", "level": 1}],
         "mode": {"kind": "sequential"}, "form": {"editable": ["discount"]}},
        {"id": "fork", "kind": "parallel"},
        {"id": "legal", "kind": "approval", "assignees": [{"kind": "role", "role": "legal"}], "mode": {"kind": "all"}},
        {"id": "fin", "kind": "approval", "assignees": [{"kind": "role", "role": "finance"}], "mode": {"kind": "any"}},
        {"id": "join", "kind": "parallel"},
        {"id": "set_stage", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"c\""}}},
        {"id": "end_ok", "kind": "end", "outcome": "approved"},
        {"id": "end_rej", "kind": "end", "outcome": "rejected", "terminate": true}
      ],
      "edges": [
        {"id": "e0", "from": "start", "to": "route"},
        {"id": "e_big", "from": "route", "to": "fork", "order": 1, "when": {"lang": "rhai", "expr": "record.amount > 500000"}},
        {"id": "e_small", "from": "route", "to": "mgr"},
        {"id": "m1", "from": "mgr", "to": "set_stage", "on": "approved"},
        {"id": "m2", "from": "mgr", "to": "end_rej", "on": "rejected"},
        {"id": "f1", "from": "fork", "to": "legal"}, {"id": "f2", "from": "fork", "to": "fin"},
        {"id": "j1", "from": "legal", "to": "join", "on": "approved"},
        {"id": "j2", "from": "fin", "to": "join", "on": "approved"},
        {"id": "r1", "from": "legal", "to": "end_rej", "on": "rejected"},
        {"id": "r2", "from": "fin", "to": "end_rej", "on": "rejected"},
        {"id": "e6", "from": "join", "to": "set_stage"},
        {"id": "e7", "from": "set_stage", "to": "end_ok"}
      ]
    })
}

/// 依次 a → b → c with 退回, 转交 and 加签 allowed, then CC to d.
fn sequential_flow(w: &World) -> Json {
    json!({
      "schema": "crm.workflow/1", "key": "seq", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "first", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("x")]}]},
        {"id": "chain", "kind": "approval",
         "assignees": [{"kind": "users", "ids": [w.id("a"), w.id("b"), w.id("c")]}],
         "mode": {"kind": "sequential"},
         "ops": {"return_to": ["start", "first"], "transfer": true, "add_signer": ["before", "after", "parallel"]}},
        {"id": "cc_d", "kind": "cc", "recipients": [{"kind": "users", "ids": [w.id("d")]}]},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "first"},
        {"id": "e2", "from": "first", "to": "chain", "on": "approved"},
        {"id": "e3", "from": "chain", "to": "cc_d", "on": "approved"},
        {"id": "e4", "from": "cc_d", "to": "end"}
      ]
    })
}

async fn publish(w: &World, def: Json) {
    let key = def["key"].as_str().unwrap().to_string();
    let r = w.s.post("/api/v1/meta/flows", def).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r =
        w.s.post(&format!("/api/v1/meta/flows/{key}/publish"), json!({}))
            .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

async fn deal(w: &World, amount: i64) -> String {
    let r = w
        .as_("ini")
        .create(
            "deal",
            json!({"name": "Deal", "amount": amount, "stage": "a"}),
        )
        .await;
    r["id"].as_str().unwrap().to_string()
}

async fn start(w: &World, flow: &str, record: &str) -> String {
    let r = w
        .as_("ini")
        .post(
            "/api/v1/flows/instances",
            json!({"flow": flow, "record": record}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// The open task of `user` on instance `inst`.
async fn task_of(w: &World, user: &str, inst: &str) -> Option<String> {
    let r = w.as_(user).get("/api/v1/flows/tasks?box=todo").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instance"] == inst)
        .map(|t| t["id"].as_str().unwrap().to_string())
}

async fn act(w: &World, user: &str, inst: &str, body: Json) -> weft_testkit::Resp {
    let t = task_of(w, user, inst)
        .await
        .unwrap_or_else(|| panic!("{user} has no open task on {inst}"));
    w.as_(user)
        .post(&format!("/api/v1/flows/tasks/{t}/actions"), body)
        .await
}

async fn approve(w: &World, user: &str, inst: &str) {
    let r = act(w, user, inst, json!({"action": "approve", "comment": "ok"})).await;
    assert_eq!(r.status, 200, "{user}: {}", r.body);
}

async fn view(w: &World, inst: &str) -> Json {
    let r = w.s.get(&format!("/api/v1/flows/instances/{inst}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn definitions(b: Backend) {
    let w = world(b).await;
    // Every problem at once, each with a node id and a stable code.
    let mut bad = big_deal_flow();
    bad["key"] = json!("broken");
    bad["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "orphan", "kind": "approval",
        "assignees": [{"kind": "users", "ids": ["not-a-user"]}]}));
    bad["edges"][1]["when"]["expr"] = json!("record.amount >");
    let r = w.s.post("/api/v1/meta/flows", bad).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let v =
        w.s.post("/api/v1/meta/flows/broken/validate", json!({}))
            .await;
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.body["ok"], false);
    let codes: Vec<(String, String)> = v.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_string(),
                p["node"]
                    .as_str()
                    .or(p["edge"].as_str())
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    for want in [
        "node.unreachable",
        "assignee.unknown_user",
        "condition.compile",
    ] {
        assert!(codes.iter().any(|(c, _)| c == want), "{want} in {codes:?}");
    }
    assert!(
        codes
            .iter()
            .any(|(c, n)| c == "node.unreachable" && n == "orphan")
    );
    let p =
        w.s.post("/api/v1/meta/flows/broken/publish", json!({}))
            .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(problems(&p).iter().any(|x| x.starts_with("/nodes/10:")));
    // Publish, change, publish again: versions are immutable and hashed.
    publish(&w, big_deal_flow()).await;
    let mut v2 = big_deal_flow();
    v2["name"] = json!("Deal approval v2");
    let r =
        w.s.send("PUT", "/api/v1/meta/flows/deal_approval", Some(&v2), &[])
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        w.s.post("/api/v1/meta/flows/deal_approval/publish", json!({}))
            .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    let vs = w.s.get("/api/v1/meta/flows/deal_approval/versions").await;
    let vs = vs.body["versions"].as_array().unwrap().clone();
    assert_eq!(vs.len(), 2);
    assert_ne!(vs[0]["hash"], vs[1]["hash"]);
    assert_eq!(vs[0]["definition"]["version"], 1);
    // Bad input: 4xx with a stable code and a path; nothing changes.
    let r =
        w.s.raw(
            "POST",
            "/api/v1/meta/flows",
            b"{nope".to_vec(),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "malformed_json");
    let mut typo = big_deal_flow();
    typo["key"] = json!("typo");
    typo["nodes"][2]["mode"] = json!({"kind": "sometimes"});
    let r = w.s.post("/api/v1/meta/flows", typo).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        problems(&r).iter().any(|x| x.starts_with("/nodes")),
        "{}",
        r.body
    );
    let r = w.s.post("/api/v1/meta/flows", json!({"schema": "crm.workflow/1", "key": "Bad Key!", "object": "deal", "nodes": [], "edges": []})).await;
    assert_eq!(problems(&r), vec!["/key:flow.key_invalid"]);
    let r = w.s.post("/api/v1/meta/flows", big_deal_flow()).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["code"], "flow.exists");
    // Not for regular users.
    let r = w.as_("ini").get("/api/v1/meta/flows").await;
    assert_eq!(r.status, 403);
    // Another tenant sees none of it.
    let other = w.app.other_tenant("Other").await;
    let o = w.s.with_key(&other.api_key);
    assert_eq!(o.get("/api/v1/meta/flows/deal_approval").await.status, 404);
    assert_eq!(o.get("/api/v1/meta/flows").await.body["flows"], json!([]));
    // In use: cannot be deleted; an unused draft can.
    let rec = deal(&w, 100).await;
    start(&w, "deal_approval", &rec).await;
    assert_eq!(
        w.s.delete("/api/v1/meta/flows/deal_approval").await.status,
        409
    );
    assert_eq!(w.s.delete("/api/v1/meta/flows/broken").await.status, 204);
}

/// Big deal: 会签 legal + 或签 finance in parallel, join, record action, lock.
async fn big_deal_parallel(b: Backend) {
    let w = world(b).await;
    publish(&w, big_deal_flow()).await;
    let rec = deal(&w, 600_000).await;
    let inst = start(&w, "deal_approval", &rec).await;
    let v = view(&w, &inst).await;
    let mut pos: Vec<String> = v["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    pos.sort();
    assert_eq!(pos, vec!["fin", "legal"]);
    assert_eq!(v["graph"]["nodes"].as_array().unwrap().len(), 10);
    assert!(task_of(&w, "mgr", &inst).await.is_none());
    // The record is locked while under approval (no node makes `amount` editable).
    let r = w
        .as_("ini")
        .patch(&format!("/api/v1/data/deal/{rec}"), json!({"amount": 1}))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "flow.record_locked");
    // 我发起的 lists it.
    let started = w.as_("ini").get("/api/v1/flows/tasks?box=started").await;
    assert_eq!(started.body["items"][0]["id"], inst.as_str());
    for u in ["a", "b", "c"] {
        approve(&w, u, &inst).await;
    }
    // 或签: the first finance decision settles the node; f2's task is cancelled.
    approve(&w, "f1", &inst).await;
    assert!(task_of(&w, "f2", &inst).await.is_none());
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "approved", "{v}");
    let f2 = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["assignee"] == w.id("f2").as_str())
        .unwrap();
    assert_eq!(f2["status"], "cancelled");
    // The action ran through the record write path (change log) exactly once.
    let rec_now = w.s.get(&format!("/api/v1/data/deal/{rec}")).await;
    assert_eq!(rec_now.body["stage"], "c", "{}", rec_now.body);
    let hist = w.s.get(&format!("/api/v1/data/deal/{rec}/history")).await;
    let flow_writes = hist.body["changes"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["source"] == "flow").count());
    assert_eq!(flow_writes, Some(1), "{}", hist.body);
    assert_eq!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "instance.completed")
            .count(),
        1
    );
    // Unlocked once finished.
    let r = w
        .as_("ini")
        .patch(&format!("/api/v1/data/deal/{rec}"), json!({"amount": 1}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// 会签 veto: one reject rejects the node and terminates; the last task is closed.
async fn countersign_veto(b: Backend) {
    let w = world(b).await;
    publish(&w, big_deal_flow()).await;
    let rec = deal(&w, 900_000).await;
    let inst = start(&w, "deal_approval", &rec).await;
    approve(&w, "a", &inst).await;
    let c_task = task_of(&w, "c", &inst).await.unwrap();
    let r = act(&w, "b", &inst, json!({"action": "reject", "comment": "no"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "rejected");
    let r = w
        .as_("c")
        .post(
            &format!("/api/v1/flows/tasks/{c_task}/actions"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "flow.task_closed");
    assert!(task_of(&w, "f1", &inst).await.is_none());
    // The stage was not set.
    let rec_now = w.s.get(&format!("/api/v1/data/deal/{rec}")).await;
    assert_eq!(rec_now.body["stage"], "a");
}

/// Small deal: the default branch to the initiator's manager; the node's form opens
/// `discount` to the approver only.
async fn small_deal_manager(b: Backend) {
    let w = world(b).await;
    publish(&w, big_deal_flow()).await;
    let rec = deal(&w, 100).await;
    let inst = start(&w, "deal_approval", &rec).await;
    assert_eq!(view(&w, &inst).await["positions"], json!(["mgr"]));
    assert!(task_of(&w, "a", &inst).await.is_none());
    let r = w
        .as_("mgr")
        .patch(
            &format!("/api/v1/data/deal/{rec}"),
            json!({"discount": "5.5"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w
        .as_("ini")
        .patch(
            &format!("/api/v1/data/deal/{rec}"),
            json!({"discount": "9"}),
        )
        .await;
    assert_eq!(r.body["error"]["code"], "flow.record_locked", "{}", r.body);
    // A second instance of the same flow on the record is refused.
    let r = w
        .as_("ini")
        .post(
            "/api/v1/flows/instances",
            json!({"flow": "deal_approval", "record": rec}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["code"], "flow.already_running");
    approve(&w, "mgr", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "approved");
}

/// 依次, 转交, 加签 (before), CC.
async fn sequential_transfer_add_signer_cc(b: Backend) {
    let w = world(b).await;
    publish(&w, sequential_flow(&w)).await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "seq", &rec).await;
    approve(&w, "x", &inst).await;
    // Only the first of the chain has a task.
    assert!(task_of(&w, "a", &inst).await.is_some());
    assert!(task_of(&w, "b", &inst).await.is_none());
    approve(&w, "a", &inst).await;
    // b transfers to d: b loses the task, d holds it.
    let b_task = task_of(&w, "b", &inst).await.unwrap();
    let r = act(
        &w,
        "b",
        &inst,
        json!({"action": "transfer", "to": w.id("d"), "comment": "on leave"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w
        .as_("b")
        .post(
            &format!("/api/v1/flows/tasks/{b_task}/actions"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Transfer to a user of another tenant is refused.
    let other = w.app.other_tenant("Other").await;
    let r = act(
        &w,
        "d",
        &inst,
        json!({"action": "transfer", "to": other.admin_user_id.0}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    approve(&w, "d", &inst).await;
    // c adds x before: x decides first, then c's task reopens.
    let r = act(
        &w,
        "c",
        &inst,
        json!({"action": "add_signer", "position": "before", "users": [w.id("x")]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(task_of(&w, "c", &inst).await.is_none());
    approve(&w, "x", &inst).await;
    approve(&w, "c", &inst).await;
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "approved", "{v}");
    // 抄送我的.
    let cc = w.as_("d").get("/api/v1/flows/tasks?box=cc").await;
    assert_eq!(
        cc.body["items"][0]["instance"],
        inst.as_str(),
        "{}",
        cc.body
    );
    assert!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "cc")
    );
    // Comments and timeline.
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "comment", "text": "谢谢"}),
        )
        .await;
    assert_eq!(
        r.status, 409,
        "finished instances take no more commands: {}",
        r.body
    );
}

/// 退回 to an earlier node, resubmit, 撤回 by the initiator only, 催办.
async fn return_resubmit_withdraw(b: Backend) {
    let w = world(b).await;
    publish(&w, sequential_flow(&w)).await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "seq", &rec).await;
    approve(&w, "x", &inst).await;
    approve(&w, "a", &inst).await;
    // b returns to `first`: x must approve again.
    let r = act(
        &w,
        "b",
        &inst,
        json!({"action": "return", "to_node": "first", "comment": "redo"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(task_of(&w, "b", &inst).await.is_none());
    approve(&w, "x", &inst).await;
    assert!(task_of(&w, "a", &inst).await.is_some());
    // Return to start: the initiator resubmits.
    let r = act(
        &w,
        "a",
        &inst,
        json!({"action": "return", "to_node": "start"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = act(&w, "ini", &inst, json!({"action": "resubmit"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(task_of(&w, "x", &inst).await.is_some());
    // Invalid return target.
    let r = act(
        &w,
        "x",
        &inst,
        json!({"action": "return", "to_node": "chain"}),
    )
    .await;
    assert!(matches!(r.status, 409 | 422), "{}", r.body);
    // 催办 by the initiator; withdraw by someone else is refused; by the initiator works.
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "urge"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w
        .as_("x")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "withdraw"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = w
        .as_("d")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "withdraw"}),
        )
        .await;
    assert_eq!(
        r.status, 404,
        "non-participants do not see the instance: {}",
        r.body
    );
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "withdraw", "comment": "changed my mind"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "withdrawn");
    assert!(task_of(&w, "x", &inst).await.is_none());
    let events: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.len() >= 8, "{events:?}");
    // Bad task bodies: 422 with a path, nothing changes.
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "explode"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}

/// 会签 with five approvers approving at the same instant: every approval succeeds (revision
/// conflicts are retried inside), the node completes once.
async fn racing_countersign(b: Backend) {
    let w = world(b).await;
    let ids: Vec<String> = ["a", "b", "c", "f1", "f2"]
        .iter()
        .map(|u| w.id(u))
        .collect();
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "race", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "all", "kind": "approval", "assignees": [{"kind": "users", "ids": ids}], "mode": {"kind": "all"}},
            {"id": "set_stage", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"b\""}}},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "all"},
            {"id": "e2", "from": "all", "to": "set_stage", "on": "approved"},
            {"id": "e3", "from": "set_stage", "to": "end"}
          ]
        }),
    )
    .await;
    for round in 0..3 {
        let rec = deal(&w, round).await;
        let inst = start(&w, "race", &rec).await;
        let mut tasks = vec![];
        for u in ["a", "b", "c", "f1", "f2"] {
            tasks.push((u, task_of(&w, u, &inst).await.unwrap()));
        }
        let futs = tasks.iter().map(|(u, t)| {
            let s = w.as_(u);
            let path = format!("/api/v1/flows/tasks/{t}/actions");
            async move { s.post(&path, json!({"action": "approve"})).await }
        });
        let results = futures::future::join_all(futs).await;
        for r in &results {
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let v = view(&w, &inst).await;
        assert_eq!(v["status"], "approved", "{v}");
        let h = v["history"].as_array().unwrap();
        assert_eq!(
            h.iter()
                .filter(|e| e["event"] == "instance.completed")
                .count(),
            1
        );
        assert_eq!(
            h.iter()
                .filter(|e| e["event"] == "action.record_updated")
                .count(),
            1
        );
        let seqs: Vec<i64> = h.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert!(seqs.windows(2).all(|p| p[0] < p[1]));
    }
}

/// Timers: an interrupting timeout fires once even with two workers claiming at the same
/// time, after the clock passed it (as after a restart); non-interrupting reminders notify.
async fn timers_fire_once(b: Backend) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let app = TestApp::with_clock(b, clock.clone()).await;
    let w = world_with(app).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "sla", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}],
             "timers": [{"id": "remind", "cycle": "R3/PT24H", "interrupting": false},
                        {"id": "sla", "duration": "P3D", "interrupting": true}]},
            {"id": "escalate", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("d")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "mgr"},
            {"id": "e2", "from": "mgr", "to": "end", "on": "approved"},
            {"id": "e3", "from": "mgr", "to": "escalate", "on": "timer:sla"},
            {"id": "e4", "from": "escalate", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "sla", &rec).await;
    // Nothing is due yet.
    assert_eq!(
        w.app
            .rt
            .workflows()
            .run_flow_timers("w1", 10)
            .await
            .unwrap(),
        0
    );
    // The workers were down for 80 hours: on restart every due timer fires, each once.
    clock.advance(Duration::hours(80));
    for _ in 0..4 {
        let (r1, r2) = tokio::join!(
            w.app.rt.workflows().run_flow_timers("w1", 10),
            w.app.rt.workflows().run_flow_timers("w2", 10)
        );
        r1.unwrap();
        r2.unwrap();
    }
    let v = view(&w, &inst).await;
    assert_eq!(v["positions"], json!(["escalate"]), "{v}");
    assert!(task_of(&w, "mgr", &inst).await.is_none());
    assert!(task_of(&w, "d", &inst).await.is_some());
    let h = v["history"].as_array().unwrap();
    let reminders = h
        .iter()
        .filter(|e| e["event"] == "notify" && e["data"]["kind"] == "reminder")
        .count();
    assert!((1..=3).contains(&reminders), "{reminders} reminders: {h:?}");
    // Nothing left to fire for the cancelled node.
    clock.advance(Duration::hours(200));
    assert_eq!(
        w.app
            .rt
            .workflows()
            .run_flow_timers("w1", 10)
            .await
            .unwrap(),
        0
    );
    approve(&w, "d", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "approved");
}

/// China's 2026 National Day week: 1–8 October off, Sunday 27 September and Saturday
/// 10 October worked (调休).
fn cn_calendar() -> Json {
    json!({"name": "cn", "label": {"zh": "中国工作日", "en": "China workdays"},
           "time_zone": "Asia/Shanghai", "weekend": [6, 7],
           "holidays": ["2026-10-01/2026-10-08"], "workdays": ["2026-09-27", "2026-10-10"]})
}

/// A flow whose approval times out after `P2D` on the flow's default calendar.
fn calendar_flow(w: &World, calendar: &str) -> Json {
    json!({
      "schema": "crm.workflow/1", "key": "cal", "object": "deal",
      "settings": {"calendar": calendar},
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}],
         "timers": [{"id": "sla", "duration": "P2D", "interrupting": true},
                    {"id": "nudge", "duration": "P1D", "calendar": "weekdays", "interrupting": false,
                     "do": {"kind": "notify"}}]},
        {"id": "escalate", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("d")]}]},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "mgr"},
        {"id": "e2", "from": "mgr", "to": "end", "on": "approved"},
        {"id": "e3", "from": "mgr", "to": "escalate", "on": "timer:sla"},
        {"id": "e4", "from": "escalate", "to": "end", "on": "approved"}
      ]
    })
}

/// The calendar admin API: every problem at once with its path, nothing stored; create and
/// replace; admins only; another tenant sees nothing. Returns the other tenant's client.
async fn calendar_admin_api(w: &World) -> weft_testkit::Server {
    // Every problem at once, each at its path; nothing is stored.
    let r =
        w.s.send(
            "PUT",
            "/api/v1/meta/calendars/cn",
            Some(
                &json!({"name": "cn", "time_zone": "Asia/Beijing", "weekend": [6, 6],
                         "holidays": ["2026-10-01", "2026-10-32", "2026-10-01"],
                         "workdays": ["2026-10-10", "2026-10-10"]}),
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problems(&r),
        vec![
            "/holidays/1:calendar.date_invalid",
            "/holidays/2:calendar.duplicate",
            "/time_zone:calendar.time_zone_unknown",
            "/weekend/1:calendar.duplicate",
            "/workdays/1:calendar.duplicate",
        ]
    );
    let r =
        w.s.send(
            "PUT",
            "/api/v1/meta/calendars/cn",
            Some(&json!({"name": "cn", "time_zone": "UTC", "holidays": [20261001]})),
            &[],
        )
        .await;
    assert_eq!(
        problems(&r),
        vec!["/holidays/0:calendar.invalid"],
        "{}",
        r.body
    );
    let r =
        w.s.send(
            "PUT",
            "/api/v1/meta/calendars/other",
            Some(&cn_calendar()),
            &[],
        )
        .await;
    assert_eq!(problems(&r), vec!["/name:calendar.name_mismatch"]);
    assert_eq!(w.s.get("/api/v1/meta/calendars/cn").await.status, 404);
    // Create, then replace.
    let r =
        w.s.send(
            "PUT",
            "/api/v1/meta/calendars/cn",
            Some(&cn_calendar()),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r =
        w.s.send(
            "PUT",
            "/api/v1/meta/calendars/cn",
            Some(&cn_calendar()),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = w.s.get("/api/v1/meta/calendars").await;
    assert_eq!(list.body["calendars"][0]["name"], "cn", "{}", list.body);
    assert_eq!(list.body["builtin"], json!(["weekdays"]));
    assert_eq!(
        w.s.get("/api/v1/meta/calendars/cn").await.body["calendar"]["workdays"],
        json!(["2026-09-27", "2026-10-10"])
    );
    // Admins only; another tenant sees nothing and cannot use the name.
    assert_eq!(w.as_("ini").get("/api/v1/meta/calendars").await.status, 403);
    let r = w
        .as_("ini")
        .send("PUT", "/api/v1/meta/calendars/x", Some(&cn_calendar()), &[])
        .await;
    assert_eq!(r.status, 403);
    let other = w.app.other_tenant("Other").await;
    let o = w.s.with_key(&other.api_key);
    assert_eq!(o.get("/api/v1/meta/calendars/cn").await.status, 404);
    assert_eq!(
        o.get("/api/v1/meta/calendars").await.body["calendars"],
        json!([])
    );
    o
}

/// Business calendars: the admin API (validation with paths, tenant isolation, in-use
/// deletes refused), publish-time checks of calendar names, and a `P2D` timeout on a calendar
/// with a holiday week and a make-up Saturday firing on the right day with the ManualClock.
async fn business_calendars(b: Backend) {
    // Wednesday 30 September 2026, 10:00 in Beijing.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 9, 30, 2, 0, 0).unwrap(),
    ));
    let w = world_with(TestApp::with_clock(b, clock.clone()).await).await;
    let o = calendar_admin_api(&w).await;
    // A flow naming an unknown calendar does not publish; the problem has its path.
    let mut bad = calendar_flow(&w, "cn-workdays");
    bad["key"] = json!("cal_bad");
    let r = w.s.post("/api/v1/meta/flows", bad).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r =
        w.s.post("/api/v1/meta/flows/cal_bad/publish", json!({}))
            .await;
    assert_eq!(problems(&r), vec!["/settings/calendar:calendar.unknown"]);

    publish(&w, calendar_flow(&w, "cn")).await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "cal", &rec).await;
    // P2D on the `cn` calendar from Wednesday 30 September 10:00: 1–8 October are off,
    // Friday 9 and the make-up Saturday 10 October count: due Saturday 10 October 10:00.
    let due = Utc.with_ymd_and_hms(2026, 10, 10, 2, 0, 0).unwrap();
    let v = view(&w, &inst).await;
    let timers = v["timers"].as_array().unwrap();
    let due_of = |spec: &str| {
        timers
            .iter()
            .find(|t| t["spec"] == spec)
            .and_then(|t| t["due"].as_str())
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap())
            .unwrap_or_else(|| panic!("no {spec} timer: {v}"))
    };
    assert_eq!(due_of("sla"), due);
    // The reminder names the built-in Monday–Friday calendar in UTC: Thursday 1 October.
    assert_eq!(
        due_of("nudge"),
        Utc.with_ymd_and_hms(2026, 10, 1, 2, 0, 0).unwrap()
    );
    // The other tenant's flow cannot name this tenant's calendar.
    let r = o
        .post("/api/v1/meta/objects", weft_testkit::simple_object("deal"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut theirs = calendar_flow(&w, "cn");
    theirs["nodes"][1]["assignees"] = json!([{"kind": "initiator"}]);
    theirs["nodes"][2]["assignees"] = json!([{"kind": "initiator"}]);
    assert_eq!(o.post("/api/v1/meta/flows", theirs).await.status, 201);
    let r = o.post("/api/v1/meta/flows/cal/publish", json!({})).await;
    assert_eq!(problems(&r), vec!["/settings/calendar:calendar.unknown"]);
    // In use: the calendar cannot be deleted.
    let r = w.s.delete("/api/v1/meta/calendars/cn").await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "calendar.in_use");

    // The holiday week passes: no timeout on 2 October (where P2D in elapsed time would be)
    // nor on Friday 9 October.
    clock.set(Utc.with_ymd_and_hms(2026, 10, 9, 23, 0, 0).unwrap());
    for _ in 0..3 {
        w.app
            .rt
            .workflows()
            .run_flow_timers("w1", 10)
            .await
            .unwrap();
    }
    assert_eq!(view(&w, &inst).await["positions"], json!(["mgr"]));
    clock.set(due - Duration::seconds(1));
    w.app
        .rt
        .workflows()
        .run_flow_timers("w1", 10)
        .await
        .unwrap();
    assert_eq!(view(&w, &inst).await["positions"], json!(["mgr"]));
    // Saturday 10 October 10:00 Beijing: the make-up working day, the timeout fires.
    clock.set(due);
    assert_eq!(
        w.app
            .rt
            .workflows()
            .run_flow_timers("w1", 10)
            .await
            .unwrap(),
        1
    );
    let v = view(&w, &inst).await;
    assert_eq!(v["positions"], json!(["escalate"]), "{v}");
    assert!(task_of(&w, "d", &inst).await.is_some());
}

/// Another tenant's ids answer 404 and change nothing.
async fn isolation(b: Backend) {
    let w = world(b).await;
    publish(&w, big_deal_flow()).await;
    let rec = deal(&w, 100).await;
    let inst = start(&w, "deal_approval", &rec).await;
    let t = task_of(&w, "mgr", &inst).await.unwrap();
    let other = w.app.other_tenant("Other").await;
    let o = w.s.with_key(&other.api_key);
    assert_eq!(
        o.get(&format!("/api/v1/flows/instances/{inst}"))
            .await
            .status,
        404
    );
    let r = o
        .post(
            &format!("/api/v1/flows/tasks/{t}/actions"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = o
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "withdraw"}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = o
        .post(
            "/api/v1/flows/instances",
            json!({"flow": "deal_approval", "record": rec}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(
        o.get("/api/v1/flows/instances").await.body["instances"],
        json!([])
    );
    // A participant-free user of the same tenant does not see it either.
    assert_eq!(
        w.as_("d")
            .get(&format!("/api/v1/flows/instances/{inst}"))
            .await
            .status,
        404
    );
    assert_eq!(view(&w, &inst).await["status"], "running");
}

async fn drain(w: &World, out: &Channels) {
    weft_testkit::drain_outbox(&w.app.rt, out).await;
}

async fn notifications(w: &World, user: &str) -> Vec<Json> {
    let r = w.as_(user).get("/api/v1/notifications").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["notifications"].as_array().unwrap().clone()
}

/// Notify, CC and webhook nodes deliver: in-app notifications in the step's transaction,
/// the webhook through the automation outbox (signed, with the step's idempotency key, once),
/// and a withdrawn instance's undelivered webhook is skipped.
async fn actions_deliver(b: Backend) {
    let w = world(b).await;
    let hooks = HookReceiver::start().await;
    let out = Channels::new(OutboundConfig {
        allow_loopback: true,
        ..OutboundConfig::default()
    });
    const SECRET: &str = "flow-secret-0123456789";
    publish(&w, json!({
      "schema": "crm.workflow/1", "key": "notify_hook", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "mgr", "kind": "approval", "assignees": [{"kind": "manager_of", "of": "initiator", "level": 1}]},
        {"id": "tell", "kind": "action", "action": {"kind": "notify", "to": [{"kind": "role", "role": "finance"}],
         "template": "Deal {{record.name}} approved\nAmount {{record.amount}}"}},
        {"id": "cc_d", "kind": "cc", "recipients": [{"kind": "users", "ids": [w.id("d")]}]},
        {"id": "hook", "kind": "action", "action": {"kind": "webhook", "url": hooks.url, "secret": SECRET,
         "headers": {"X-Source": "weft-flow"}, "body": "{\"deal\": \"{{record.name}}\"}"}},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "mgr"},
        {"id": "e2", "from": "mgr", "to": "tell", "on": "approved"},
        {"id": "e3", "from": "tell", "to": "cc_d"},
        {"id": "e4", "from": "cc_d", "to": "hook"},
        {"id": "e5", "from": "hook", "to": "end"}
      ]
    }))
    .await;
    let rec = deal(&w, 1000).await;
    let inst = start(&w, "notify_hook", &rec).await;
    approve(&w, "mgr", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "approved");

    // Both finance users were notified in the step's transaction, with the rendered text.
    for u in ["f1", "f2"] {
        let n = notifications(&w, u).await;
        assert_eq!(n.len(), 1, "{u}: {n:?}");
        assert_eq!(n[0]["title"], "Deal Deal approved");
        assert_eq!(n[0]["body"], "Deal Deal approved\nAmount 1000.00");
        assert_eq!(n[0]["record_id"], rec.as_str());
    }
    let cc = notifications(&w, "d").await;
    assert_eq!(cc.len(), 1, "{cc:?}");
    assert!(cc[0]["title"].as_str().unwrap().contains("CC"), "{cc:?}");
    assert!(notifications(&w, "x").await.is_empty());

    // The webhook is a queued outbox run until a worker delivers it, exactly once.
    let runs = w.s.get("/api/v1/automation/runs").await.body["runs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["rule"], "flow:notify_hook");
    assert_eq!(runs[0]["status"], "queued");
    assert!(hooks.got().is_empty());
    drain(&w, &out).await;
    drain(&w, &out).await;
    let got = hooks.got();
    assert_eq!(got.len(), 1);
    let h = &got[0];
    assert_eq!(h.body, r#"{"deal": "Deal"}"#);
    assert_eq!(h.headers["x-source"], "weft-flow");
    let ts: i64 = h.headers["x-weft-timestamp"].parse().unwrap();
    assert_eq!(
        h.headers["x-weft-signature"],
        sign_webhook(SECRET, ts, &h.body)
    );
    let timeline = view(&w, &inst).await;
    let queued = timeline["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "action.queued")
        .cloned()
        .unwrap_or_else(|| panic!("no action.queued event: {timeline}"));
    assert_eq!(
        h.headers["idempotency-key"],
        queued["data"]["idempotency_key"].as_str().unwrap(),
        "the receiver sees the workflow step's stable key"
    );

    // A webhook before an approval: withdrawing the instance skips the undelivered run.
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "hook_first", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "hook", "kind": "action", "action": {"kind": "webhook", "url": hooks.url}},
            {"id": "x", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("x")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "hook"},
            {"id": "e2", "from": "hook", "to": "x"},
            {"id": "e3", "from": "x", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let rec2 = deal(&w, 5).await;
    let inst2 = start(&w, "hook_first", &rec2).await;
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst2}/actions"),
            json!({"action": "withdraw"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let runs = w.s.get("/api/v1/automation/runs").await.body["runs"]
        .as_array()
        .unwrap()
        .clone();
    let skipped: Vec<&Json> = runs
        .iter()
        .filter(|r| r["rule"] == "flow:hook_first")
        .collect();
    assert_eq!(skipped.len(), 1, "{runs:?}");
    assert_eq!(skipped[0]["status"], "skipped");
    drain(&w, &out).await;
    assert_eq!(
        hooks.got().len(),
        1,
        "the withdrawn instance's webhook never went out"
    );

    // Publish-time checks for webhook nodes: method and secret length.
    let r = w
        .s
        .post("/api/v1/meta/flows", json!({
          "schema": "crm.workflow/1", "key": "bad_hook", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "hook", "kind": "action", "action": {"kind": "webhook", "url": "https://x.example", "method": "GET", "secret": "short"}},
            {"id": "end", "kind": "end"}
          ],
          "edges": [{"id": "e1", "from": "start", "to": "hook"}, {"id": "e2", "from": "hook", "to": "end"}]
        }))
        .await;
    let r = if r.status == 201 {
        w.s.post("/api/v1/meta/flows/bad_hook/publish", json!({}))
            .await
    } else {
        r
    };
    assert_eq!(r.status, 422, "{}", r.body);
    let body = r.body.to_string();
    assert!(body.contains("action.webhook_method"), "{body}");
    assert!(body.contains("action.webhook_secret"), "{body}");
}

// ---- workflow.md §5 acceptance scenarios over HTTP (docs/workflow-scenarios.md) ----------

async fn admin_act(w: &World, inst: &str, body: Json) -> weft_testkit::Resp {
    w.s.post(&format!("/api/v1/flows/instances/{inst}/actions"), body)
        .await
}

fn events(v: &Json, name: &str) -> usize {
    v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == name)
        .count()
}

/// s02: an exclusive gateway without a default and no true condition parks the instance on
/// a visible incident; nothing else happens. Admins (only) retry after fixing the record,
/// skip along a chosen edge, or cancel.
async fn s02_incident_retry_skip_cancel(b: Backend) {
    let w = world(b).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "xor", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "exclusive"},
            {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("a")]}]},
            {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("b")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e0", "from": "start", "to": "route"},
            {"id": "to_a", "from": "route", "to": "a", "order": 1, "when": {"lang": "rhai", "expr": "record.amount > 5"}},
            {"id": "to_b", "from": "route", "to": "b", "order": 2, "when": {"lang": "rhai", "expr": "record.amount < 0"}},
            {"id": "e1", "from": "a", "to": "end", "on": "approved"},
            {"id": "e2", "from": "b", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "xor", &rec).await;
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "incident", "{v}");
    assert_eq!(v["incidents"][0]["code"], "gateway.no_matching_flow");
    assert_eq!(v["incidents"][0]["node"], "route");
    assert_eq!(v["tasks"], json!([]), "nothing else happens");
    assert_eq!(events(&v, "incident"), 1);
    // The admin view lists it.
    let list = w.s.get("/api/v1/flows/instances?status=incident").await;
    assert!(
        list.body["instances"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == inst.as_str()),
        "{}",
        list.body
    );
    let first = v["incidents"][0]["id"].as_u64().unwrap();
    // Only admins repair; the initiator sees the instance but may not.
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "retry", "incident": first}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Retrying without fixing the data parks it again, on a fresh incident.
    let r = admin_act(&w, &inst, json!({"action": "retry", "incident": first})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "incident");
    let second = v["incidents"][0]["id"].as_u64().unwrap();
    assert_ne!(first, second);
    // The record stays locked for the initiator; the admin fixes it and retries.
    let r = w
        .as_("ini")
        .patch(&format!("/api/v1/data/deal/{rec}"), json!({"amount": 7}))
        .await;
    assert_eq!(r.body["error"]["code"], "flow.record_locked", "{}", r.body);
    let r =
        w.s.patch(&format!("/api/v1/data/deal/{rec}"), json!({"amount": 7}))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin_act(&w, &inst, json!({"action": "retry", "incident": second})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "running", "{v}");
    assert_eq!(v["positions"], json!(["a"]));
    assert!(task_of(&w, "a", &inst).await.is_some());
    // The same incident cannot be repaired twice.
    let r = admin_act(&w, &inst, json!({"action": "retry", "incident": second})).await;
    assert_eq!(r.status, 404, "{}", r.body);
    approve(&w, "a", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "approved");

    // Skip along a chosen edge, then cancel.
    let rec2 = deal(&w, 2).await;
    let inst2 = start(&w, "xor", &rec2).await;
    let v = view(&w, &inst2).await;
    let inc = v["incidents"][0]["id"].as_u64().unwrap();
    let r = admin_act(
        &w,
        &inst2,
        json!({"action": "skip", "incident": inc, "edge": "to_b"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(task_of(&w, "b", &inst2).await.is_some());
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst2}/actions"),
            json!({"action": "cancel"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = admin_act(
        &w,
        &inst2,
        json!({"action": "cancel", "reason": "duplicate request"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&w, &inst2).await;
    assert_eq!(v["status"], "terminated", "{v}");
    assert!(task_of(&w, "b", &inst2).await.is_none());
    // Bad repair bodies: 422 with the path.
    let rec3 = deal(&w, 3).await;
    let inst3 = start(&w, "xor", &rec3).await;
    let r = admin_act(&w, &inst3, json!({"action": "retry", "incident": "one"})).await;
    assert_eq!(problems(&r), vec!["/incident:invalid"], "{}", r.body);
    let r = admin_act(
        &w,
        &inst3,
        json!({"action": "retry", "incident": 1, "why": 2}),
    )
    .await;
    assert_eq!(problems(&r), vec!["/why:invalid"], "{}", r.body);
    let r = admin_act(&w, &inst3, json!({"action": "explode"})).await;
    assert_eq!(problems(&r), vec!["/action:invalid"], "{}", r.body);
    let r = admin_act(&w, &inst3, json!({"incident": 1})).await;
    assert_eq!(problems(&r), vec!["/action:required"], "{}", r.body);
    assert_eq!(view(&w, &inst3).await["status"], "incident");
}

/// A field the approver edits on their node is what the conditions after it read: record
/// writes feed the running instance (before, the engine kept the values from the start).
async fn approver_edit_routes_later_gateway(b: Backend) {
    let w = world(b).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "disc", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}],
             "form": {"editable": ["discount"]}},
            {"id": "route", "kind": "exclusive", "default": "plain"},
            {"id": "director", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("d")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "mgr"},
            {"id": "e2", "from": "mgr", "to": "route", "on": "approved"},
            {"id": "big", "from": "route", "to": "director", "order": 1,
             "when": {"lang": "rhai", "expr": "record.discount != () && record.discount > 10"}},
            {"id": "plain", "from": "route", "to": "end"},
            {"id": "e3", "from": "director", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let rec = deal(&w, 100).await;
    let inst = start(&w, "disc", &rec).await;
    let r = w
        .as_("mgr")
        .patch(
            &format!("/api/v1/data/deal/{rec}"),
            json!({"discount": "15"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    approve(&w, "mgr", &inst).await;
    let v = view(&w, &inst).await;
    assert_eq!(v["positions"], json!(["director"]), "{v}");
    assert!(task_of(&w, "d", &inst).await.is_some());
}

/// s06, s10, s20: a double submit answers `flow.already_decided` and changes nothing; 按比例
/// 0.6 of five decides at the third approval (or the third rejection, when 0.6 is out of
/// reach) and cancels the rest; an approver rule that resolves to nobody follows `on_empty`
/// (logged); an approver who already approved is auto-approved with reason `dedupe`.
async fn s06_s10_s20_ratio_double_submit_empty_dedupe(b: Backend) {
    let w = world(b).await;
    let five: Vec<String> = ["a", "b", "c", "f1", "f2"]
        .iter()
        .map(|u| w.id(u))
        .collect();
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "modes", "object": "deal",
          "settings": {"dedupe": "auto_approve_repeat"},
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "fin", "kind": "approval", "assignees": [{"kind": "users", "ids": five}],
             "mode": {"kind": "ratio", "approve_ratio": 0.6}},
            {"id": "boss", "kind": "approval", "assignees": [{"kind": "manager_of", "of": "initiator", "level": 2}],
             "on_empty": {"kind": "assign", "to": [{"kind": "users", "ids": [w.id("x")]}]}},
            {"id": "again", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("a")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "fin"},
            {"id": "e2", "from": "fin", "to": "boss", "on": "approved"},
            {"id": "e3", "from": "boss", "to": "again", "on": "approved"},
            {"id": "e4", "from": "again", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "modes", &rec).await;
    let a_task = task_of(&w, "a", &inst).await.unwrap();
    approve(&w, "a", &inst).await;
    // s06: the same task approved again (a retried click).
    let before = view(&w, &inst).await;
    let r = w
        .as_("a")
        .post(
            &format!("/api/v1/flows/tasks/{a_task}/actions"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "flow.already_decided");
    let after = view(&w, &inst).await;
    assert_eq!(before["rev"], after["rev"], "nothing changed");
    assert_eq!(events(&after, "task_decided"), 1);
    // s10: the third approval decides; the last two tasks are cancelled.
    approve(&w, "b", &inst).await;
    assert_eq!(view(&w, &inst).await["positions"], json!(["fin"]));
    approve(&w, "c", &inst).await;
    for u in ["f1", "f2"] {
        assert!(task_of(&w, u, &inst).await.is_none(), "{u}");
    }
    // s20: nobody is the initiator's manager at level 2: the node goes to x, logged.
    let v = view(&w, &inst).await;
    assert_eq!(v["positions"], json!(["boss"]), "{v}");
    assert_eq!(events(&v, "empty_assignees"), 1, "{v}");
    approve(&w, "x", &inst).await;
    // a approved `fin` already: auto-approved on `again`.
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "approved", "{v}");
    let auto: Vec<&Json> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "auto_approved")
        .collect();
    assert_eq!(auto.len(), 1, "{v}");
    assert_eq!(auto[0]["data"]["reason"], "dedupe");
    assert_eq!(auto[0]["node"], "again");

    // s10': three rejections make 0.6 unreachable: rejected at the third.
    let rec = deal(&w, 2).await;
    let inst = start(&w, "modes", &rec).await;
    for u in ["a", "b"] {
        let r = act(&w, u, &inst, json!({"action": "reject"})).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(view(&w, &inst).await["status"], "running");
    let r = act(&w, "c", &inst, json!({"action": "reject", "comment": "no"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "rejected", "{v}");
    assert!(task_of(&w, "f1", &inst).await.is_none());
}

/// s14 (后加签, 并加签), s15 (委托), s16 (`jump_back`), s18 (`until_first_action`).
async fn s14_s15_s16_s18_more_operations(b: Backend) {
    let w = world(b).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "ops", "object": "deal",
          "settings": {"withdraw": "until_first_action"},
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "one", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("a")]}],
             "ops": {"add_signer": ["after"]}},
            {"id": "both", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("b"), w.id("c")]}],
             "mode": {"kind": "all"}, "ops": {"add_signer": ["parallel"]}},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "one"},
            {"id": "e2", "from": "one", "to": "both", "on": "approved"},
            {"id": "e3", "from": "both", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    // 委托: d decides for a; the timeline says so.
    let rec = deal(&w, 1).await;
    let inst = start(&w, "ops", &rec).await;
    let r = act(
        &w,
        "a",
        &inst,
        json!({"action": "delegate", "to": w.id("d")}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(task_of(&w, "a", &inst).await.is_none());
    approve(&w, "d", &inst).await;
    let v = view(&w, &inst).await;
    let decided: Vec<&Json> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "task_decided")
        .collect();
    assert_eq!(decided[0]["actor"], w.id("d").as_str(), "{v}");
    assert_eq!(decided[0]["data"]["acting_for"], w.id("a").as_str());
    // s18: after the first action the initiator may no longer withdraw.
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "withdraw"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "flow.withdraw_not_allowed");
    // 并加签 on the 会签 node: x joins b and c; the node needs all three.
    let r = act(
        &w,
        "b",
        &inst,
        json!({"action": "add_signer", "position": "parallel", "users": [w.id("x")]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    approve(&w, "b", &inst).await;
    approve(&w, "c", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "running");
    approve(&w, "x", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "approved");
    // A position the node does not offer is refused.
    let rec = deal(&w, 2).await;
    let inst = start(&w, "ops", &rec).await;
    let r = act(
        &w,
        "a",
        &inst,
        json!({"action": "add_signer", "position": "before", "users": [w.id("x")]}),
    )
    .await;
    assert!(matches!(r.status, 409 | 422), "{}", r.body);
    // 后加签: a's vote goes to x, who must approve; the flow moves on without a.
    let r = act(
        &w,
        "a",
        &inst,
        json!({"action": "add_signer", "position": "after", "users": [w.id("x")]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(task_of(&w, "a", &inst).await.is_none());
    approve(&w, "x", &inst).await;
    assert!(task_of(&w, "a", &inst).await.is_none());
    assert_eq!(view(&w, &inst).await["positions"], json!(["both"]));
    // s18: before any action the initiator withdraws.
    let rec = deal(&w, 3).await;
    let inst = start(&w, "ops", &rec).await;
    let r = w
        .as_("ini")
        .post(
            &format!("/api/v1/flows/instances/{inst}/actions"),
            json!({"action": "withdraw"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(view(&w, &inst).await["status"], "withdrawn");

    // s16 jump_back: after 退回 to start and the resubmit, straight back to the returner.
    let mut def = sequential_flow(&w);
    def["key"] = json!("jb");
    def["settings"] = json!({"resubmit": "jump_back"});
    publish(&w, def).await;
    let rec = deal(&w, 4).await;
    let inst = start(&w, "jb", &rec).await;
    approve(&w, "x", &inst).await;
    approve(&w, "a", &inst).await;
    let r = act(
        &w,
        "b",
        &inst,
        json!({"action": "return", "to_node": "start"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = act(&w, "ini", &inst, json!({"action": "resubmit"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        task_of(&w, "x", &inst).await.is_none(),
        "`first` is not rerun"
    );
    assert_eq!(view(&w, &inst).await["positions"], json!(["chain"]));
}

/// A `wait` node until a condition over the record: the record stays editable while the
/// instance waits for it, and the edit that makes the condition true moves the instance on.
async fn wait_until_record_condition(b: Backend) {
    let w = world(b).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "wait_stage", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "hold", "kind": "wait", "until": {"kind": "condition", "when": {"lang": "rhai", "expr": "record.stage == \"c\""}}},
            {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "hold"},
            {"id": "e2", "from": "hold", "to": "mgr"},
            {"id": "e3", "from": "mgr", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "wait_stage", &rec).await;
    assert_eq!(view(&w, &inst).await["positions"], json!(["hold"]));
    let r = w
        .as_("ini")
        .patch(&format!("/api/v1/data/deal/{rec}"), json!({"stage": "b"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(view(&w, &inst).await["positions"], json!(["hold"]));
    let r = w
        .as_("ini")
        .patch(&format!("/api/v1/data/deal/{rec}"), json!({"stage": "c"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(view(&w, &inst).await["positions"], json!(["mgr"]));
    // At the approval the record is locked again.
    let r = w
        .as_("ini")
        .patch(&format!("/api/v1/data/deal/{rec}"), json!({"stage": "a"}))
        .await;
    assert_eq!(r.body["error"]["code"], "flow.record_locked", "{}", r.body);
    approve(&w, "mgr", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "approved");
    // A bulk update reaches the waiting instances too.
    let mut waiting = vec![];
    for amount in [2, 3] {
        let rec = deal(&w, amount).await;
        waiting.push((start(&w, "wait_stage", &rec).await, rec));
    }
    let records: Vec<Json> = waiting
        .iter()
        .map(|(_, rec)| json!({"id": rec, "stage": "c"}))
        .collect();
    let r = w
        .as_("ini")
        .send(
            "PATCH",
            "/api/v1/data/deal/bulk",
            Some(&json!({"records": records})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for (inst, _) in &waiting {
        assert_eq!(view(&w, inst).await["positions"], json!(["mgr"]));
    }
}

/// A gateway after a record action reads the value the action wrote.
async fn gateway_reads_the_flows_own_update(b: Backend) {
    let w = world(b).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "own", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "set_stage", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"b\""}}},
            {"id": "route", "kind": "exclusive", "default": "other"},
            {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "set_stage"},
            {"id": "e2", "from": "set_stage", "to": "route"},
            {"id": "staged", "from": "route", "to": "mgr", "order": 1,
             "when": {"lang": "rhai", "expr": "record.stage == \"b\""}},
            {"id": "other", "from": "route", "to": "end"},
            {"id": "e3", "from": "mgr", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let rec = deal(&w, 1).await;
    let inst = start(&w, "own", &rec).await;
    let v = view(&w, &inst).await;
    assert_eq!(v["positions"], json!(["mgr"]), "{v}");
}

/// s01 + s03: exactly one out-edge of an exclusive gateway is taken, the first true one by
/// `order` (not by position in the document), else the default; the timeline shows the
/// evaluated conditions.
async fn s01_s03_exclusive_order_and_default(b: Backend) {
    let w = world(b).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "xor_order", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "exclusive", "default": "to_c"},
            {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("a")]}]},
            {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("b")]}]},
            {"id": "c", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("c")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e0", "from": "start", "to": "route"},
            {"id": "to_b", "from": "route", "to": "b", "order": 2, "when": {"lang": "rhai", "expr": "record.amount > 10"}},
            {"id": "to_a", "from": "route", "to": "a", "order": 1, "when": {"lang": "rhai", "expr": "record.amount > 5"}},
            {"id": "to_c", "from": "route", "to": "c"},
            {"id": "a_end", "from": "a", "to": "end", "on": "approved"},
            {"id": "b_end", "from": "b", "to": "end", "on": "approved"},
            {"id": "c_end", "from": "c", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    for (amount, node) in [(50, "a"), (7, "a"), (1, "c")] {
        let rec = deal(&w, amount).await;
        let inst = start(&w, "xor_order", &rec).await;
        let v = view(&w, &inst).await;
        assert_eq!(v["positions"], json!([node]), "{amount}: {v}");
        let eval: Vec<&Json> = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "gateway_evaluated")
            .collect();
        assert_eq!(eval.len(), 1, "{v}");
        assert_eq!(eval[0]["node"], "route");
        assert_eq!(eval[0]["data"]["conditions"][0]["edge"], "to_a", "{v}");
    }
}

/// s05: the last open tasks of two parallel branches approved at the same instant through
/// two server connections: both succeed, the join fires once, its record action runs once.
async fn s05_join_race(b: Backend) {
    let w = world(b).await;
    publish(&w, big_deal_flow()).await;
    for round in 0..4 {
        let rec = deal(&w, 600_000 + round).await;
        let inst = start(&w, "deal_approval", &rec).await;
        approve(&w, "a", &inst).await;
        approve(&w, "b", &inst).await;
        let c = task_of(&w, "c", &inst).await.unwrap();
        let f = task_of(&w, "f1", &inst).await.unwrap();
        let (pc, pf) = (
            format!("/api/v1/flows/tasks/{c}/actions"),
            format!("/api/v1/flows/tasks/{f}/actions"),
        );
        let (r1, r2) = tokio::join!(
            w.as_("c").post(&pc, json!({"action": "approve"})),
            w.as_("f1").post(&pf, json!({"action": "approve"}))
        );
        assert_eq!(
            (r1.status, r2.status),
            (200, 200),
            "{} {}",
            r1.body,
            r2.body
        );
        let v = view(&w, &inst).await;
        assert_eq!(v["status"], "approved", "{v}");
        assert_eq!(events(&v, "join_fired"), 1, "{v}");
        assert_eq!(events(&v, "action.record_updated"), 1);
        let revs: Vec<i64> = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect();
        assert!(revs.windows(2).all(|p| p[0] < p[1]));
        let hist = w.s.get(&format!("/api/v1/data/deal/{rec}/history")).await;
        let flow_writes = hist.body["changes"]
            .as_array()
            .map(|a| a.iter().filter(|e| e["source"] == "flow").count());
        assert_eq!(flow_writes, Some(1), "{}", hist.body);
    }
}

/// s25 (the part about scripts): a condition that fails at run time parks the instance on an
/// incident (`condition.error`) instead of failing the request or panicking.
async fn s25_script_error_is_an_incident(b: Backend) {
    let w = world(b).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "boom", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "exclusive", "default": "plain"},
            {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("a")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e0", "from": "start", "to": "route"},
            {"id": "div", "from": "route", "to": "a", "order": 1, "when": {"lang": "rhai", "expr": "record.qty / 0 > 1"}},
            {"id": "plain", "from": "route", "to": "end"},
            {"id": "e1", "from": "a", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let r = w
        .as_("ini")
        .create("deal", json!({"name": "Deal", "amount": 1, "qty": 4}))
        .await;
    let rec = r["id"].as_str().unwrap().to_string();
    let inst = start(&w, "boom", &rec).await;
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "incident", "{v}");
    assert_eq!(v["incidents"][0]["code"], "condition.error", "{v}");
    assert_eq!(v["incidents"][0]["node"], "route");
    // Skipping along the default edge finishes it.
    let inc = v["incidents"][0]["id"].as_u64().unwrap();
    let r = admin_act(
        &w,
        &inst,
        json!({"action": "skip", "incident": inc, "edge": "plain"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(view(&w, &inst).await["status"], "approved");
}

/// s05 and s22 with two processes: a second runtime (its own pool and caches, as a second
/// `weft serve`) on the same database. The last tasks of both parallel branches approved at
/// the same instant, one through each process: both succeed, the join fires once; a due
/// timer claimed by both processes at once fires once.
async fn two_processes_race(b: Backend) {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let w = world_with(TestApp::with_clock(b, clock.clone()).await).await;
    let mut opts = weft_store::StoreOptions::new(w.app.db.url.clone());
    opts.max_connections = 8;
    let store2 = Arc::new(weft_store::SeaStore::connect(&opts).await.unwrap());
    let rt2 = weft_runtime::Runtime::new(
        store2,
        Arc::new(weft_store::LocalDiskBlobStore::new(
            w.app.db.dir.path().join("files"),
        )),
        clock.clone(),
        weft_runtime::RuntimeConfig::default(),
    );
    let tenant = w.app.tenant.tenant_id;
    let as_user = |u: &str| {
        let id = uuid::Uuid::parse_str(&w.id(u)).unwrap();
        let mut p = weft_runtime::Principal::system(tenant, weft_meta::UserId(id));
        p.is_admin = false;
        p.source = weft_runtime::Source::Api;
        p
    };
    publish(&w, big_deal_flow()).await;
    for round in 0..4 {
        let rec = deal(&w, 600_000 + round).await;
        let inst = start(&w, "deal_approval", &rec).await;
        approve(&w, "a", &inst).await;
        approve(&w, "b", &inst).await;
        let c = uuid::Uuid::parse_str(&task_of(&w, "c", &inst).await.unwrap()).unwrap();
        let f = uuid::Uuid::parse_str(&task_of(&w, "f1", &inst).await.unwrap()).unwrap();
        let (pc, pf) = (as_user("c"), as_user("f1"));
        let body = json!({"action": "approve"});
        let (r1, r2) = tokio::join!(
            w.app.rt.workflows().act_on_task(&pc, c, &body),
            rt2.workflows().act_on_task(&pf, f, &body)
        );
        r1.unwrap();
        r2.unwrap();
        let v = view(&w, &inst).await;
        assert_eq!(v["status"], "approved", "{v}");
        assert_eq!(events(&v, "join_fired"), 1, "{v}");
        assert_eq!(events(&v, "action.record_updated"), 1, "{v}");
    }
    // One due timeout, both processes' workers claiming at once.
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "sla2", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}],
             "timers": [{"id": "sla", "duration": "PT1H", "interrupting": true}]},
            {"id": "escalate", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("d")]}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "mgr"},
            {"id": "e2", "from": "mgr", "to": "end", "on": "approved"},
            {"id": "e3", "from": "mgr", "to": "escalate", "on": "timer:sla"},
            {"id": "e4", "from": "escalate", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let mut insts = vec![];
    for i in 0..5 {
        let rec = deal(&w, i).await;
        insts.push(start(&w, "sla2", &rec).await);
    }
    clock.set(t0 + Duration::hours(2));
    let (n1, n2) = tokio::join!(
        w.app.rt.workflows().run_flow_timers("p1", 10),
        rt2.workflows().run_flow_timers("p2", 10)
    );
    assert_eq!(
        n1.unwrap() + n2.unwrap(),
        5,
        "each timer fired by one process"
    );
    let (n1, n2) = tokio::join!(
        w.app.rt.workflows().run_flow_timers("p1", 10),
        rt2.workflows().run_flow_timers("p2", 10)
    );
    assert_eq!(n1.unwrap() + n2.unwrap(), 0);
    for inst in &insts {
        let v = view(&w, inst).await;
        assert_eq!(v["positions"], json!(["escalate"]), "{v}");
        assert_eq!(events(&v, "timer_fired"), 1, "{v}");
    }
}

/// s13: an inclusive split selects 2 of 3 branches; one of them times out and leaves around
/// the join. The inclusive join fires once no live token can reach it, in either order.
async fn s13_inclusive_join(b: Backend) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let w = world_with(TestApp::with_clock(b, clock.clone()).await).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "incl", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "split", "kind": "inclusive"},
            {"id": "a", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("a")]}]},
            {"id": "b", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("b")]}],
             "timers": [{"id": "to", "duration": "PT2H", "interrupting": true}]},
            {"id": "c", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("c")]}]},
            {"id": "ijoin", "kind": "inclusive"},
            {"id": "late", "kind": "cc", "recipients": [{"kind": "users", "ids": [w.id("d")]}]},
            {"id": "end_late", "kind": "end"},
            {"id": "set_stage", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"b\""}}},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e0", "from": "start", "to": "split"},
            {"id": "s1", "from": "split", "to": "a", "when": {"lang": "rhai", "expr": "true"}},
            {"id": "s2", "from": "split", "to": "b", "when": {"lang": "rhai", "expr": "record.amount > 1"}},
            {"id": "s3", "from": "split", "to": "c", "when": {"lang": "rhai", "expr": "record.amount > 5"}},
            {"id": "j1", "from": "a", "to": "ijoin", "on": "approved"},
            {"id": "j2", "from": "b", "to": "ijoin", "on": "approved"},
            {"id": "j3", "from": "c", "to": "ijoin", "on": "approved"},
            {"id": "tb", "from": "b", "to": "late", "on": "timer:to"},
            {"id": "tl", "from": "late", "to": "end_late"},
            {"id": "e9", "from": "ijoin", "to": "set_stage"},
            {"id": "e10", "from": "set_stage", "to": "end"}
          ]
        }),
    )
    .await;
    for timer_first in [true, false] {
        let rec = deal(&w, 3).await;
        let inst = start(&w, "incl", &rec).await;
        let mut pos: Vec<String> =
            serde_json::from_value(view(&w, &inst).await["positions"].clone()).unwrap();
        pos.sort();
        assert_eq!(pos, vec!["a", "b"], "2 of 3 branches selected");
        assert!(task_of(&w, "c", &inst).await.is_none());
        if timer_first {
            clock.advance(Duration::hours(3));
            assert_eq!(
                w.app
                    .rt
                    .workflows()
                    .run_flow_timers("w1", 10)
                    .await
                    .unwrap(),
                1
            );
            let v = view(&w, &inst).await;
            assert_eq!(events(&v, "join_fired"), 0, "a can still reach the join");
            assert!(task_of(&w, "b", &inst).await.is_none());
            approve(&w, "a", &inst).await;
        } else {
            approve(&w, "a", &inst).await;
            let v = view(&w, &inst).await;
            assert_eq!(events(&v, "join_fired"), 0, "b can still reach the join");
            assert_eq!(v["status"], "running");
            clock.advance(Duration::hours(3));
            assert_eq!(
                w.app
                    .rt
                    .workflows()
                    .run_flow_timers("w1", 10)
                    .await
                    .unwrap(),
                1
            );
        }
        let v = view(&w, &inst).await;
        assert_eq!(events(&v, "join_fired"), 1, "{v}");
        assert_eq!(v["status"], "approved", "{v}");
        let r = w.s.get(&format!("/api/v1/data/deal/{rec}")).await;
        assert_eq!(r.body["stage"], "b");
    }
    // Both selected branches arrive: the join fires on the last arrival, once.
    let rec = deal(&w, 3).await;
    let inst = start(&w, "incl", &rec).await;
    approve(&w, "b", &inst).await;
    assert_eq!(view(&w, &inst).await["status"], "running");
    approve(&w, "a", &inst).await;
    let v = view(&w, &inst).await;
    assert_eq!(
        (v["status"].as_str(), events(&v, "join_fired")),
        (Some("approved"), 1)
    );
    // No timer is left behind for the finished branch.
    clock.advance(Duration::hours(5));
    assert_eq!(
        w.app
            .rt
            .workflows()
            .run_flow_timers("w1", 10)
            .await
            .unwrap(),
        0
    );
}

/// s17: 退回 from one parallel branch to the start cancels the other branch's tasks and
/// clears its arrival at the join; after the resubmit the join needs both branches again.
async fn s17_return_across_parallel(b: Backend) {
    let w = world(b).await;
    let mut def = big_deal_flow();
    def["nodes"][5]["ops"] = json!({"return_to": ["start"]});
    publish(&w, def).await;
    let rec = deal(&w, 700_000).await;
    let inst = start(&w, "deal_approval", &rec).await;
    // Legal half done; finance returns: the open legal tasks go too.
    approve(&w, "a", &inst).await;
    let r = act(
        &w,
        "f1",
        &inst,
        json!({"action": "return", "to_node": "start", "comment": "wrong amount"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for u in ["b", "c", "f2"] {
        assert!(
            task_of(&w, u, &inst).await.is_none(),
            "{u} still has a task"
        );
    }
    let v = view(&w, &inst).await;
    assert_eq!(v["positions"], json!(["start"]), "{v}");
    let r = act(&w, "ini", &inst, json!({"action": "resubmit"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Legal arrives at the join, then finance returns again.
    for u in ["a", "b", "c"] {
        approve(&w, u, &inst).await;
    }
    let r = act(
        &w,
        "f2",
        &inst,
        json!({"action": "return", "to_node": "start"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = act(&w, "ini", &inst, json!({"action": "resubmit"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Finance alone cannot fire the new round's join: legal's old arrival was cleared.
    approve(&w, "f1", &inst).await;
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "running", "{v}");
    assert_eq!(v["positions"], json!(["legal"]), "{v}");
    assert_eq!(events(&v, "join_fired"), 0);
    for u in ["a", "b", "c"] {
        approve(&w, u, &inst).await;
    }
    let v = view(&w, &inst).await;
    assert_eq!(v["status"], "approved", "{v}");
    assert_eq!(events(&v, "join_fired"), 1);
    assert_eq!(events(&v, "instance.completed"), 1);
    let r = w.s.get(&format!("/api/v1/data/deal/{rec}")).await;
    assert_eq!(r.body["stage"], "c");
}

/// s21: a non-interrupting `R3/PT24H` reminder sends exactly three reminders at 24, 48 and
/// 72 hours and leaves the task open; approving at 30 hours cancels the rest.
async fn s21_reminder_cycle(b: Backend) {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let w = world_with(TestApp::with_clock(b, clock.clone()).await).await;
    publish(
        &w,
        json!({
          "schema": "crm.workflow/1", "key": "remind", "object": "deal",
          "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}],
             "timers": [{"id": "remind", "cycle": "R3/PT24H", "interrupting": false, "do": {"kind": "notify"}}]},
            {"id": "end", "kind": "end"}
          ],
          "edges": [
            {"id": "e1", "from": "start", "to": "mgr"},
            {"id": "e2", "from": "mgr", "to": "end", "on": "approved"}
          ]
        }),
    )
    .await;
    let reminders = |v: &Json| {
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "notify" && e["data"]["kind"] == "reminder")
            .count()
    };
    let rec = deal(&w, 1).await;
    let inst = start(&w, "remind", &rec).await;
    let mut sent = vec![];
    for h in [23, 24, 47, 48, 71, 72, 80, 200] {
        clock.set(t0 + Duration::hours(h));
        // Two workers race for each due timer.
        let (r1, r2) = tokio::join!(
            w.app.rt.workflows().run_flow_timers("w1", 10),
            w.app.rt.workflows().run_flow_timers("w2", 10)
        );
        r1.unwrap();
        r2.unwrap();
        sent.push(reminders(&view(&w, &inst).await));
    }
    assert_eq!(sent, vec![0, 1, 1, 2, 2, 3, 3, 3]);
    let v = view(&w, &inst).await;
    assert_eq!(v["timers"], json!([]), "the cycle is spent");
    assert!(task_of(&w, "mgr", &inst).await.is_some(), "task still open");
    let n = notifications(&w, "mgr").await;
    assert_eq!(n.len(), 3, "{n:?}");

    // Approve at 30 h: one reminder was sent, the rest are cancelled.
    clock.set(t0);
    let rec = deal(&w, 2).await;
    let inst = start(&w, "remind", &rec).await;
    clock.set(t0 + Duration::hours(24));
    w.app
        .rt
        .workflows()
        .run_flow_timers("w1", 10)
        .await
        .unwrap();
    clock.set(t0 + Duration::hours(30));
    approve(&w, "mgr", &inst).await;
    clock.set(t0 + Duration::hours(200));
    assert_eq!(
        w.app
            .rt
            .workflows()
            .run_flow_timers("w1", 10)
            .await
            .unwrap(),
        0
    );
    let v = view(&w, &inst).await;
    assert_eq!((v["status"].as_str(), reminders(&v)), (Some("approved"), 1));

    // s22: a cycle missed three times while no worker ran fires once, and the next
    // occurrence is in the future.
    let mut def = json!({
      "schema": "crm.workflow/1", "key": "remind5", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}],
         "timers": [{"id": "remind", "cycle": "R5/PT24H", "interrupting": false}]},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "mgr"},
        {"id": "e2", "from": "mgr", "to": "end", "on": "approved"}
      ]
    });
    publish(&w, def.take()).await;
    clock.set(t0);
    let rec = deal(&w, 3).await;
    let inst = start(&w, "remind5", &rec).await;
    clock.set(t0 + Duration::hours(80));
    for _ in 0..3 {
        w.app
            .rt
            .workflows()
            .run_flow_timers("w1", 10)
            .await
            .unwrap();
    }
    let v = view(&w, &inst).await;
    assert_eq!(reminders(&v), 1, "{v}");
    assert_eq!(
        v["timers"][0]["due"],
        json!((t0 + Duration::hours(96)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
}

/// s23 + s24: publishing a new version leaves running instances on theirs; an explicit
/// migration with a node mapping is listed by a dry run and applied all-or-nothing.
#[allow(clippy::too_many_lines)] // issue 11: split pending
async fn s23_s24_versions_and_migration(b: Backend) {
    let w = world(b).await;
    let v1 = json!({
      "schema": "crm.workflow/1", "key": "mig", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "mgr", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("mgr")]}]},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "mgr"},
        {"id": "e2", "from": "mgr", "to": "end", "on": "approved"}
      ]
    });
    publish(&w, v1).await;
    let mut on_v1 = vec![];
    for amount in [1, 2, 3] {
        let rec = deal(&w, amount).await;
        on_v1.push(start(&w, "mig", &rec).await);
    }
    // v2 replaces `mgr` by `mgr2` and copies to d after it.
    let v2 = json!({
      "schema": "crm.workflow/1", "key": "mig", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "mgr2", "kind": "approval", "assignees": [{"kind": "users", "ids": [w.id("x")]}]},
        {"id": "cc_d", "kind": "cc", "recipients": [{"kind": "users", "ids": [w.id("d")]}]},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e1", "from": "start", "to": "mgr2"},
        {"id": "e2", "from": "mgr2", "to": "cc_d", "on": "approved"},
        {"id": "e3", "from": "cc_d", "to": "end"}
      ]
    });
    let r =
        w.s.send("PUT", "/api/v1/meta/flows/mig", Some(&v2), &[])
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = w.s.post("/api/v1/meta/flows/mig/publish", json!({})).await;
    assert_eq!(r.body["version"], 2, "{}", r.body);
    let hash_v1 =
        w.s.get("/api/v1/meta/flows/mig/versions").await.body["versions"][0]["hash"].clone();
    // s23: the running instance continues on v1's graph; new instances use v2.
    let v = view(&w, &on_v1[0]).await;
    assert_eq!(
        (v["version"].as_i64(), v["positions"].clone()),
        (Some(1), json!(["mgr"]))
    );
    approve(&w, "mgr", &on_v1[0]).await;
    let v = view(&w, &on_v1[0]).await;
    assert_eq!(v["status"], "approved");
    assert_eq!(v["cc"], json!([]), "v1 has no CC node");
    let rec = deal(&w, 9).await;
    let fresh = start(&w, "mig", &rec).await;
    let v = view(&w, &fresh).await;
    assert_eq!(
        (v["version"].as_i64(), v["positions"].clone()),
        (Some(2), json!(["mgr2"]))
    );
    // v1 is still referenced: the flow cannot be deleted.
    assert_eq!(w.s.delete("/api/v1/meta/flows/mig").await.status, 409);

    // s24: a dry run without a mapping lists the unmapped active node per instance.
    let r =
        w.s.post("/api/v1/meta/flows/mig/migrate", json!({"dry_run": true}))
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["instances"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "the two running v1 instances: {}", r.body);
    for it in &items {
        assert_eq!(it["ok"], false);
        assert_eq!(it["problems"][0]["code"], "migration.unmapped_node");
        assert_eq!(it["problems"][0]["node"], "mgr");
    }
    // Applying it is refused as a whole; nothing changes.
    let r = w.s.post("/api/v1/meta/flows/mig/migrate", json!({})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        problems(&r),
        vec![
            "/instances/0:migration.unmapped_node",
            "/instances/1:migration.unmapped_node"
        ]
    );
    assert_eq!(view(&w, &on_v1[1]).await["version"], 1);
    // A bad mapping target is reported too.
    let r =
        w.s.post(
            "/api/v1/meta/flows/mig/migrate",
            json!({"dry_run": true, "mapping": {"mgr": "nope"}}),
        )
        .await;
    assert_eq!(
        r.body["instances"][0]["problems"][0]["code"], "migration.unknown_target",
        "{}",
        r.body
    );
    // The dry run with the mapping: every instance moves; still nothing changes.
    let body = json!({"to_version": 2, "mapping": {"mgr": "mgr2"}, "dry_run": true});
    let r = w.s.post("/api/v1/meta/flows/mig/migrate", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["ok"] == true && i["positions"] == json!(["mgr2"])),
        "{}",
        r.body
    );
    assert_eq!(r.body["applied"], 0);
    assert_eq!(view(&w, &on_v1[1]).await["version"], 1);
    // Not for regular users; bad bodies answer 422 with a path.
    let r = w
        .as_("ini")
        .post(
            "/api/v1/meta/flows/mig/migrate",
            json!({"mapping": {"mgr": "mgr2"}}),
        )
        .await;
    assert_eq!(r.status, 403);
    let r =
        w.s.post("/api/v1/meta/flows/mig/migrate", json!({"to_version": 7}))
            .await;
    assert_eq!(problems(&r), vec!["/to_version:migration.unknown_version"]);
    let r =
        w.s.post(
            "/api/v1/meta/flows/mig/migrate",
            json!({"mapping": ["mgr"]}),
        )
        .await;
    assert_eq!(problems(&r), vec!["/mapping:invalid"], "{}", r.body);
    let other = w.app.other_tenant("Other").await;
    let r =
        w.s.post(
            "/api/v1/meta/flows/mig/migrate",
            json!({"instances": [other.admin_user_id.0]}),
        )
        .await;
    assert_eq!(
        problems(&r),
        vec!["/instances/0:migration.unknown_instance"]
    );
    // Apply: both instances move with their open task; history is kept.
    let before = view(&w, &on_v1[1]).await["history"].clone();
    let r =
        w.s.post(
            "/api/v1/meta/flows/mig/migrate",
            json!({"mapping": {"mgr": "mgr2"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["applied"], 2);
    for inst in &on_v1[1..] {
        let v = view(&w, inst).await;
        assert_eq!(
            (v["version"].as_i64(), v["positions"].clone()),
            (Some(2), json!(["mgr2"])),
            "{v}"
        );
        assert_eq!(events(&v, "instance.migrated"), 1);
        if inst == &on_v1[1] {
            let h = v["history"].as_array().unwrap();
            assert_eq!(&h[..h.len() - 1], before.as_array().unwrap().as_slice());
        }
        let open: Vec<&Json> = v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "open")
            .collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0]["node"], "mgr2", "{v}");
        // The task keeps its assignee (resolved at activation) and now follows v2's graph.
        approve(&w, "mgr", inst).await;
        let v = view(&w, inst).await;
        assert_eq!(v["status"], "approved", "{v}");
        assert_eq!(v["cc"][0]["node"], "cc_d");
    }
    // Nothing left to migrate; v1's published document is unchanged.
    let r =
        w.s.post("/api/v1/meta/flows/mig/migrate", json!({"dry_run": true}))
            .await;
    assert_eq!(r.body["instances"], json!([]));
    let vs = w.s.get("/api/v1/meta/flows/mig/versions").await;
    assert_eq!(vs.body["versions"][0]["hash"], hash_v1);
}

/// A branch condition's `today()` is the engine clock's date in the tenant's zone: at
/// 2026-06-01T17:00Z it is still 1 June in UTC but already 2 June in Shanghai. (Conditions
/// used the wall clock in UTC before.)
async fn condition_today_follows_clock_and_zone(b: Backend) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 6, 1, 17, 0, 0).unwrap(),
    ));
    let app = TestApp::with_clock(b, clock).await;
    let s = app.serve().await;
    assert_eq!(
        s.post("/api/v1/meta/objects", weft_testkit::simple_object("deal"))
            .await
            .status,
        201
    );
    let flow = json!({
      "schema": "crm.workflow/1", "key": "due_check", "object": "deal",
      "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "gw", "kind": "exclusive", "default": "late"},
        {"id": "ontime", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"b\""}}},
        {"id": "overdue", "kind": "action", "action": {"kind": "update_record", "set": {"stage": "\"c\""}}},
        {"id": "end", "kind": "end"}
      ],
      "edges": [
        {"id": "e0", "from": "start", "to": "gw"},
        {"id": "fresh", "from": "gw", "to": "ontime", "order": 1,
         "when": {"lang": "rhai", "expr": "record.due >= today()"}},
        {"id": "late", "from": "gw", "to": "overdue"},
        {"id": "e1", "from": "ontime", "to": "end", "on": "done"},
        {"id": "e2", "from": "overdue", "to": "end", "on": "done"}
      ]
    });
    assert_eq!(s.post("/api/v1/meta/flows", flow).await.status, 201);
    assert_eq!(
        s.post("/api/v1/meta/flows/due_check/publish", json!({}))
            .await
            .status,
        201
    );
    let run = |stage_after: &'static str| {
        let s = &s;
        async move {
            let d = s
                .create(
                    "deal",
                    json!({"name": "x", "stage": "a", "due": "2026-06-01"}),
                )
                .await;
            let id = d["id"].as_str().unwrap().to_owned();
            let r = s
                .post(
                    "/api/v1/flows/instances",
                    json!({"flow": "due_check", "record": id}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
            let rec = s.get(&format!("/api/v1/data/deal/{id}")).await.body;
            assert_eq!(rec["stage"], stage_after, "{rec}");
        }
    };
    // UTC: due 1 June is today, not overdue.
    run("b").await;
    let r = s
        .patch(
            "/api/v1/tenant/settings",
            json!({"time_zone": "Asia/Shanghai"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Shanghai: it is 2 June there, so 1 June is past.
    run("c").await;
}

/// The service's own kinds reach the caller in the language it asks for: a flow kind
/// (`flow.exists`) and an engine refusal (`flow.not_assignee`), each with its code and status
/// unchanged, in Chinese for `Accept-Language: zh-CN` and in English otherwise.
async fn errors_speak_the_callers_language(b: Backend) {
    let w = world(b).await;
    publish(&w, big_deal_flow()).await;
    let zh = [("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")];
    let en = [("accept-language", "en-US,en;q=0.9")];
    let again = big_deal_flow();
    for (headers, message) in [
        (&zh[..], "流程「deal_approval」已存在"),
        (&en[..], "flow 'deal_approval' already exists"),
        (&[][..], "flow 'deal_approval' already exists"),
    ] {
        let r =
            w.s.send("POST", "/api/v1/meta/flows", Some(&again), headers)
                .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "flow.exists", "{}", r.body);
        assert_eq!(r.body["error"]["message"], message, "{}", r.body);
    }
    // A small deal waits for the manager; another user deciding it is refused by the engine.
    let rec = deal(&w, 100).await;
    let inst = start(&w, "deal_approval", &rec).await;
    let task = task_of(&w, "mgr", &inst).await.unwrap();
    let path = format!("/api/v1/flows/tasks/{task}/actions");
    let body = json!({"action": "approve"});
    let r = w.as_("x").send("POST", &path, Some(&body), &zh).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "flow.not_assignee", "{}", r.body);
    assert_eq!(r.body["error"]["message"], "你不是这项审批任务的处理人");
    let r = w.as_("x").send("POST", &path, Some(&body), &en).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "flow.not_assignee", "{}", r.body);
    let m = r.body["error"]["message"].as_str().unwrap();
    assert!(m.contains("is not the assignee of task"), "{m}");
    // The manager still decides it.
    approve(&w, "mgr", &inst).await;
}

/// Flow conditions draw from the command's rule budget: a gateway condition that spends it
/// fails the start with `limit.cpu` naming the flow, and nothing is stored (a second start
/// fails the same way, not as "already running").
async fn flow_conditions_share_the_write_budget(b: Backend) {
    let cfg = weft_runtime::RuntimeConfig {
        rules_budget_per_write: std::time::Duration::from_millis(2),
        ..weft_runtime::RuntimeConfig::default()
    };
    let w = world_with(TestApp::with_config(b, cfg).await).await;
    let mut def = big_deal_flow();
    // Legal (well under the 50 ms per-evaluation limit) but far over a 2 ms budget.
    def["edges"][1]["when"]["expr"] = json!(
        "let a = []; a.pad(5000, 1); a.map(|x| x + 1).reduce(|s, x| s + x, 0) > 0 && record.amount > 500000"
    );
    publish(&w, def).await;
    let rec = deal(&w, 900_000).await;
    for _ in 0..2 {
        let r = w
            .as_("ini")
            .post(
                "/api/v1/flows/instances",
                json!({"flow": "deal_approval", "record": rec}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "limit.cpu", "{}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("flow:deal_approval"),
            "{}",
            r.body
        );
    }
    // The record is not locked by a half-started approval: it can still be changed.
    let r = w
        .as_("ini")
        .patch(&format!("/api/v1/data/deal/{rec}"), json!({"amount": 10}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

dual!(
    flow_conditions_share_the_write_budget,
    errors_speak_the_callers_language,
    condition_today_follows_clock_and_zone,
    actions_deliver,
    definitions,
    big_deal_parallel,
    countersign_veto,
    small_deal_manager,
    sequential_transfer_add_signer_cc,
    return_resubmit_withdraw,
    racing_countersign,
    timers_fire_once,
    business_calendars,
    isolation,
    s02_incident_retry_skip_cancel,
    approver_edit_routes_later_gateway,
    s06_s10_s20_ratio_double_submit_empty_dedupe,
    s14_s15_s16_s18_more_operations,
    wait_until_record_condition,
    gateway_reads_the_flows_own_update,
    s01_s03_exclusive_order_and_default,
    s05_join_race,
    s25_script_error_is_an_incident,
    two_processes_race,
    s13_inclusive_join,
    s17_return_across_parallel,
    s21_reminder_cycle,
    s23_s24_versions_and_migration
);
