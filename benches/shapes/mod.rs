//! The benchmark shapes, defined once and used by the criterion bench (`benches/engine.rs`) and
//! by the timing binary of the Python comparison (`benches/compare/bench_shapes.rs`).
//!
//! Each shape is the twin of the one in `benches/compare/py_shapes.py`: same nodes, edges, state
//! keys, reducers and data written. `compare.py` checks that both sides end in the same state, so
//! a change here needs the same change there. The shapes follow LangGraph's own suite
//! (`libs/langgraph/bench/`), with deterministic inputs.
//!
//! Lives in `benches/shapes/mod.rs` rather than `benches/shapes.rs` because Cargo would take
//! every `benches/*.rs` for a bench target of its own.

mod prebuilt;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use stategraph::prelude::*;
use stategraph::{Map, Node, Value, sync_node};

/// Shape names, in the order they are reported.
pub(crate) const NAMES: [&str; 11] = [
    "sequential_10",
    "sequential_1000",
    "fanout_static_100",
    "fanout_to_subgraph_10x",
    "fanout_to_subgraph_100x",
    "react_agent_10x",
    "react_agent_100x",
    "react_prebuilt_10x",
    "react_prebuilt_100x",
    "wide_state_25x300",
    "wide_state_15x600",
];

/// LangGraph's suite runs with a limit of 10^9 so that no shape hits it.
const RECURSION_LIMIT: usize = 1_000_000_000;

const LETTERS: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";

/// A compiled graph with its input: one run of it is one benchmark iteration.
pub(crate) struct Shape {
    pub(crate) name: &'static str,
    pub(crate) graph: CompiledGraph,
    pub(crate) input: Value,
    pub(crate) config: RunConfig,
}

impl Shape {
    /// Builds the shape called `name`, without a checkpointer.
    pub(crate) fn new(name: &str) -> Option<Shape> {
        Shape::build(name, CompileOptions::default())
    }

    /// Builds the shape called `name` with a checkpointer; run it with [`Shape::run_on_thread`].
    #[allow(dead_code)] // used by `bench_savers`, not by every includer of this module
    pub(crate) fn with_checkpointer(name: &str, saver: Arc<dyn Checkpointer>) -> Option<Shape> {
        Shape::build(name, CompileOptions::with_checkpointer(saver))
    }

    fn build(name: &str, options: CompileOptions) -> Option<Shape> {
        // The prebuilt agent compiles itself (with `options`).
        let prebuilt = match name {
            "react_prebuilt_10x" => Some(("react_prebuilt_10x", 10)),
            "react_prebuilt_100x" => Some(("react_prebuilt_100x", 100)),
            _ => None,
        };
        if let Some((name, n)) = prebuilt {
            let graph = prebuilt::react_prebuilt(n, options);
            let input = prebuilt::react_prebuilt_input();
            return Some(Shape { name, graph, input, config: RunConfig::new().with_recursion_limit(RECURSION_LIMIT) });
        }
        let (name, builder, input) = match name {
            "sequential_10" => ("sequential_10", sequential(10), json!({"messages": [], "count": 0}).into()),
            "sequential_1000" => ("sequential_1000", sequential(1000), json!({"messages": [], "count": 0}).into()),
            "fanout_static_100" => ("fanout_static_100", fanout_static(100), json!({"results": []}).into()),
            "fanout_to_subgraph_10x" => ("fanout_to_subgraph_10x", fanout_to_subgraph(), subjects_input(10)),
            "fanout_to_subgraph_100x" => ("fanout_to_subgraph_100x", fanout_to_subgraph(), subjects_input(100)),
            "react_agent_10x" => ("react_agent_10x", react_agent(10), react_input()),
            "react_agent_100x" => ("react_agent_100x", react_agent(100), react_input()),
            "wide_state_25x300" => ("wide_state_25x300", wide_state(300), wide_input(5, 5)),
            "wide_state_15x600" => ("wide_state_15x600", wide_state(600), wide_input(3, 5)),
            _ => return None,
        };
        let graph = builder.compile_with(options).unwrap_or_else(|e| panic!("shape {name} does not compile: {e}"));
        Some(Shape { name, graph, input, config: RunConfig::new().with_recursion_limit(RECURSION_LIMIT) })
    }

    /// Every shape, in report order.
    pub(crate) fn all() -> Vec<Shape> {
        NAMES.iter().map(|n| Shape::new(n).expect("known shape")).collect()
    }

    /// One run with an input prepared by the caller (so that copying the input is not timed:
    /// the engine takes it by value, Python by reference).
    pub(crate) async fn run(&self, input: Value) -> Value {
        match self.graph.invoke(input, self.config.clone()).await {
            Ok(out) => out,
            Err(e) => panic!("shape {} failed: {e}", self.name),
        }
    }

    /// One run on thread `thread` of the checkpointer (a fresh id per run starts from scratch),
    /// with the given durability.
    #[allow(dead_code)] // used by `bench_savers`
    pub(crate) async fn run_on_thread(&self, input: Value, thread: &str, durability: Durability) -> Value {
        let config = self.config.clone().with_thread(thread).with_durability(durability);
        match self.graph.invoke(input, config).await {
            Ok(out) => out,
            Err(e) => panic!("shape {} failed on thread {thread}: {e}", self.name),
        }
    }
}

/// An object from engine values (whose clones share, like Python references). Nodes use it rather
/// than `json!`, whose `serde_json::Value` the engine would convert: a copy the Python twin does
/// not make.
fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    pairs.into_iter().collect()
}

fn add_key(default: serde_json::Value) -> ChannelSpec {
    ChannelSpec::reducer(Reducer::add()).with_default(default)
}

/// `sequential_N`: a chain of N nodes, each appending its name and incrementing a counter.
fn sequential(n: usize) -> StateGraph {
    let schema = Schema::new().key("messages", add_key(json!([]))).key("count", add_key(json!(0)));
    let mut g = StateGraph::new(schema);
    let mut prev = START.to_owned();
    for i in 0..n {
        let name = format!("node_{i}");
        let label = Value::from(name.clone());
        g.add_node(
            &name,
            sync_node(move |_s, _ctx| {
                Ok::<_, String>(obj([("messages", Value::from(vec![label.clone()])), ("count", Value::from(1))]))
            }),
        );
        g.add_edge(prev.as_str(), &name);
        prev = name;
    }
    g.add_edge(prev.as_str(), END);
    g
}

/// `fanout_static_N`: one node with N plain edges to N workers, joined back into one node.
fn fanout_static(n: usize) -> StateGraph {
    let schema = Schema::new().key("results", add_key(json!([]))).last_value("total");
    let mut g = StateGraph::new(schema);
    g.add_node("fan", sync_node(|_s, _ctx| Ok::<_, String>(obj([("results", Value::from(vec![Value::from("fan")]))]))));
    g.add_edge(START, "fan");
    let mut workers = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("w_{i:03}");
        g.add_node(
            &name,
            sync_node(move |_s, _ctx| Ok::<_, String>(obj([("results", Value::from(vec![Value::from(i)]))]))),
        );
        g.add_edge("fan", &name);
        workers.push(name);
    }
    g.add_node(
        "join",
        sync_node(|s: State, _ctx| {
            let total: i64 = s.get_array("results").into_iter().flatten().filter_map(Value::as_i64).sum();
            Ok::<_, String>(obj([("total", Value::from(total))]))
        }),
    );
    g.add_edge(workers, "join");
    g.add_edge("join", END);
    g
}

/// Deterministic "random" letters; `py_shapes.lcg_letters` computes the same sequence.
pub(crate) fn lcg_letters(count: usize, length: usize) -> Vec<Vec<String>> {
    let mut x: u64 = 12345;
    (0..count)
        .map(|_| {
            (0..length)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    char::from(LETTERS[((x >> 33) % 26) as usize]).to_string()
                })
                .collect()
        })
        .collect()
}

fn subjects_input(n: usize) -> Value {
    json!({ "subjects": lcg_letters(n, 1000) }).into()
}

/// Python's `str()` of a string or a list of strings (`f"{subject}"` in the Python twin).
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Array(items) => {
            let mut out = String::with_capacity(items.len() * 5 + 2);
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push('\'');
                out.push_str(item.as_str().unwrap_or_default());
                out.push('\'');
            }
            out.push(']');
            out
        }
        other => other.to_string(),
    }
}

/// `fanout_to_subgraph_Nx`: LangGraph's shape. START sends each subject to a subgraph that runs
/// 12 steps (edit, generate, then bump ten times).
fn fanout_to_subgraph() -> StateGraph {
    let schema = Schema::new().last_value("subject").last_value("jokes");
    let mut sub = StateGraph::new(schema).with_input_keys(["subject"]).with_output_keys(["jokes"]);
    let reads = |key: &str| NodeOptions::new().input_keys([key]);
    sub.add_node_with(
        "edit",
        sync_node(|s: State, _ctx| {
            let subject = s.get("subject").map(py_str).unwrap_or_default();
            Ok::<_, String>(obj([("subject", Value::from(format!("{subject} - hohoho")))]))
        }),
        reads("subject"),
    );
    sub.add_node_with(
        "generate",
        sync_node(|s: State, _ctx| {
            let subject = s.get("subject").map(py_str).unwrap_or_default();
            Ok::<_, String>(obj([("jokes", Value::from(vec![Value::from(format!("Joke about {subject}"))]))]))
        }),
        reads("subject"),
    );
    sub.add_node_with(
        "bump",
        sync_node(|s: State, _ctx| {
            let first = s.get_array("jokes").and_then(|j| j.first()).and_then(Value::as_str).unwrap_or_default();
            Ok::<_, String>(obj([("jokes", Value::from(vec![Value::from(format!("{first} a"))]))]))
        }),
        reads("jokes"),
    );
    sub.set_entry_point("edit");
    sub.add_edge("edit", "generate");
    sub.add_edge("generate", "bump");
    let done = " a".repeat(10);
    sub.add_conditional_edges(
        "bump",
        move |s: &State| {
            let first = s.get_array("jokes").and_then(|j| j.first()).and_then(Value::as_str).unwrap_or_default();
            if first.ends_with(&done) { END } else { "bump" }
        },
        (),
    );
    sub.set_finish_point("generate");
    let sub = sub.compile().expect("joke subgraph compiles");

    let schema = Schema::new().last_value("subjects").key("jokes", add_key(json!([])));
    let mut g = StateGraph::new(schema);
    g.add_node("generate_joke", sub);
    g.add_conditional_edges(
        START,
        |s: &State| {
            s.get_array("subjects")
                .into_iter()
                .flatten()
                .map(|subject| stategraph::Send::new("generate_joke", obj([("subject", subject.clone())])))
                .collect::<Vec<_>>()
        },
        (),
    );
    g.add_edge("generate_joke", END);
    g
}

/// The tool call query of round `i`: 36 characters (a uuid in LangGraph's suite) times 100.
fn query_for(i: usize) -> String {
    format!("{i:036}").repeat(100)
}

fn react_input() -> Value {
    json!({"messages": [{"role": "human", "id": "human-0", "content": "hi?"}]}).into()
}

/// `react_agent_Nx`: a scripted model asks for a tool N times, then answers; a tool node answers
/// each call; messages are plain JSON appended with `add`.
fn react_agent(n: usize) -> StateGraph {
    // The fake model's scripted responses, built once (as LangGraph's FakeMessagesListChatModel).
    let mut responses: Vec<Value> = (0..n)
        .map(|i| {
            Value::from(json!({
                "role": "ai",
                "id": format!("ai-{i}"),
                "content": "",
                "tool_calls": [{"id": format!("call-{i}"), "name": "search", "args": {"query": query_for(i)}}],
            }))
        })
        .collect();
    responses.push(json!({"role": "ai", "id": "ai-final", "content": "answer".repeat(100), "tool_calls": []}).into());
    let responses = Arc::new(responses);

    let schema = Schema::new().key("messages", add_key(json!([])));
    let mut g = StateGraph::new(schema);
    g.add_node(
        "agent",
        sync_node(move |s: State, _ctx| {
            // One human message, then an (ai, tool) pair per round.
            let len = s.get_array("messages").map_or(0, Vec::len);
            let i = (len.saturating_sub(1) / 2).min(n);
            Ok::<_, String>(obj([("messages", Value::from(vec![responses[i].clone()]))]))
        }),
    );
    g.add_node(
        "tools",
        sync_node(|s: State, _ctx| {
            let last = s.get_array("messages").and_then(|m| m.last()).unwrap_or(&Value::Null);
            let calls = last["tool_calls"].as_array().map(Vec::as_slice).unwrap_or_default();
            let out: Vec<Value> = calls
                .iter()
                .map(|call| {
                    let query = call["args"]["query"].as_str().unwrap_or_default();
                    obj([
                        ("role", Value::from("tool")),
                        ("id", Value::from(format!("tool-{}", call["id"].as_str().unwrap_or_default()))),
                        ("tool_call_id", call["id"].clone()),
                        ("name", call["name"].clone()),
                        ("content", Value::from(format!("result for query: {query}").repeat(10))),
                    ])
                })
                .collect();
            Ok::<_, String>(obj([("messages", Value::from(out))]))
        }),
    );
    g.add_edge(START, "agent");
    g.add_conditional_edges(
        "agent",
        |s: &State| {
            let last = s.get_array("messages").and_then(|m| m.last());
            let calls = last.and_then(|m| m["tool_calls"].as_array()).is_some_and(|c| !c.is_empty());
            if calls { "tools" } else { END }
        },
        ["tools", END],
    );
    g.add_edge("tools", "agent");
    g
}

/// LangGraph's wide-state input message: `outer` keys, each a dict of `inner` keys, each a list of
/// 25 scalars (built through `serde_json`, so every list is its own, as in Python).
pub(crate) fn wide_message(outer: usize, inner: usize) -> serde_json::Value {
    let leaf = json!(["hi?".repeat(10), true, 1, 6327816386138_i64, null]);
    let list: Vec<serde_json::Value> = (0..5).flat_map(|_| leaf.as_array().cloned().unwrap_or_default()).collect();
    let mut m = serde_json::Map::new();
    for i in 0..outer {
        let mut d = serde_json::Map::new();
        for j in 0..inner {
            d.insert(j.to_string().repeat(10), serde_json::Value::Array(list.clone()));
        }
        m.insert(i.to_string().repeat(10), serde_json::Value::Object(d));
    }
    serde_json::Value::Object(m)
}

fn wide_input(outer: usize, inner: usize) -> Value {
    json!({"messages": [wide_message(outer, inner)]}).into()
}

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        // A host object: Python objects are truthy by default.
        Value::Foreign(_) => true,
    }
}

/// `random.choice` letters, as the Python nodes write (not compared, only their length).
fn random_letters(n: usize) -> String {
    static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(LETTERS[(x % 26) as usize])
        })
        .collect()
}

const LIST_FIELDS: [&str; 6] =
    ["messages", "trigger_events", "categorizations", "responses", "memory_docs", "relevant_rules"];
const DICT_FIELDS: [&str; 6] =
    ["user_info", "crm_info", "slack_participants", "notified_assignees", "autoresponse", "issue"];

/// The node of `wide_state`: reads one key, writes each of `write` with the last item of it (dict
/// keys), all of it (list keys) or a random string of `n` letters (the others).
fn read_write(read: &'static str, write: &'static [&'static str], n: usize) -> impl Node {
    sync_node(move |s: State, _ctx| {
        let raw = s.get(read).unwrap_or(&Value::Null);
        let wrapped;
        let val = match raw {
            Value::String(st) => {
                wrapped = Value::from_iter([(st.as_str(), raw.clone())]);
                &wrapped
            }
            other => other,
        };
        let single = match val {
            Value::Array(a) => a.last().unwrap_or(&Value::Null),
            other => other,
        };
        let mut out = Map::with_capacity(write.len());
        for &k in write {
            let v = if LIST_FIELDS.contains(&k) {
                match val {
                    Value::Array(_) => val.clone(),
                    other => Value::from(vec![other.clone()]),
                }
            } else if DICT_FIELDS.contains(&k) {
                single.clone()
            } else {
                Value::from(random_letters(n))
            };
            out.insert(k.into(), v);
        }
        Ok::<_, String>(Value::from(out))
    })
}

/// `wide_state_KxN`: LangGraph's shape; 15 keys with assorted reducers, six nodes in a loop that
/// copy lists and dicts between keys until `messages` has more than `n` items.
fn wide_state(n: usize) -> StateGraph {
    // The lambdas of LangGraph's suite: `y or x`, `y if y is not None else x`, `y`.
    let y_or_x = || {
        Reducer::new("y_or_x", |cur, upd| {
            if truthy(&upd) {
                *cur = upd;
            }
            Ok(())
        })
    };
    let y_unless_none = || {
        Reducer::new("y_unless_none", |cur, upd| {
            if !upd.is_null() {
                *cur = upd;
            }
            Ok(())
        })
    };
    let always_y = || {
        Reducer::new("y", |cur, upd| {
            *cur = upd;
            Ok(())
        })
    };
    let schema = Schema::new()
        .key("messages", add_key(json!([])))
        .key("trigger_events", add_key(json!([])))
        .key("primary_issue_medium", ChannelSpec::reducer(y_or_x()).with_default(json!("")))
        .key("autoresponse", ChannelSpec::reducer(always_y()))
        .key("issue", ChannelSpec::reducer(y_or_x()))
        .last_value("relevant_rules")
        .last_value("memory_docs")
        .key("categorizations", add_key(json!([])))
        .key("responses", add_key(json!([])))
        .key("user_info", ChannelSpec::reducer(y_unless_none()))
        .key("crm_info", ChannelSpec::reducer(y_unless_none()))
        .key("email_thread_id", ChannelSpec::reducer(y_unless_none()))
        .key("slack_participants", ChannelSpec::reducer(Reducer::merge()).with_default(json!({})))
        .last_value("bot_id")
        .key("notified_assignees", ChannelSpec::reducer(Reducer::merge()).with_default(json!({})));
    let mut g = StateGraph::new(schema);
    g.add_edge(START, "one");
    g.add_node("one", read_write("messages", &["trigger_events", "primary_issue_medium"], n));
    g.add_edge("one", "two");
    g.add_node("two", read_write("trigger_events", &["autoresponse", "issue"], n));
    g.add_edge("two", "three");
    g.add_edge("two", "four");
    g.add_node("three", read_write("autoresponse", &["relevant_rules"], n));
    g.add_node("four", read_write("trigger_events", &["categorizations", "responses", "memory_docs"], n));
    g.add_node(
        "five",
        read_write(
            "categorizations",
            &["user_info", "crm_info", "email_thread_id", "slack_participants", "bot_id", "notified_assignees"],
            n,
        ),
    );
    g.add_edge(["three", "four"], "five");
    g.add_edge("five", "six");
    g.add_node("six", read_write("responses", &["messages"], n));
    g.add_conditional_edges(
        "six",
        move |s: &State| if s.get_array("messages").map_or(0, Vec::len) > n { END } else { "one" },
        (),
    );
    g
}
