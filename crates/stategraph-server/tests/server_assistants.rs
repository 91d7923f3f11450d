//! Assistants created through the API: create (with `if_exists`), get, search and count beside
//! the system assistants, patch (a new version each time), versions, latest (back to a version),
//! runs with them, delete; system assistants cannot be changed.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use serde_json::json;
use support::http::start;

const SIMPLE: &str = "5e0f6b46-d00f-5af4-87dc-ea2105ff526d";

#[tokio::test]
async fn assistants_are_created_versioned_used_and_deleted() {
    let s = start().await;
    let (status, a) = s
        .post(
            "/assistants",
            json!({"graph_id": "simple", "name": "simple-5", "config": {"configurable": {"k": 1}}, "metadata": {"purpose": "probe"}}),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["version"], 1);
    assert_eq!(a["context"], json!({}));
    assert_eq!(a["description"], json!(null));
    let id = a["assistant_id"].as_str().unwrap().to_owned();
    assert_ne!(id, SIMPLE);

    // The same id again: 409, or the existing one with `do_nothing`.
    let (status, body) = s.post("/assistants", json!({"graph_id": "simple", "assistant_id": id})).await;
    assert_eq!(status, 409, "{body}");
    let (status, same) =
        s.post("/assistants", json!({"graph_id": "simple", "assistant_id": id, "if_exists": "do_nothing"})).await;
    assert_eq!((status, same["name"].clone()), (200, json!("simple-5")));
    let (status, body) = s.post("/assistants", json!({"graph_id": "nope"})).await;
    assert_eq!(status, 404);
    assert!(body["detail"].as_str().unwrap().starts_with("Graph 'nope' not found"));
    assert_eq!(s.post("/assistants", json!({"name": "x"})).await.0, 422);

    assert_eq!(s.get(&format!("/assistants/{id}")).await, (200, a.clone()));
    let (_, found) = s.post("/assistants/search", json!({"graph_id": "simple"})).await;
    assert_eq!(found.as_array().unwrap().len(), 2, "the new one and the system one");
    assert_eq!(found[0]["assistant_id"], id.as_str());
    assert_eq!(s.post("/assistants/count", json!({"metadata": {"purpose": "probe"}})).await, (200, json!(1)));
    let (status, graph) = s.get(&format!("/assistants/{id}/graph")).await;
    assert_eq!(status, 200);
    assert_eq!(graph["nodes"][0]["id"], "__start__");

    // Patch: a new version; metadata merged, the rest replaced when given.
    let r = s
        .client
        .patch(format!("{}/assistants/{id}", s.base))
        .json(&json!({"name": "renamed", "metadata": {"extra": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v2: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v2["version"], 2);
    let (_, now) = s.get(&format!("/assistants/{id}")).await;
    assert_eq!(now["version"], 2);
    assert_eq!(now["name"], "renamed");
    assert_eq!(now["metadata"], json!({"purpose": "probe", "extra": true}));
    assert_eq!(now["config"], json!({"configurable": {"k": 1}}));
    let (status, versions) = s.post(&format!("/assistants/{id}/versions"), json!({})).await;
    assert_eq!(status, 200);
    let names: Vec<_> =
        versions.as_array().unwrap().iter().map(|v| (v["version"].clone(), v["name"].clone())).collect();
    assert_eq!(names, vec![(json!(2), json!("renamed")), (json!(1), json!("simple-5"))]);
    let (status, back) = s.post(&format!("/assistants/{id}/latest"), json!({"version": 1})).await;
    assert_eq!((status, back["version"].clone(), back["name"].clone()), (200, json!(1), json!("simple-5")));
    assert_eq!(s.get(&format!("/assistants/{id}")).await.1["name"], "simple-5");
    assert_eq!(s.post(&format!("/assistants/{id}/latest"), json!({"version": 9})).await.0, 404);

    // A run with the assistant: its graph, recorded under the assistant's id.
    let t = s.thread().await;
    let (status, out) =
        s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": id, "input": {"log": []}})).await;
    assert_eq!(status, 200, "{out}");
    let (_, runs) = s.get(&format!("/threads/{t}/runs")).await;
    assert_eq!(runs[0]["assistant_id"], id.as_str());
    assert_eq!(runs[0]["kwargs"]["config"]["configurable"]["k"], 1, "the assistant's config is the run's default");
    let (_, thread) = s.get(&format!("/threads/{t}")).await;
    assert_eq!(thread["metadata"]["assistant_id"], id.as_str());

    // System assistants follow their graph: they cannot be patched or deleted.
    let r = s.client.patch(format!("{}/assistants/{SIMPLE}", s.base)).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(s.delete(&format!("/assistants/{SIMPLE}")).await, 409);

    assert_eq!(s.delete(&format!("/assistants/{id}")).await, 204);
    assert_eq!(s.get(&format!("/assistants/{id}")).await.0, 404);
    assert_eq!(s.delete(&format!("/assistants/{id}")).await, 404);
    assert_eq!(s.post("/assistants/count", json!({})).await, (200, json!(4)), "the system assistants remain");
}
