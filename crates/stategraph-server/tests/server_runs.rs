//! Runs over real HTTP, checked against the LangGraph transcripts: SSE framing, interrupts and
//! resume, wait/join, history and forks, multitask strategies, cancel, stateless runs, errors,
//! subgraph event names, and threads that survive a restart.

mod support {
    pub mod http;
    pub mod probe_graphs;
}

use std::time::Duration;

use serde_json::{Value, json};
use support::http::{TestServer, parse_sse, start, start_with};

const REJECT: &str =
    "Thread is already running a task. Wait for it to finish or choose a different multitask strategy.";

#[tokio::test]
async fn stream_values_updates_custom_is_framed_like_langgraph() {
    let s = start().await;
    let t = s.thread().await;
    let (headers, events, raw) = s
        .stream(
            &format!("/threads/{t}/runs/stream"),
            json!({"assistant_id": "simple", "input": {"value": 1}, "stream_mode": ["values", "updates", "custom"]}),
        )
        .await;
    assert_eq!(headers["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    let run_id = events[0].1["run_id"].as_str().unwrap().to_owned();
    assert_eq!(headers["content-location"], format!("/threads/{t}/runs/{run_id}").as_str());
    assert_eq!(headers["location"], format!("/threads/{t}/runs/{run_id}/stream").as_str());
    let expected = [
        ("metadata", json!({"run_id": run_id, "attempt": 1})),
        ("values", json!({"value": 1, "log": []})),
        ("updates", json!({"step_a": {"value": 2, "log": ["a"]}})),
        ("values", json!({"value": 2, "log": ["a"]})),
        ("custom", json!({"progress": "b", "value": 2})),
        ("updates", json!({"step_b": {"value": 20, "log": ["b"]}})),
        ("values", json!({"value": 20, "log": ["a", "b"]})),
        ("updates", json!({"step_c": {"value": 25, "log": ["c"]}})),
        ("values", json!({"value": 25, "log": ["a", "b", "c"]})),
    ];
    let expected: Vec<(String, Value)> = expected.into_iter().map(|(e, d)| (e.to_owned(), d)).collect();
    assert_eq!(events, expected);
    assert!(raw.starts_with("event: metadata\r\ndata: {\"run_id\":"), "CRLF framing, compact JSON: {raw:?}");
    assert!(!raw.contains("event: end"), "no end event");

    // The status is final when the stream closes (the SDKs would otherwise reconnect).
    let (_, run) = s.get(&format!("/threads/{t}/runs/{run_id}")).await;
    assert_eq!(run["status"], "success");
    let (_, thread) = s.get(&format!("/threads/{t}")).await;
    assert_eq!(thread["status"], "idle");
    assert_eq!(thread["values"], json!({"value": 25, "log": ["a", "b", "c"]}));
    assert_eq!(thread["metadata"]["graph_id"], "simple");
    let (_, runs) = s.get(&format!("/threads/{t}/runs?limit=10&offset=0")).await;
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["kwargs"]["stream_mode"], json!(["values", "updates", "custom"]));
}

#[tokio::test]
async fn interrupt_then_resume_with_command() {
    let s = start().await;
    let t = s.thread().await;
    let (_, events, _) = s
        .stream(
            &format!("/threads/{t}/runs/stream"),
            json!({"assistant_id": "approval", "input": {"request": "deploy"}, "stream_mode": ["values", "updates"]}),
        )
        .await;
    let interrupt = &events[4];
    assert_eq!(interrupt.0, "updates");
    let pending = &interrupt.1["__interrupt__"][0];
    assert_eq!(pending["value"], json!({"question": "approve?", "request": "deploy"}));
    assert_eq!(pending["response_schema"], json!(null));
    assert_eq!(pending["id"].as_str().unwrap().len(), 32);
    assert_eq!(events[5].0, "values");
    assert_eq!(events[5].1["__interrupt__"], interrupt.1["__interrupt__"], "announced twice, as LangGraph does");

    let (_, state) = s.get(&format!("/threads/{t}/state")).await;
    assert_eq!(state["next"], json!(["ask_human"]));
    assert_eq!(state["interrupts"][0], json!({"id": pending["id"], "value": pending["value"]}));
    let (_, thread) = s.get(&format!("/threads/{t}")).await;
    assert_eq!(thread["status"], "interrupted");
    let task_id = state["tasks"][0]["id"].as_str().unwrap();
    assert_eq!(thread["interrupts"][task_id][0]["id"], pending["id"]);

    let (status, out) = s
        .post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "approval", "command": {"resume": "yes"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        out,
        json!({"request": "deploy", "approved": true, "decision": "approved", "log": ["proposed:deploy", "answer:yes", "finish"]})
    );
    assert_eq!(s.get(&format!("/threads/{t}")).await.1["status"], "idle");
}

#[tokio::test]
async fn wait_bodies_for_interrupts_breakpoints_and_errors() {
    let s = start().await;
    let t = s.thread().await;
    let (_, out) = s
        .post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "approval", "input": {"request": "x"}}))
        .await;
    assert_eq!(out["log"], json!(["proposed:x"]));
    assert_eq!(out["__interrupt__"][0]["value"], json!({"question": "approve?", "request": "x"}));

    let t = s.thread().await;
    let (_, out) = s
        .post(
            &format!("/threads/{t}/runs/wait"),
            json!({"assistant_id": "simple", "input": {"value": 1}, "interrupt_before": ["step_b"]}),
        )
        .await;
    assert_eq!(out, json!({"value": 2, "log": ["a"]}), "a static breakpoint adds no __interrupt__");
    assert_eq!(s.get(&format!("/threads/{t}/state")).await.1["next"], json!(["step_b"]));
    let (_, out) = s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "simple", "input": null})).await;
    assert_eq!(out, json!({"value": 25, "log": ["a", "b", "c"]}));

    let t = s.thread().await;
    let (status, out) =
        s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "loop", "input": {"fail": true}})).await;
    assert_eq!(status, 200);
    assert_eq!(out, json!({"__error__": {"error": "ValueError", "message": "tick failed on purpose"}}));
    let (_, thread) = s.get(&format!("/threads/{t}")).await;
    assert_eq!(thread["status"], "error");
    assert_eq!(thread["error"], json!({"error": "ValueError", "message": "tick failed on purpose"}));
    let (_, events, _) =
        s.stream(&format!("/threads/{t}/runs/stream"), json!({"assistant_id": "loop", "input": {"fail": true}})).await;
    assert_eq!(
        events.last().unwrap(),
        &("error".to_owned(), json!({"error": "ValueError", "message": "tick failed on purpose"}))
    );

    // Missing thread / assistant.
    let missing = "0195f3a4-0000-7000-8000-0000000000aa";
    let (status, body) = s
        .post(&format!("/threads/{missing}/runs/wait"), json!({"assistant_id": "simple", "input": {"value": 1}}))
        .await;
    assert_eq!((status, body), (404, json!({"detail": "Thread or assistant not found."})));
    let (status, out) = s
        .post(
            &format!("/threads/{missing}/runs/wait"),
            json!({"assistant_id": "simple", "input": {"value": 1}, "if_not_exists": "create"}),
        )
        .await;
    assert_eq!((status, out["value"].clone()), (200, json!(25)));
}

#[tokio::test]
async fn history_replay_and_fork_by_checkpoint_id() {
    let s = start().await;
    let t = s.thread().await;
    s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "simple", "input": {"value": 1}})).await;
    let (_, history) = s.post(&format!("/threads/{t}/history"), json!({"limit": 10})).await;
    let history = history.as_array().unwrap().clone();
    assert_eq!(history.len(), 5);
    let nexts: Vec<Value> = history.iter().map(|h| h["next"].clone()).collect();
    assert_eq!(nexts, vec![json!([]), json!(["step_c"]), json!(["step_b"]), json!(["step_a"]), json!(["__start__"])]);
    for pair in history.windows(2) {
        assert_eq!(pair[0]["parent_checkpoint"]["checkpoint_id"], pair[1]["checkpoint"]["checkpoint_id"]);
    }
    assert_eq!(history[4]["metadata"]["source"], "input");
    assert_eq!(history[4]["metadata"]["step"], -1);
    let before_b = history[2]["checkpoint_id"].as_str().unwrap().to_owned();
    let (_, at) = s.get(&format!("/threads/{t}/state/{before_b}")).await;
    assert_eq!(at["values"], json!({"value": 2, "log": ["a"]}));
    let (_, at_post) =
        s.post(&format!("/threads/{t}/state/checkpoint"), json!({"checkpoint": {"checkpoint_id": before_b}})).await;
    assert_eq!(at_post["values"], at["values"]);
    let (status, _) = s.get(&format!("/threads/{t}/history?limit=2")).await;
    assert_eq!(status, 200);

    // Replay from a past checkpoint.
    let (_, out) = s
        .post(
            &format!("/threads/{t}/runs/wait"),
            json!({"assistant_id": "simple", "input": null, "checkpoint_id": before_b}),
        )
        .await;
    assert_eq!(out, json!({"value": 25, "log": ["a", "b", "c"]}));

    // Fork: edit the past checkpoint as step_a, then continue from the fork.
    let (status, upd) = s
        .post(
            &format!("/threads/{t}/state"),
            json!({"values": {"value": 100}, "checkpoint_id": before_b, "as_node": "step_a"}),
        )
        .await;
    assert_eq!(status, 200);
    let fork = upd["checkpoint_id"].as_str().unwrap().to_owned();
    assert_eq!(upd["configurable"]["checkpoint_id"], fork.as_str());
    let (_, forked) = s.get(&format!("/threads/{t}/state/{fork}")).await;
    assert_eq!(forked["metadata"]["source"], "update");
    assert_eq!(forked["parent_checkpoint"]["checkpoint_id"], before_b.as_str());
    let (_, out) = s
        .post(
            &format!("/threads/{t}/runs/wait"),
            json!({"assistant_id": "simple", "input": null, "checkpoint_id": fork}),
        )
        .await;
    assert_eq!(out, json!({"value": 1005, "log": ["a", "b", "c"]}));

    // update_state on the head: the reducer applies.
    s.post(&format!("/threads/{t}/state"), json!({"values": {"log": ["manual"]}})).await;
    assert_eq!(s.get(&format!("/threads/{t}/state")).await.1["values"]["log"], json!(["a", "b", "c", "manual"]));
}

async fn wait_status(s: &TestServer, t: &str, run: &str, want: &str) {
    for _ in 0..200 {
        if s.get(&format!("/threads/{t}/runs/{run}")).await.1["status"] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("run {run} never became {want}");
}

#[tokio::test]
async fn multitask_reject_enqueue_interrupt_and_cancel() {
    let s = start().await;
    let t = s.thread().await;
    let slow = json!({"assistant_id": "loop", "input": {"limit": 2, "sleep": 0.3}});
    let (status, first) = s.post(&format!("/threads/{t}/runs"), slow.clone()).await;
    assert_eq!((status, first["status"].clone()), (200, json!("pending")));
    let first_id = first["run_id"].as_str().unwrap().to_owned();
    assert_eq!(s.get(&format!("/threads/{t}")).await.1["status"], "busy");

    let reject = json!({"assistant_id": "loop", "input": {"limit": 1}, "multitask_strategy": "reject"});
    assert_eq!(s.post(&format!("/threads/{t}/runs"), reject.clone()).await, (409, json!({"detail": REJECT})));
    let r = s.client.post(format!("{}/threads/{t}/runs/stream", s.base)).json(&reject).send().await.unwrap();
    assert_eq!(r.status(), 409, "a plain JSON 409, not SSE");
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"detail": REJECT}));

    // Enqueue: runs after the first and sees its final state.
    let (_, queued) = s
        .post(
            &format!("/threads/{t}/runs"),
            json!({"assistant_id": "loop", "input": {"limit": 1}, "multitask_strategy": "enqueue"}),
        )
        .await;
    let queued_id = queued["run_id"].as_str().unwrap().to_owned();
    let (_, joined) = s.get(&format!("/threads/{t}/runs/{first_id}/join")).await;
    assert_eq!(joined["trace"], json!([1, 2]));
    let (_, joined) = s.get(&format!("/threads/{t}/runs/{queued_id}/join")).await;
    assert_eq!(joined["trace"], json!([1, 2, 3]), "the queued run continued the thread");

    // Interrupt: the active run ends `interrupted`, the new one runs.
    let (_, long) = s
        .post(&format!("/threads/{t}/runs"), json!({"assistant_id": "loop", "input": {"limit": 50, "sleep": 0.2}}))
        .await;
    let long_id = long["run_id"].as_str().unwrap().to_owned();
    wait_status(&s, &t, &long_id, "running").await;
    let (status, _) = s
        .post(
            &format!("/threads/{t}/runs"),
            json!({"assistant_id": "loop", "input": {"limit": 1}, "multitask_strategy": "interrupt"}),
        )
        .await;
    assert_eq!(status, 200);
    wait_status(&s, &t, &long_id, "interrupted").await;

    // Cancel: wait=0 answers 202 with no body; wait=1 waits for the run to stop.
    let (_, long) = s
        .post(&format!("/threads/{t}/runs"), json!({"assistant_id": "loop", "input": {"limit": 50, "sleep": 0.2}}))
        .await;
    let long_id = long["run_id"].as_str().unwrap().to_owned();
    wait_status(&s, &t, &long_id, "running").await;
    let r = s
        .client
        .post(format!("{}/threads/{t}/runs/{long_id}/cancel?wait=0&action=interrupt", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    assert!(r.text().await.unwrap().is_empty());
    wait_status(&s, &t, &long_id, "interrupted").await;
    let (_, long) = s
        .post(&format!("/threads/{t}/runs"), json!({"assistant_id": "loop", "input": {"limit": 50, "sleep": 0.2}}))
        .await;
    let long_id = long["run_id"].as_str().unwrap().to_owned();
    let (status, _) = s.post(&format!("/threads/{t}/runs/{long_id}/cancel?wait=1"), json!(null)).await;
    assert_eq!(status, 200);
    assert_eq!(s.get(&format!("/threads/{t}/runs/{long_id}")).await.1["status"], "interrupted");
    assert_ne!(s.get(&format!("/threads/{t}")).await.1["status"], "busy");

    assert_eq!(s.delete(&format!("/threads/{t}/runs/{long_id}")).await, 204);
    assert_eq!(s.get(&format!("/threads/{t}/runs/{long_id}")).await, (404, json!({"detail": "Not Found"})));
}

#[tokio::test]
async fn rollback_deletes_the_active_run_and_the_next_starts_where_it_started() {
    let s = start().await;
    let t = s.thread().await;
    let (_, long) = s
        .post(&format!("/threads/{t}/runs"), json!({"assistant_id": "loop", "input": {"limit": 50, "sleep": 0.2}}))
        .await;
    let long_id = long["run_id"].as_str().unwrap().to_owned();
    wait_status(&s, &t, &long_id, "running").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, next) = s
        .post(
            &format!("/threads/{t}/runs"),
            json!({"assistant_id": "loop", "input": {"limit": 1}, "multitask_strategy": "rollback"}),
        )
        .await;
    let (_, out) = s.get(&format!("/threads/{t}/runs/{}/join", next["run_id"].as_str().unwrap())).await;
    assert_eq!(out["trace"], json!([1]), "the rolled back run's ticks are not in the state");
    let (_, runs) = s.get(&format!("/threads/{t}/runs")).await;
    assert_eq!(runs.as_array().unwrap().len(), 1, "the rolled back run is gone: {runs}");
}

#[tokio::test]
async fn stateless_runs_subgraph_events_join_stream_and_heartbeats() {
    let mut config = support::probe_graphs::config().with_database(stategraph_server::Database::Memory);
    config.limits.heartbeat = Duration::from_millis(200);
    let s = start_with(config).await;
    let (_, out) = s.post("/runs/wait", json!({"assistant_id": "simple", "input": {"value": 2}})).await;
    assert_eq!(out, json!({"value": 35, "log": ["a", "b", "c"]}));
    let (headers, events, _) = s
        .stream("/runs/stream", json!({"assistant_id": "simple", "input": {"value": 2}, "stream_mode": ["updates"]}))
        .await;
    assert!(headers["location"].to_str().unwrap().starts_with("/runs/"));
    assert_eq!(events.len(), 4);
    assert_eq!(s.post("/threads/count", json!({})).await.1, json!(0), "the temporary threads are gone");

    let t = s.thread().await;
    let (_, events, _) = s
        .stream(
            &format!("/threads/{t}/runs/stream"),
            json!({"assistant_id": "nested", "input": {"value": 1}, "stream_mode": ["updates"], "stream_subgraphs": true}),
        )
        .await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names[1], "updates");
    assert!(names[2].starts_with("updates|inner:"), "{names:?}");
    assert_eq!(events[2].1, json!({"step_a": {"value": 102, "log": ["a"]}}));
    assert_eq!(events.last().unwrap().1, json!({"inner": {"value": 1025, "log": ["pre", "a", "b", "c"]}}));

    // Join a running run's stream (values only), with heartbeats while the node sleeps.
    let (_, run) = s
        .post(&format!("/threads/{t}/runs"), json!({"assistant_id": "loop", "input": {"limit": 2, "sleep": 0.5}}))
        .await;
    let run_id = run["run_id"].as_str().unwrap();
    let r =
        s.client.get(format!("{}/threads/{t}/runs/{run_id}/stream?stream_mode=values", s.base)).send().await.unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains(": heartbeat\r\n\r\n"), "{text:?}");
    let events = parse_sse(&text);
    assert!(events.iter().all(|(e, _)| e == "values"), "{events:?}");
    assert_eq!(events.last().unwrap().1["trace"], json!([1, 2]));
}

#[tokio::test]
async fn threads_runs_and_checkpoints_survive_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let config = || support::probe_graphs::config().with_database(stategraph_server::Database::Sqlite(db.clone()));
    let s = start_with(config()).await;
    let t = s.thread().await;
    s.post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "approval", "input": {"request": "ship"}})).await;
    s.server.shutdown().await.unwrap();

    let s = start_with(config()).await;
    let (_, thread) = s.get(&format!("/threads/{t}")).await;
    assert_eq!(thread["status"], "interrupted");
    assert_eq!(s.get(&format!("/threads/{t}/runs")).await.1.as_array().unwrap().len(), 1);
    let (_, out) = s
        .post(&format!("/threads/{t}/runs/wait"), json!({"assistant_id": "approval", "command": {"resume": "no"}}))
        .await;
    assert_eq!(out["decision"], "rejected");
}
