//! ToolNode: parallel tool calls, tool errors as messages, unknown tools, bad arguments;
//! `tools_condition`; and the ReAct agent over the scripted model.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use stategraph_core::{END, Error, RunConfig, State};
use stategraph_prebuilt::{
    Message, ReactAgent, ScriptedModel, Tool, ToolCall, ToolError, ToolNode, ToolStatus, Trim, coerce_messages,
    create_react_agent, tool_fn, tools_condition,
};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Sleep {
    /// Milliseconds.
    ms: u64,
    label: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Div {
    a: f64,
    b: f64,
}

fn sleeper(running: Arc<AtomicUsize>, peak: Arc<AtomicUsize>) -> Arc<dyn Tool> {
    Arc::new(tool_fn("sleep", "Sleeps, then returns its label.", move |s: Sleep| {
        let (running, peak) = (running.clone(), peak.clone());
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(s.ms)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ToolError>(s.label)
        }
    }))
}

fn divide() -> Arc<dyn Tool> {
    Arc::new(tool_fn("divide", "Divides a by b.", |d: Div| async move {
        if d.b == 0.0 { Err(ToolError::new("division by zero")) } else { Ok(d.a / d.b) }
    }))
}

fn call(name: &str, args: serde_json::Value, id: &str) -> ToolCall {
    ToolCall::new(name, args, id)
}

#[tokio::test]
async fn tool_calls_run_in_parallel_and_answer_in_call_order() {
    let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let node = ToolNode::new(vec![sleeper(running, peak.clone())]);
    let start = Instant::now();
    let out = node
        .run(vec![
            call("sleep", json!({"ms": 600, "label": "slow"}), "c1"),
            call("sleep", json!({"ms": 200, "label": "fast"}), "c2"),
            call("sleep", json!({"ms": 400, "label": "mid"}), "c3"),
        ])
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(peak.load(Ordering::SeqCst), 3, "all three ran at the same time");
    assert!(elapsed < Duration::from_millis(1100), "parallel, not 1.2 s in a row: {elapsed:?}");
    let got: Vec<_> = out.iter().map(|m| (m.text(), m.tool_call_id().unwrap().to_owned())).collect();
    assert_eq!(got, [("slow".into(), "c1".into()), ("fast".into(), "c2".into()), ("mid".into(), "c3".into())]);
    assert!(out.iter().all(|m| m.tool_status() == Some(ToolStatus::Success) && m.name.as_deref() == Some("sleep")));
}

#[tokio::test]
async fn tool_errors_become_error_messages() {
    let node = ToolNode::new(vec![divide()]);
    let out = node
        .run(vec![
            call("divide", json!({"a": 1, "b": 4}), "ok"),
            call("divide", json!({"a": 1, "b": 0}), "zero"),
            call("divide", json!({"a": 1}), "missing"),
            call("search", json!({"q": "x"}), "unknown"),
        ])
        .await
        .unwrap();
    assert_eq!(out[0].text(), "0.25");
    assert_eq!(out[0].tool_status(), Some(ToolStatus::Success));
    assert_eq!(out[1].text(), "Error: division by zero\n Please fix your mistakes.");
    assert_eq!(out[1].tool_status(), Some(ToolStatus::Error));
    assert!(out[2].text().starts_with("Error: invalid arguments for `divide`: missing field `b`"), "{}", out[2].text());
    assert_eq!(out[2].tool_status(), Some(ToolStatus::Error));
    assert_eq!(out[3].text(), "Error: search is not a valid tool, try one of [divide].");
    assert_eq!(out[3].tool_call_id(), Some("unknown"));
}

#[tokio::test]
async fn without_error_handling_a_failing_tool_fails_the_node() {
    let node = ToolNode::new(vec![divide()]).handle_errors(false);
    let err = node.run(vec![call("divide", json!({"a": 1, "b": 0}), "zero")]).await.unwrap_err();
    assert_eq!(err.kind(), "ToolException");
    assert!(err.message().contains("division by zero"));
}

#[test]
fn tools_condition_routes_on_tool_calls() {
    let with_calls = State::from_value(json!({"messages": [
        {"type": "human", "content": "hi"},
        {"type": "ai", "content": "", "tool_calls": [{"name": "f", "args": {}, "id": "1"}]}]}));
    assert_eq!(tools_condition(&with_calls), "tools".into());
    let answered = State::from_value(json!({"messages": [{"type": "ai", "content": "done"}]}));
    assert_eq!(tools_condition(&answered), END.into());
    assert_eq!(tools_condition(&State::from_value(json!({"messages": []}))), END.into());
}

fn history(out: &stategraph_core::Value) -> Vec<Message> {
    coerce_messages(&out["messages"]).unwrap()
}

#[tokio::test]
async fn react_agent_loops_through_parallel_tools_and_errors() {
    let model = ScriptedModel::new([
        Message::ai_with_tool_calls(
            "Let me compute.",
            vec![call("divide", json!({"a": 1, "b": 2}), "c1"), call("divide", json!({"a": 1, "b": 0}), "c2")],
        ),
        Message::ai_with_tool_calls("", vec![call("divide", json!({"a": 3, "b": 4}), "c3")]),
        Message::ai("0.5, undefined, 0.75"),
    ]);
    let agent = ReactAgent::builder(model.clone(), vec![divide()]).prompt("You divide.").build().unwrap();
    let out = agent.invoke(json!({"messages": [["user", "1/2, 1/0, 3/4?"]]}), RunConfig::default()).await.unwrap();
    let h = history(&out);
    let kinds: Vec<_> = h.iter().map(|m| m.type_name()).collect();
    assert_eq!(kinds, ["human", "ai", "tool", "tool", "ai", "tool", "ai"]);
    assert_eq!(h[2].text(), "0.5");
    assert_eq!(h[3].tool_status(), Some(ToolStatus::Error));
    assert_eq!(h[6].text(), "0.5, undefined, 0.75");
    assert!(h.iter().all(|m| m.id.as_deref().is_some_and(|id| !id.is_empty())), "every message got an id");

    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].messages[0], Message::system("You divide."), "the prompt comes first, not stored in state");
    assert_eq!(requests[0].tools[0].name, "divide");
    assert_eq!(requests[0].tools[0].parameters["required"], json!(["a", "b"]));
    assert_eq!(requests[2].messages.len(), 1 + 6, "prompt + the history so far");
}

#[tokio::test]
async fn react_agent_without_tools_answers_once() {
    let agent = create_react_agent(ScriptedModel::new([Message::ai("hi!")]), vec![]).unwrap();
    let out = agent.invoke(json!({"messages": "hello"}), RunConfig::default()).await.unwrap();
    assert_eq!(history(&out).len(), 2);
}

#[tokio::test]
async fn react_agent_pre_model_trims_what_the_model_sees() {
    let model = ScriptedModel::new([Message::ai("ok")]);
    let agent = ReactAgent::builder(model.clone(), vec![divide()]).pre_model(Trim::last(1)).build().unwrap();
    let input = json!({"messages": [["user", "one"], ["ai", "two"], ["user", "three"]]});
    let out = agent.invoke(input, RunConfig::default()).await.unwrap();
    assert_eq!(history(&out).len(), 4, "the state keeps everything");
    let seen = &model.requests()[0].messages;
    assert_eq!(seen.iter().map(Message::text).collect::<Vec<_>>(), ["three"]);
}

#[tokio::test]
async fn react_agent_stops_asking_for_tools_at_the_step_limit() {
    let looping = ScriptedModel::from_fn(|_| {
        Ok(Message::ai_with_tool_calls("", vec![ToolCall::new("divide", json!({"a": 1, "b": 1}), "again")]))
    });
    let agent = create_react_agent(looping, vec![divide()]).unwrap();
    let out = agent.invoke(json!({"messages": "loop"}), RunConfig::default().with_recursion_limit(6)).await.unwrap();
    let h = history(&out);
    assert_eq!(h.last().unwrap().text(), "Sorry, need more steps to process this request.");
    assert!(!h.last().unwrap().has_tool_calls());
}

#[tokio::test]
async fn model_errors_fail_the_run_with_the_node_named() {
    let agent = create_react_agent(ScriptedModel::new([]), vec![divide()]).unwrap();
    let err = agent.invoke(json!({"messages": "hi"}), RunConfig::default()).await.unwrap_err();
    assert!(matches!(&err, Error::NodeFailed { node, .. } if node == "agent"), "{err}");
    assert!(err.to_string().contains("no scripted answer left"), "{err}");
}
