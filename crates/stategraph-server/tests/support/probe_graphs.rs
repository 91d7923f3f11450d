//! The probe graphs of the LangGraph API transcripts (`simple`, `approval`, `loop`, `nested`),
//! rebuilt in Rust so tests compare against the recorded responses.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use serde_json::json;
use stategraph_core::{
    ChannelSpec, END, NodeContext, NodeError, PathMap, Reducer, Route, START, Schema, State, StateGraph, Value,
};
use stategraph_server::ServerConfig;

fn log_key(schema: Schema) -> Schema {
    schema.key("log", ChannelSpec::reducer(Reducer::add()).with_default(json!([])))
}

/// START -> step_a (+1) -> step_b (x10, custom event) -> step_c (+5) -> END.
pub fn simple() -> StateGraph {
    let mut g = StateGraph::new(log_key(Schema::new().last_value("value")));
    g.add_node("step_a", |s: State, _c: NodeContext| async move {
        Ok::<_, NodeError>(json!({"value": s.get_i64("value") + 1, "log": ["a"]}))
    })
    .add_node("step_b", |s: State, c: NodeContext| async move {
        let v = s.get_i64("value");
        c.write(json!({"progress": "b", "value": v}));
        Ok::<_, NodeError>(json!({"value": v * 10, "log": ["b"]}))
    })
    .add_node("step_c", |s: State, _c: NodeContext| async move {
        Ok::<_, NodeError>(json!({"value": s.get_i64("value") + 5, "log": ["c"]}))
    })
    .add_edge(START, "step_a")
    .add_edge("step_a", "step_b")
    .add_edge("step_b", "step_c")
    .add_edge("step_c", END);
    g
}

/// propose -> ask_human (interrupt) -> finish.
pub fn approval() -> StateGraph {
    let schema = log_key(Schema::new().last_value("request").last_value("approved").last_value("decision"));
    let mut g = StateGraph::new(schema);
    g.add_node("propose", |s: State, _c: NodeContext| async move {
        let r = s.get_str("request").unwrap_or("").to_owned();
        Ok::<_, NodeError>(json!({"log": [format!("proposed:{r}")]}))
    })
    .add_node("ask_human", |s: State, c: NodeContext| async move {
        let r = s.get_str("request").unwrap_or("").to_owned();
        let answer = c.interrupt(json!({"question": "approve?", "request": r}))?;
        let answer = answer.as_str().unwrap_or("").to_owned();
        Ok::<_, NodeError>(json!({"approved": answer == "yes", "log": [format!("answer:{answer}")]}))
    })
    .add_node("finish", |s: State, _c: NodeContext| async move {
        let approved = s.get("approved").and_then(Value::as_bool).unwrap_or(false);
        let decision = if approved { "approved" } else { "rejected" };
        Ok::<_, NodeError>(json!({"decision": decision, "log": ["finish"]}))
    })
    .add_edge(START, "propose")
    .add_edge("propose", "ask_human")
    .add_edge("ask_human", "finish")
    .add_edge("finish", END);
    g
}

/// tick until `count` reaches `limit`; `sleep` seconds per tick; `fail` raises ValueError.
pub fn looping() -> StateGraph {
    let schema = Schema::new()
        .last_value("count")
        .last_value("limit")
        .last_value("fail")
        .last_value("sleep")
        .key("trace", ChannelSpec::reducer(Reducer::add()).with_default(json!([])));
    let mut g = StateGraph::new(schema);
    g.add_node("tick", |s: State, _c: NodeContext| async move {
        if s.get("fail").and_then(Value::as_bool).unwrap_or(false) {
            return Err(NodeError::permanent("tick failed on purpose").with_kind("ValueError"));
        }
        let secs = s.get("sleep").and_then(Value::as_f64).unwrap_or(0.0);
        if secs > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        }
        let n = s.get_i64("count") + 1;
        Ok(json!({"count": n, "trace": [n]}))
    })
    .add_edge(START, "tick")
    .add_conditional_edges(
        "tick",
        |s: &State| {
            if s.get_i64("count") < s.get("limit").and_then(Value::as_i64).unwrap_or(1) {
                Route::from("tick")
            } else {
                Route::end()
            }
        },
        PathMap::nodes(["tick", END]),
    );
    g
}

/// pre (+100) -> inner (the simple graph as a subgraph).
pub fn nested() -> StateGraph {
    let inner = simple().compile().expect("simple compiles");
    let mut g = StateGraph::new(log_key(Schema::new().last_value("value")));
    g.add_node("pre", |s: State, _c: NodeContext| async move {
        Ok::<_, NodeError>(json!({"value": s.get_i64("value") + 100, "log": ["pre"]}))
    })
    .add_node("inner", inner)
    .add_edge(START, "pre")
    .add_edge("pre", "inner")
    .add_edge("inner", END);
    g
}

/// A config serving all four.
pub fn config() -> ServerConfig {
    ServerConfig::new()
        .with_graph("simple", simple())
        .with_graph("approval", approval())
        .with_graph("loop", looping())
        .with_graph("nested", nested())
}
