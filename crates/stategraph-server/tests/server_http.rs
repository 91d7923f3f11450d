//! The non-run routes over real HTTP, checked against the LangGraph transcripts: system
//! assistants, threads, error shapes, limits, CORS and auth.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use serde_json::json;
use support::http::{start, start_with};

#[tokio::test]
async fn ok_info_and_system_assistants_with_langgraph_ids() {
    let s = start().await;
    assert_eq!(s.get("/ok").await, (200, json!({"ok": true, "services": {}})));
    let (status, info) = s.get("/info").await;
    assert_eq!(status, 200);
    assert_eq!(info["flags"]["assistants"], true);

    let r = s.post_raw("/assistants/search", r#"{"graph_id": "simple", "limit": 10, "offset": 0}"#).await;
    assert_eq!(r.headers()["x-pagination-total"], "1");
    let found: serde_json::Value = r.json().await.unwrap();
    assert_eq!(found[0]["assistant_id"], "5e0f6b46-d00f-5af4-87dc-ea2105ff526d", "uuid5 as LangGraph derives it");
    assert_eq!(found[0]["metadata"], json!({"created_by": "system"}));
    assert_eq!(found[0]["version"], 1);

    let (status, a) = s.get("/assistants/e234584d-b7bf-527f-9d06-ba77f8f5172d").await;
    assert_eq!((status, a["graph_id"].clone()), (200, json!("approval")));
    assert_eq!(s.get("/assistants/simple").await, (422, json!({"detail": "Invalid assistant ID: must be a UUID"})));
    let (status, body) = s.post("/assistants/search", json!({"graph_id": "nope"})).await;
    assert_eq!(status, 404);
    assert!(body["detail"].as_str().unwrap().starts_with("Graph 'nope' not found"));
    assert_eq!(s.post("/assistants/count", json!({})).await, (200, json!(4)));

    let (_, graph) = s.get("/assistants/5e0f6b46-d00f-5af4-87dc-ea2105ff526d/graph").await;
    assert_eq!(graph["nodes"][0], json!({"id": "__start__", "type": "runnable", "data": {"name": "__start__"}}));
    assert_eq!(graph["nodes"][4], json!({"id": "__end__"}));
    assert_eq!(graph["edges"][0], json!({"source": "__start__", "target": "step_a"}));
    assert_eq!(graph["edges"].as_array().unwrap().len(), 4);
    let (_, schemas) = s.get("/assistants/5e0f6b46-d00f-5af4-87dc-ea2105ff526d/schemas").await;
    assert_eq!(schemas["graph_id"], "simple");
    assert!(schemas["state_schema"]["properties"]["log"].is_object());
}

#[tokio::test]
async fn threads_create_get_patch_search_copy_delete() {
    let s = start().await;
    let id = "0195f3a4-0000-7000-8000-000000000001";
    let (status, t) = s.post("/threads", json!({"thread_id": id, "metadata": {"user": "probe"}})).await;
    assert_eq!(status, 200);
    assert_eq!(t["status"], "idle");
    assert_eq!(t["values"], json!(null));
    assert!(t.get("interrupts").is_none(), "a fresh thread omits error/interrupts");
    assert_eq!(
        s.post("/threads", json!({"thread_id": id})).await,
        (409, json!({"detail": format!("Thread with ID {id} already exists")}))
    );
    let (status, again) = s.post("/threads", json!({"thread_id": id, "if_exists": "do_nothing"})).await;
    assert_eq!((status, again["metadata"].clone()), (200, json!({"user": "probe"})));
    let (_, patched) = s
        .client
        .patch(format!("{}/threads/{id}", s.base))
        .json(&json!({"metadata": {"extra": 1}}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .map(|v| (0, v))
        .unwrap();
    assert_eq!(patched["metadata"], json!({"user": "probe", "extra": 1}));
    let (_, found) = s.post("/threads/search", json!({"metadata": {"user": "probe"}})).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(s.get(&format!("/threads/{id}/state")).await.1["values"], json!({}), "empty state, not 404");

    s.post(&format!("/threads/{id}/runs/wait"), json!({"assistant_id": "simple", "input": {"value": 1}})).await;
    let (status, copy) = s.post(&format!("/threads/{id}/copy"), json!(null)).await;
    assert_eq!(status, 200);
    let copy_id = copy["thread_id"].as_str().unwrap();
    assert_ne!(copy_id, id);
    let (_, copied_state) = s.get(&format!("/threads/{copy_id}/state")).await;
    assert_eq!(copied_state["values"], json!({"value": 25, "log": ["a", "b", "c"]}), "checkpoints copied");

    assert_eq!(s.delete(&format!("/threads/{id}")).await, 204);
    assert_eq!(
        s.get(&format!("/threads/{id}")).await,
        (404, json!({"detail": format!("Thread with ID {id} not found")}))
    );
    assert_eq!(s.get("/threads/not-a-uuid").await, (422, json!({"detail": "Invalid thread ID: must be a UUID"})));
}

#[tokio::test]
async fn bad_input_gets_clean_4xx_and_the_server_keeps_serving() {
    let mut config = support::probe_graphs::config().with_database(stategraph_server::Database::Memory);
    config.limits.max_body_bytes = 4096;
    let s = start_with(config).await;
    let r = s.post_raw("/threads/search", "not json").await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({"detail": "Invalid JSON in request body"}));
    let r = s.post_raw("/threads", format!("{{\"metadata\": {{\"x\": \"{}\"}}}}", "a".repeat(10_000))).await;
    assert_eq!(r.status(), 413);
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    assert_eq!(s.post_raw("/threads/search", deep).await.status(), 422);
    for body in [json!([1]), json!({"limit": "ten"}), json!({"metadata": 3}), json!("x")] {
        let (status, err) = s.post("/threads/search", body).await;
        assert_eq!(status, 422, "{err}");
        assert!(err["detail"].is_string());
    }
    let t = s.thread().await;
    let (status, _) =
        s.post(&format!("/threads/{t}/runs"), json!({"assistant_id": "simple", "stream_mode": "bogus"})).await;
    assert_eq!(status, 422);
    let (status, _) = s.post(&format!("/threads/{t}/runs"), json!({"assistant_id": 7})).await;
    assert_eq!(status, 422);
    // Unknown fields are ignored (the SDKs send several).
    let (status, _) = s
        .post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "simple", "input": {"value": 1}, "langsmith_tracer": {"x": 1}, "feedback_keys": null}))
        .await;
    assert_eq!(status, 200);
    let r = s.client.patch(format!("{}/threads/{t}/state", s.base)).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({"detail": "Method Not Allowed"}));
    assert_eq!(s.get("/nope").await, (404, json!({"detail": "Not Found"})));
    assert_eq!(s.get("/ok").await.0, 200, "still serving");
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let s = start().await;
    let r = s
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/threads/search", s.base))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-api-key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.headers()["access-control-allow-headers"], "content-type,x-api-key");
    assert_eq!(r.headers()["access-control-allow-private-network"], "true");
    let r = s.client.get(format!("{}/ok", s.base)).header("origin", "http://localhost:5173").send().await.unwrap();
    let exposed = r.headers()["access-control-expose-headers"].to_str().unwrap().to_owned();
    for h in ["x-pagination-total", "x-pagination-next", "content-location"] {
        assert!(exposed.contains(h), "{exposed}");
    }
}

#[tokio::test]
async fn a_token_is_required_when_configured_and_non_loopback_binds_need_one() {
    let s = start_with(
        support::probe_graphs::config().with_database(stategraph_server::Database::Memory).with_auth_token("s3cret"),
    )
    .await;
    assert_eq!(s.get("/ok").await.0, 200, "health checks stay open");
    assert_eq!(s.get("/threads/0195f3a4-0000-7000-8000-000000000001").await.0, 401);
    let r = s
        .client
        .post(format!("{}/threads", s.base))
        .header("x-api-key", "s3cret")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s.client.post(format!("{}/threads", s.base)).bearer_auth("s3cret").json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = s.client.post(format!("{}/threads", s.base)).bearer_auth("wrong").json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 401);

    let open = stategraph_server::ServerConfig::new()
        .with_database(stategraph_server::Database::Memory)
        .with_bind("0.0.0.0".parse().unwrap(), 0);
    let err = stategraph_server::spawn(open).await.err().expect("refused");
    assert!(err.to_string().contains("auth token"), "{err}");
}
