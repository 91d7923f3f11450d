//! Parity with Python LangGraph: every case in `tests/parity/cases/` is built with Stategraph and
//! run in every mode its fixture recorded; the results must equal what LangGraph did
//! (`tests/parity/fixtures/`, written by `tests/parity/record.py`). One test per case.
//!
//! Filter like any test: `cargo nextest run --test parity_langgraph join_`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Map, Value, json};
mod support {
    pub mod backends;
}

use stategraph::checkpoint::{CheckpointConfig, Checkpointer, ListFilter};
use stategraph::{
    ChannelSpec, Command, CommandGraph, CompileOptions, CompiledGraph, Error, Goto, Managed, NodeContext, NodeError,
    NodeOptions, NodeOutput, PathMap, Reducer, RetryPolicy, Route, RunConfig, Schema, Send, State, StateGraph,
    StateSnapshot, StreamMode, StreamOptions,
};

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir.join("cases"))
        .expect("tests/parity/cases")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    cases.sort();
    let trials = cases
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let fixture = dir.join("fixtures").join(format!("{name}.json"));
            Trial::test(name, move || run_case(&path, &fixture))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn read_json(path: &Path) -> Result<Value, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn run_case(case_path: &Path, fixture_path: &Path) -> Result<(), Failed> {
    let case = read_json(case_path)?;
    if !fixture_path.exists() {
        return Err(format!("no fixture {}: run tests/parity/record.py", fixture_path.display()).into());
    }
    let fixture = read_json(fixture_path)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(check_case(&case, &fixture))
}

async fn check_case(case: &Value, fixture: &Value) -> Result<(), Failed> {
    let expect = case.get("rust_expect").filter(|v| !v.is_null());
    // Compile-time checks use the strict default; runs use `allow_unreachable`, because some
    // cases keep a node nothing leads to on purpose (Stategraph rejects those, see
    // `compile_dangling_node`) and we still want to compare what happens at run time.
    let compiled = build(case, false);
    if let Some(code) = expect.and_then(|e| e.get("compile_error")).and_then(Value::as_str) {
        return match compiled {
            Err(e) if e.code() == code => Ok(()),
            Err(e) => Err(format!("expected compile error {code}, got {e}").into()),
            Ok(_) => Err(format!("expected compile error {code}, but the graph compiled").into()),
        };
    }
    if let Some(err) = fixture.get("compile_error").filter(|v| !v.is_null()) {
        return match compiled {
            Err(_) => Ok(()),
            Ok(_) => Err(format!("LangGraph rejected this graph ({err}), Stategraph compiled it").into()),
        };
    }
    if let Err(e) = compiled
        && e.code() != "SG006"
    {
        return Err(format!("compile failed: {e}").into());
    }
    let overrides = expect.and_then(|e| e.get("runs")).and_then(Value::as_object);
    if case.get("script").is_some() {
        let recorded = overrides.and_then(|o| o.get("script")).unwrap_or(&fixture["runs"]["script"]);
        return check_script(case, recorded).await;
    }
    let runs = fixture["runs"].as_object().ok_or("fixture has no runs")?;
    let mut failures = Vec::new();
    for (mode, recorded) in runs {
        // Each run gets a fresh graph, so failure counters start again (as in record.py).
        let graph = build(case, true).map_err(|e| e.to_string())?;
        let (ours, error) = run_mode(&graph, case, mode).await;
        // A deliberate difference replaces what LangGraph recorded for this mode.
        let recorded = overrides.and_then(|o| o.get(mode)).unwrap_or(recorded);
        let (ours, recorded_value) = if mode == "invoke" {
            (ours.into_iter().next().unwrap_or(Value::Null), recorded["output"].clone())
        } else {
            (Value::Array(ours), recorded["chunks"].clone())
        };
        if let Some(code) = expect.and_then(|e| e.get("error")).and_then(Value::as_str) {
            match &error {
                Some(e) if e.code() == code => continue,
                other => {
                    failures.push(format!("[{mode}] expected error {code}, got {other:?}"));
                    continue;
                }
            }
        }
        let recorded_error = recorded.get("error").filter(|v| !v.is_null());
        match (recorded_error, &error) {
            (None, Some(e)) => failures.push(format!("[{mode}] LangGraph succeeded, we failed: {e}")),
            (Some(re), None) => failures.push(format!("[{mode}] LangGraph failed with {re}, we succeeded")),
            (Some(re), Some(e)) => {
                let want = re["type"].as_str().unwrap_or_default();
                if want != e.langgraph_name() {
                    failures.push(format!("[{mode}] error type: LangGraph {want} ({}), ours {e}", re["message"]));
                }
            }
            (None, None) => {}
        }
        let ours = normalise(ours);
        let recorded_value = normalise(recorded_value);
        if ours != recorded_value {
            failures.push(format!(
                "[{mode}] differs\n  LangGraph: {}\n  Stategraph: {}",
                serde_json::to_string(&recorded_value).unwrap(),
                serde_json::to_string(&ours).unwrap()
            ));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n").into()) }
}

// ---------------------------------------------------------------------------------------------
// Scripts: several operations on one thread with a checkpointer (record.py's `run_script`)

/// Runs the script on every backend (memory, SQLite, PostgreSQL); each must match the fixture
/// (record.py checked that LangGraph's InMemorySaver and SqliteSaver agree on it).
async fn check_script(case: &Value, recorded: &Value) -> Result<(), Failed> {
    let name = case["name"].as_str().unwrap_or("script");
    let mut failures = Vec::new();
    for backend in support::backends::backends(name).await {
        if let Err(e) = check_script_on(case, recorded, backend.saver.clone()).await {
            failures.push(format!("on {}: {}", backend.name, e.message().unwrap_or("failed")));
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n").into()) }
}

async fn check_script_on(case: &Value, recorded: &Value, saver: Arc<dyn Checkpointer>) -> Result<(), Failed> {
    let list = |k: &str| -> Vec<String> {
        case.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let options = CompileOptions {
        allow_unreachable: true,
        checkpointer: Some(saver),
        interrupt_before: list("interrupt_before"),
        interrupt_after: list("interrupt_after"),
        ..CompileOptions::default()
    };
    let graph = build_with(case, options).map_err(|e| e.to_string())?;
    let thread_id = support::backends::thread("parity");
    let thread = CheckpointConfig::thread(&thread_id);
    let mut base = RunConfig::new().with_thread(&thread_id);
    if let Some(limit) = case.pointer("/config/recursion_limit").and_then(Value::as_u64) {
        base = base.with_recursion_limit(limit as usize);
    }
    if let Some(ctx) = case.get("context").filter(|v| !v.is_null()) {
        base = base.with_context(ctx.clone());
    }
    if let Some(d) = case.get("durability").and_then(Value::as_str) {
        base = base.with_durability(serde_json::from_value(json!(d)).map_err(|e| e.to_string())?);
    }
    let mut ours = Vec::new();
    for op in case["script"].as_array().ok_or("script is not a list")? {
        let kind = op["op"].as_str().unwrap_or_default();
        let mut out = Map::new();
        out.insert("op".into(), json!(kind));
        let (config, at) = match op.get("at").and_then(Value::as_u64) {
            Some(i) => {
                let history =
                    graph.get_state_history(&thread, ListFilter::default()).await.map_err(|e| e.to_string())?;
                let c = history.get(i as usize).ok_or("history index out of range")?.config.clone();
                (c, true)
            }
            None => (thread.clone(), false),
        };
        let mut run_config = base.clone();
        if at {
            run_config.checkpoint_id = config.checkpoint_id;
        }
        let result: Result<(), Error> = async {
            match kind {
                "invoke" => {
                    let input = script_input(&graph, &thread, op.get("input")).await?;
                    out.insert("output".into(), graph.invoke(input, run_config).await?.to_json());
                }
                "stream" => {
                    let input = script_input(&graph, &thread, op.get("input")).await?;
                    let mode: StreamMode = op.get("mode").and_then(Value::as_str).unwrap_or("updates").parse().unwrap();
                    let mut stream = graph.stream(input, run_config, StreamOptions::mode(mode));
                    let mut chunks = Vec::new();
                    while let Some(item) = stream.next().await {
                        chunks.push(item?.data.to_json());
                    }
                    out.insert("chunks".into(), Value::Array(chunks));
                }
                "get_state" => {
                    out.insert("state".into(), snapshot_json(&graph.get_state(&config).await?));
                }
                "history" => {
                    let h = graph.get_state_history(&config, ListFilter::default()).await?;
                    out.insert("history".into(), Value::Array(h.iter().map(snapshot_json).collect()));
                }
                "update_state" => {
                    let values = op.get("values").cloned().unwrap_or(Value::Null);
                    graph.update_state(&config, values, op.get("as_node").and_then(Value::as_str)).await?;
                }
                other => panic!("unknown script op {other}"),
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            out.insert("error".into(), json!({"type": e.langgraph_name(), "message": e.to_string()}));
        }
        ours.push(Value::Object(out));
    }
    let (ours, recorded) = (normalise(Value::Array(ours)), normalise(recorded.clone()));
    if ours == recorded {
        return Ok(());
    }
    let mut failures = Vec::new();
    for (i, (o, r)) in ours.as_array().unwrap().iter().zip(recorded.as_array().into_iter().flatten()).enumerate() {
        if o != r {
            failures.push(format!(
                "[script op {i}] differs\n  LangGraph: {}\n  Stategraph: {}",
                serde_json::to_string(r).unwrap(),
                serde_json::to_string(o).unwrap()
            ));
        }
    }
    if failures.is_empty() {
        failures.push(format!(
            "script lengths differ: ours {}, LangGraph {}",
            ours.as_array().unwrap().len(),
            recorded.as_array().map_or(0, Vec::len)
        ));
    }
    Err(failures.join("\n").into())
}

async fn script_input(
    graph: &CompiledGraph,
    thread: &CheckpointConfig,
    v: Option<&Value>,
) -> Result<stategraph::Input, Error> {
    Ok(match v {
        Some(Value::Object(m)) if m.contains_key("$command") => {
            stategraph::Input::Command(command_from(&m["$command"], &Env::empty()))
        }
        Some(Value::Object(m)) if m.len() == 1 && m.contains_key("$resume") => {
            stategraph::Input::Command(Command::new().resume(m["$resume"].clone()))
        }
        Some(Value::Object(m)) if m.len() == 1 && m.contains_key("$resume_all") => {
            let prefix = m["$resume_all"].clone();
            let pending = graph.get_state(thread).await?.interrupts;
            let answers: Vec<(String, stategraph::Value)> = pending
                .iter()
                .map(|i| (i.id.clone(), stategraph::Value::from(json!([prefix.clone(), i.value.to_json()]))))
                .collect();
            stategraph::Input::Command(Command::new().resume_map(answers))
        }
        Some(v) => stategraph::Input::from(v.clone()),
        None => stategraph::Input::from(Value::Null),
    })
}

fn snapshot_json(s: &StateSnapshot) -> Value {
    let tasks: Vec<Value> = s
        .tasks
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                // LangGraph shows the exception's repr: `ValueError('boom')`.
                "error": t.error.as_ref().map(|e| format!(
                    "{}({:?})",
                    e.get("type").and_then(|v| v.as_str()).unwrap_or("Exception"),
                    e.get("message").and_then(|v| v.as_str()).unwrap_or_default()
                ).replace('"', "'")),
                "interrupts": t.interrupts.iter().map(|i| i.value.to_json()).collect::<Vec<_>>(),
                "result": t.result.as_ref().map(|r| r.to_json()),
            })
        })
        .collect();
    json!({
        "values": s.values.to_json(),
        "next": s.next,
        "source": s.metadata.as_ref().map(|m| json!(m.source)),
        "step": s.metadata.as_ref().map(|m| m.step),
        "tasks": tasks,
        "interrupts": s.interrupts.iter().map(|i| i.value.to_json()).collect::<Vec<_>>(),
    })
}

/// How record.py shapes the chunks of a run.
enum Shape {
    Plain,
    /// `[namespace, chunk]` (`stream(..., subgraphs=True)`).
    Namespaced,
    /// `[mode, chunk]` (a list of stream modes).
    Moded,
}

async fn run_mode(graph: &CompiledGraph, case: &Value, mode: &str) -> (Vec<Value>, Option<Error>) {
    let input = match case.get("input") {
        Some(Value::Object(m)) if m.contains_key("$command") => {
            stategraph::Input::Command(command_from(&m["$command"], &Env::empty()))
        }
        Some(v) => stategraph::Input::from(v.clone()),
        None => stategraph::Input::from(Value::Null),
    };
    let mut config = RunConfig::default();
    if let Some(limit) = case.pointer("/config/recursion_limit").and_then(Value::as_u64) {
        config = config.with_recursion_limit(limit as usize);
    }
    if let Some(ctx) = case.get("context").filter(|v| !v.is_null()) {
        config = config.with_context(ctx.clone());
    }
    if mode == "invoke" {
        return match graph.invoke(input, config).await {
            Ok(v) => (vec![v.to_json()], None),
            Err(e) => (vec![], Some(e)),
        };
    }
    let (opts, shape) = match mode {
        "subgraphs_updates" => (StreamOptions::mode(StreamMode::Updates).with_subgraphs(true), Shape::Namespaced),
        "multi" => (
            StreamOptions::modes([
                StreamMode::Values,
                StreamMode::Updates,
                StreamMode::Custom,
                StreamMode::Tasks,
                StreamMode::Debug,
            ]),
            Shape::Moded,
        ),
        m => (StreamOptions::mode(m.parse().expect("known mode")), Shape::Plain),
    };
    let mut stream = graph.stream(input, config, opts);
    let mut chunks = Vec::new();
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(ev) => chunks.push(match shape {
                Shape::Namespaced => json!([ev.namespace, ev.data]),
                Shape::Moded => json!([ev.mode.as_str(), ev.data]),
                Shape::Plain => ev.data.to_json(),
            }),
            Err(e) => error = Some(e),
        }
    }
    (chunks, error)
}

/// Drops what differs by construction between two runs (ids, timestamps) and strips task ids
/// from namespaces, as record.py does.
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "id" | "timestamp" | "checkpoint_id" | "parent_config" | "config")
                })
                .map(|(k, v)| match (k.as_str(), v) {
                    // Error messages are each engine's own words; the type must agree.
                    ("error", Value::Object(e)) if e.contains_key("type") => {
                        let t = e.get("type").cloned().unwrap_or_default();
                        (k, json!({ "type": t }))
                    }
                    (_, v) => (k, normalise(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::String(s) => match s.split_once(':') {
            // "node:<uuid-like task id>" in namespaces
            Some((name, id)) if id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4 => {
                Value::String(name.to_owned())
            }
            _ => Value::String(s),
        },
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// Building a graph from a case

fn build(spec: &Value, allow_unreachable: bool) -> stategraph::Result<CompiledGraph> {
    build_with(spec, CompileOptions { allow_unreachable, ..CompileOptions::default() })
}

fn build_with(spec: &Value, options: CompileOptions) -> stategraph::Result<CompiledGraph> {
    build_graph_with(spec, spec.get("subgraphs").unwrap_or(&Value::Null), options)
}

fn build_graph(spec: &Value, all_subgraphs: &Value, allow_unreachable: bool) -> stategraph::Result<CompiledGraph> {
    build_graph_with(spec, all_subgraphs, CompileOptions { allow_unreachable, ..CompileOptions::default() })
}

fn build_graph_with(spec: &Value, all_subgraphs: &Value, options: CompileOptions) -> stategraph::Result<CompiledGraph> {
    let allow_unreachable = options.allow_unreachable;
    let compile_options = options;
    // Subgraphs may be defined at the top level or next to the graph that uses them.
    let mut subgraph_specs = all_subgraphs.as_object().cloned().unwrap_or_default();
    if let Some(local) = spec.get("subgraphs").and_then(Value::as_object) {
        subgraph_specs.extend(local.clone());
    }
    let subgraph_specs = Value::Object(subgraph_specs);
    let mut graph = StateGraph::new(schema(spec));
    // `nodes` is an object, or a list of `[name, NODE]` pairs (the only way to add a name twice).
    let nodes: Vec<(String, Value)> = match spec.get("nodes") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(Value::Array(pairs)) => {
            pairs.iter().map(|p| (p[0].as_str().unwrap_or_default().to_owned(), p[1].clone())).collect()
        }
        _ => Vec::new(),
    };
    for (name, node) in &nodes {
        let mut options = NodeOptions::new();
        if node.get("defer").and_then(Value::as_bool) == Some(true) {
            options = options.defer();
        }
        if let Some(keys) = node.get("input_keys").and_then(Value::as_array) {
            options = options.input_keys(keys.iter().filter_map(|k| k.as_str().map(str::to_owned)));
        }
        if let Some(meta) = node.get("metadata").and_then(Value::as_object) {
            for (k, v) in meta {
                options = options.metadata(k.clone(), v.clone());
            }
        }
        if let Some(retry) = node.get("retry") {
            options = options.retry(retry_policy(retry));
        }
        let known = |n: &String| nodes.iter().any(|(k, _)| k == n);
        options = options.destinations(destinations(node, &subgraph_specs).into_iter().filter(known));
        if let Some(sub) = node.get("subgraph").and_then(Value::as_str) {
            let compiled = build_graph(&subgraph_specs[sub], &subgraph_specs, allow_unreachable)?;
            graph.add_node_with(name.clone(), compiled, options);
            continue;
        }
        let invoked = match node.pointer("/invoke_subgraph/graph").and_then(Value::as_str) {
            Some(g) => Some(build_graph(&subgraph_specs[g], &subgraph_specs, allow_unreachable)?),
            None => None,
        };
        let behaviour = Arc::new(Behaviour { spec: node.clone(), calls: AtomicI64::new(0), invoked });
        graph.add_node_with(
            name.clone(),
            move |input: State, ctx: NodeContext| {
                let b = behaviour.clone();
                async move { b.run(input, ctx).await }
            },
            options,
        );
    }
    for edge in spec.get("edges").and_then(Value::as_array).into_iter().flatten() {
        let to = edge[1].as_str().unwrap_or_default();
        match &edge[0] {
            Value::String(from) => graph.add_edge(from.as_str(), to),
            Value::Array(froms) => {
                graph.add_edge(froms.iter().filter_map(|f| f.as_str().map(str::to_owned)).collect::<Vec<String>>(), to)
            }
            other => panic!("bad edge source {other}"),
        };
    }
    for ce in spec.get("conditional_edges").and_then(Value::as_array).into_iter().flatten() {
        let source = ce["source"].as_str().unwrap_or_default();
        let router = ce["router"].clone();
        let path_map = match &ce["path_map"] {
            Value::Array(nodes) => PathMap::nodes(nodes.iter().filter_map(|n| n.as_str().map(str::to_owned))),
            Value::Object(m) => {
                PathMap::labels(m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())))
            }
            _ => PathMap::none(),
        };
        graph.add_router(source, Arc::new(move |s: &State| Ok(route(&router, s))), path_map);
    }
    graph.compile_with(compile_options)
}

fn schema(spec: &Value) -> Schema {
    let mut schema = Schema::new();
    let empty = Map::new();
    for (key, def) in spec.get("state").and_then(Value::as_object).unwrap_or(&empty) {
        if let Some(m) = def.get("managed").and_then(Value::as_str) {
            let managed = match m {
                "remaining_steps" => Managed::RemainingSteps,
                "is_last_step" => Managed::IsLastStep,
                other => panic!("unknown managed value {other}"),
            };
            schema = schema.managed(key.clone(), managed);
            continue;
        }
        let default = match def.get("type").and_then(Value::as_str).unwrap_or("any") {
            "list" => Some(json!([])),
            "int" => Some(json!(0)),
            "float" => Some(json!(0.0)),
            "str" => Some(json!("")),
            "dict" => Some(json!({})),
            "bool" => Some(json!(false)),
            _ => None,
        };
        let spec = match (def.get("reducer").and_then(Value::as_str), def.get("channel").and_then(Value::as_str)) {
            (Some(r), _) => {
                let reducer = match r {
                    "add" => Reducer::add(),
                    "append_item" => Reducer::append(),
                    "merge" => Reducer::merge(),
                    "min" => Reducer::min(),
                    "max" => Reducer::max(),
                    other => panic!("unknown reducer {other}"),
                };
                let s = ChannelSpec::reducer(reducer);
                match default {
                    Some(d) => s.with_default(d),
                    None => s,
                }
            }
            (None, Some("topic")) => ChannelSpec::topic(false),
            (None, Some("topic_accumulate")) => ChannelSpec::topic(true),
            (None, Some("ephemeral")) => ChannelSpec::ephemeral(),
            (None, Some("untracked")) => ChannelSpec::untracked(),
            (None, Some(other)) => panic!("unknown channel {other}"),
            (None, None) => ChannelSpec::last_value(),
        };
        schema = schema.key(key.clone(), spec);
    }
    schema
}

fn retry_policy(spec: &Value) -> RetryPolicy {
    let mut p = RetryPolicy::new()
        .max_attempts(spec.get("max_attempts").and_then(Value::as_u64).unwrap_or(3) as u32)
        .initial_interval(Duration::ZERO)
        .jitter(false);
    match spec.get("retry_on").and_then(Value::as_str).unwrap_or("default") {
        "all" => p = p.retry_on(|_| true),
        "default" => {}
        kind => {
            let class = exception_class(kind);
            p = p.retry_on(move |e| e.kind() == class);
        }
    }
    p
}

/// The Python exception class of a `fail.kind`.
fn exception_class(kind: &str) -> &'static str {
    match kind {
        "value_error" => "ValueError",
        "type_error" => "TypeError",
        "runtime_error" => "RuntimeError",
        "connection_error" => "ConnectionError",
        "key_error" => "KeyError",
        other => panic!("unknown exception kind {other}"),
    }
}

/// Where a node can go with a Command, declared like LangGraph's `destinations`.
fn destinations(node: &Value, subgraphs: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let collect = |goto: &Value, out: &mut Vec<String>| {
        let items = match goto {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for g in items {
            match g {
                Value::String(s) if s != "__end__" => out.push(s),
                Value::Object(o) => {
                    if let Some(n) = o.get("send").and_then(Value::as_str) {
                        out.push(n.to_owned());
                    }
                }
                _ => {}
            }
        }
    };
    if let Some(cmd) = node.get("command")
        && cmd.get("graph").and_then(Value::as_str) != Some("PARENT")
    {
        collect(&cmd["goto"], &mut out);
    }
    // A subgraph whose nodes send Commands to the parent makes this node go there.
    let sub = node.get("subgraph").or_else(|| node.pointer("/invoke_subgraph/graph")).and_then(Value::as_str);
    if let Some(sub) = sub {
        for inner in subgraphs[sub].get("nodes").and_then(Value::as_object).into_iter().flat_map(|m| m.values()) {
            if inner.pointer("/command/graph").and_then(Value::as_str) == Some("PARENT") {
                collect(&inner["command"]["goto"], &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

// ---------------------------------------------------------------------------------------------
// Node behaviour

struct Behaviour {
    spec: Value,
    calls: AtomicI64,
    invoked: Option<CompiledGraph>,
}

impl Behaviour {
    async fn run(&self, input: State, ctx: NodeContext) -> Result<NodeOutput, NodeError> {
        let spec = &self.spec;
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(fail) = spec.get("fail") {
            let times = fail.get("times").and_then(Value::as_i64).unwrap_or(-1);
            if times < 0 || call < times {
                let kind = fail.get("kind").and_then(Value::as_str).unwrap_or("value_error");
                let message = fail.get("message").and_then(Value::as_str).unwrap_or("boom");
                let class = exception_class(kind);
                // Python's default_retry_on does not retry these programming errors.
                let permanent = matches!(class, "ValueError" | "TypeError" | "RuntimeError" | "KeyError");
                return Err(NodeError::new(message).with_kind(class).with_retryable(!permanent));
            }
        }
        let mut env = Env {
            state: input.to_value().to_json(),
            context: ctx.context().to_json(),
            result: Value::Null,
            resume: Value::Null,
            node: ctx.node().to_owned(),
        };
        for c in spec.get("custom").and_then(Value::as_array).into_iter().flatten() {
            ctx.write(eval(c, &env));
        }
        if let Some(questions) = spec.get("interrupt").and_then(Value::as_array) {
            let mut answers = Vec::new();
            for q in questions {
                answers.push(ctx.interrupt(eval(q, &env))?.to_json());
            }
            env.resume = Value::Array(answers);
        }
        if let (Some(sub), Some(inv)) = (&self.invoked, spec.get("invoke_subgraph")) {
            let sub_input = eval(&inv["input"], &env);
            env.result = sub.invoke(sub_input, ctx.child_config()).await?.to_json();
            return Ok(eval(&inv["update"], &env).into());
        }
        if spec.get("return_none").and_then(Value::as_bool) == Some(true) {
            return Ok(NodeOutput::None);
        }
        if let Some(cmd) = spec.get("command") {
            return Ok(NodeOutput::Command(command_from(cmd, &env)));
        }
        match spec.get("update") {
            Some(u) => Ok(eval(u, &env).into()),
            None => Ok(NodeOutput::None),
        }
    }
}

fn command_from(spec: &Value, env: &Env) -> Command {
    let mut cmd = Command::new();
    if let Some(u) = spec.get("update").filter(|u| !u.is_null())
        && let Value::Object(m) = eval(u, env)
    {
        cmd = cmd.update(Value::Object(m));
    }
    if let Some(goto) = spec.get("goto") {
        cmd.goto = gotos(goto, env);
    }
    if spec.get("graph").and_then(Value::as_str) == Some("PARENT") {
        cmd.graph = CommandGraph::Parent;
    }
    cmd
}

fn gotos(spec: &Value, env: &Env) -> Vec<Goto> {
    match spec {
        Value::Null => vec![],
        Value::String(s) => vec![Goto::Node(s.clone())],
        Value::Array(items) => items.iter().flat_map(|i| gotos(i, env)).collect(),
        Value::Object(o) => match o.get("send").and_then(Value::as_str) {
            Some(node) => vec![Goto::Send(Send::new(node, eval(&o["arg"], env)))],
            None => panic!("bad goto {spec}"),
        },
        other => panic!("bad goto {other}"),
    }
}

fn route(spec: &Value, state: &State) -> Route {
    let env = Env {
        state: state.to_value().to_json(),
        context: Value::Null,
        result: Value::Null,
        resume: Value::Null,
        node: String::new(),
    };
    Route(route_value(spec, &env))
}

fn route_value(spec: &Value, env: &Env) -> Vec<Goto> {
    let to_gotos = |v: &Value| gotos(v, env);
    match spec["type"].as_str().unwrap_or_default() {
        "const" => to_gotos(&spec["value"]),
        "key" => to_gotos(env.state.get(spec["key"].as_str().unwrap_or_default()).unwrap_or(&Value::Null)),
        "threshold" => {
            let v = env.state.get(spec["key"].as_str().unwrap_or_default()).and_then(Value::as_f64).unwrap_or(0.0);
            let lt = spec["lt"].as_f64().unwrap_or(0.0);
            to_gotos(if v < lt { &spec["then"] } else { &spec["else"] })
        }
        "send" => {
            let node = spec["node"].as_str().unwrap_or_default();
            let items = env.state.get(spec["key"].as_str().unwrap_or_default()).and_then(Value::as_array).cloned();
            items
                .unwrap_or_default()
                .into_iter()
                .map(|item| {
                    let mut e = env.clone();
                    e.result = Value::Null;
                    let arg = eval_with_item(&spec["arg"], &e, &item);
                    Goto::Send(Send::new(node, arg))
                })
                .collect()
        }
        "concat" => spec["routers"].as_array().into_iter().flatten().flat_map(|r| route_value(r, env)).collect(),
        other => panic!("unknown router type {other}"),
    }
}

#[derive(Clone)]
struct Env {
    state: Value,
    context: Value,
    result: Value,
    resume: Value,
    node: String,
}

impl Env {
    fn empty() -> Env {
        Env { state: json!({}), context: Value::Null, result: Value::Null, resume: Value::Null, node: String::new() }
    }
}

fn eval(spec: &Value, env: &Env) -> Value {
    eval_inner(spec, env, None)
}

fn eval_with_item(spec: &Value, env: &Env, item: &Value) -> Value {
    eval_inner(spec, env, Some(item))
}

fn eval_inner(spec: &Value, env: &Env, item: Option<&Value>) -> Value {
    match spec {
        Value::String(s) if s.starts_with('$') => reference(s, env, item),
        Value::Array(items) => Value::Array(items.iter().map(|i| eval_inner(i, env, item)).collect()),
        Value::Object(m) if m.len() == 1 && m.keys().next().is_some_and(|k| k.starts_with('$')) => {
            let (op, arg) = m.iter().next().unwrap();
            let args: Vec<Value> = match arg {
                Value::Array(a) => a.iter().map(|x| eval_inner(x, env, item)).collect(),
                other => vec![eval_inner(other, env, item)],
            };
            match op.as_str() {
                "$add" => add(&args[0], &args[1]),
                "$len" => json!(match &args[0] {
                    Value::Array(a) => a.len(),
                    Value::String(s) => s.chars().count(),
                    Value::Object(o) => o.len(),
                    _ => 0,
                }),
                "$list" => Value::Array(args),
                "$overwrite" => json!({"__overwrite__": args[0]}),
                other => panic!("unknown operation {other}"),
            }
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), eval_inner(v, env, item))).collect()),
        other => other.clone(),
    }
}

fn reference(s: &str, env: &Env, item: Option<&Value>) -> Value {
    let mut parts = s[1..].split('.');
    let root = match parts.next().unwrap_or_default() {
        "state" => &env.state,
        "context" => &env.context,
        "result" => &env.result,
        "resume" => &env.resume,
        "node" => return Value::String(env.node.clone()),
        "item" => item.unwrap_or(&Value::Null),
        other => panic!("unknown reference ${other}"),
    };
    let mut cur = root;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m.get(p).unwrap_or(&Value::Null),
            Value::Array(a) => p.parse::<usize>().ok().and_then(|i| a.get(i)).unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
    }
    cur.clone()
}

fn add(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Null, other) | (other, Value::Null) => other.clone(),
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => json!(x + y),
            _ => json!(x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0)),
        },
        (Value::Array(x), Value::Array(y)) => Value::Array(x.iter().chain(y).cloned().collect()),
        (Value::String(x), Value::String(y)) => Value::String(format!("{x}{y}")),
        (x, y) => panic!("cannot add {x} and {y}"),
    }
}
