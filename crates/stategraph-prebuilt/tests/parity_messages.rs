//! Messages against Python: every case recorded by `tests/parity/record.py` (langchain-core and
//! LangGraph 1.2.24) is run here and compared with the fixture.
//!
//! Ids LangGraph generated are recorded as "$auto": here they must be non-empty strings that
//! appear nowhere in the case's input. Where Stategraph differs on purpose, the case is listed in
//! `DELIBERATE` with the reason, and the expected output is adjusted there.

use std::collections::HashSet;

use serde_json::{Value as Json, json};
use stategraph_core::{END, NodeContext, NodeError, RunConfig, START, State, StateGraph};
use stategraph_prebuilt::{
    ExcludeToolCalls, Filter, MergeRuns, Message, MessageTransform, MessagesState, Strategy, Trim, add_messages,
    coerce_message,
};

fn fixture(name: &str) -> Json {
    let path = format!("{}/tests/parity/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn cases(name: &str) -> Vec<Json> {
    let f = fixture(name);
    assert_eq!(f["langgraph"], json!("1.2.24"), "fixtures are recorded with LangGraph 1.2.24");
    match &f["cases"] {
        Json::Array(a) => a.clone(),
        Json::Object(o) => o["cases"].as_array().unwrap().clone(),
        _ => panic!("bad fixture {name}"),
    }
}

fn collect_ids(v: &Json, out: &mut HashSet<String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                if k == "id"
                    && let Some(s) = x.as_str()
                {
                    out.insert(s.to_owned());
                }
                collect_ids(x, out);
            }
        }
        Json::Array(a) => a.iter().for_each(|x| collect_ids(x, out)),
        _ => {}
    }
}

/// Structural equality where `"$auto"` matches any fresh id.
fn same(expected: &Json, actual: &Json, known: &HashSet<String>, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Json::String(e), Json::String(a)) if e == "$auto" => {
            if a.is_empty() || known.contains(a) {
                Err(format!("{path}: expected a fresh id, got {a:?}"))
            } else {
                Ok(())
            }
        }
        (Json::Object(e), Json::Object(a)) => {
            let ek: HashSet<_> = e.keys().collect();
            let ak: HashSet<_> = a.keys().collect();
            if ek != ak {
                return Err(format!("{path}: keys differ: expected {ek:?}, got {ak:?}"));
            }
            e.iter().try_for_each(|(k, v)| same(v, &a[k], known, &format!("{path}.{k}")))
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path}: expected {} items, got {}:\n{}", e.len(), a.len(), pretty(actual)));
            }
            e.iter().zip(a).enumerate().try_for_each(|(i, (x, y))| same(x, y, known, &format!("{path}[{i}]")))
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{path}: expected {expected}, got {actual}")),
    }
}

fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

/// Cases where Stategraph differs from Python on purpose: (section, case, why, patch to the
/// expected output).
type Patch = fn(&mut Json);
const DELIBERATE: &[(&str, &str, &str, Patch)] = &[
    (
        "coerce",
        "model_dump_ai",
        "a dumped AI message reads back with its usage_metadata and invalid_tool_calls as fields \
         (langchain-core moves them into additional_kwargs), so state round-trips",
        |out| {
            let m = &mut out[0];
            m["usage_metadata"] = json!({"input_tokens": 1, "output_tokens": 2, "total_tokens": 3});
            m["additional_kwargs"] = json!({});
        },
    ),
    (
        "merge",
        "ai_usage",
        "merged AI messages sum their usage_metadata (langchain-core moves it into additional_kwargs)",
        |out| {
            let m = &mut out[0];
            m["usage_metadata"] = json!({"input_tokens": 5, "output_tokens": 7, "total_tokens": 12});
            m["additional_kwargs"] = json!({});
        },
    ),
];

fn expected_output(section: &str, case: &Json) -> Option<Json> {
    let mut out = case["output"].clone();
    if out.is_null() {
        return None;
    }
    for (s, name, _why, patch) in DELIBERATE {
        if *s == section && case["name"] == json!(name) {
            patch(&mut out);
        }
    }
    Some(out)
}

fn to_json(messages: &[Message]) -> Json {
    Json::Array(messages.iter().map(|m| m.to_value().to_json()).collect())
}

/// Compares a result with the case: same output, or an error where Python raised one (same
/// exception class; same text where Stategraph reproduces langchain-core's message).
fn check(section: &str, case: &Json, result: Result<Json, stategraph_prebuilt::Error>, failures: &mut Vec<String>) {
    let name = case["name"].as_str().unwrap();
    let mut known = HashSet::new();
    collect_ids(case, &mut known);
    known.remove("$auto");
    match (expected_output(section, case), result) {
        (Some(expected), Ok(actual)) => {
            if let Err(e) = same(&expected, &actual, &known, name) {
                failures.push(format!("{section}/{e}"));
            }
        }
        (None, Err(e)) => {
            let py = &case["error"];
            let py_type = py["type"].as_str().unwrap();
            if py_type != "KeyError" && e.python_name() != py_type {
                failures.push(format!("{section}/{name}: expected {py_type}, got {} ({e})", e.python_name()));
            }
            let text = e.to_string();
            let ours = text.split_once(' ').map(|(_, t)| t).unwrap_or(&text);
            let theirs = py["message"].as_str().unwrap();
            let reproduced = matches!(
                e,
                stategraph_prebuilt::Error::Coercion(_)
                    | stategraph_prebuilt::Error::RemoveMissing(_)
                    | stategraph_prebuilt::Error::InvalidOption(_)
            );
            if reproduced && ours != theirs {
                failures.push(format!("{section}/{name}: message {ours:?}, Python says {theirs:?}"));
            }
        }
        (Some(_), Err(e)) => failures.push(format!("{section}/{name}: unexpected error {e}")),
        (None, Ok(v)) => failures.push(format!("{section}/{name}: expected {}, got {v}", case["error"])),
    }
}

fn report(section: &str, n: usize, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} of {n} {section} cases differ from Python:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(n > 5, "the {section} fixture has cases");
}

#[test]
fn coercion_matches_langchain_core() {
    let cases = cases("coerce");
    let mut failures = Vec::new();
    for case in &cases {
        let result = coerce_message(&case["input"].clone().into()).map(|m| to_json(&[m]));
        check("coerce", case, result, &mut failures);
    }
    report("coerce", cases.len(), failures);
}

#[test]
fn add_messages_matches_langgraph() {
    let cases = cases("add_messages");
    let mut failures = Vec::new();
    for case in &cases {
        let result = add_messages(case["left"].clone().into(), case["right"].clone().into()).map(|v| v.to_json());
        check("add_messages", case, result, &mut failures);
    }
    report("add_messages", cases.len(), failures);
}

#[tokio::test]
async fn messages_state_graphs_match_langgraph() {
    let cases = cases("messages_state");
    let mut failures = Vec::new();
    for case in &cases {
        let mut graph = StateGraph::new(MessagesState::schema());
        let mut prev = START.to_owned();
        for (i, update) in case["updates"].as_array().unwrap().iter().enumerate() {
            let name = format!("n{i}");
            let update = update.clone();
            graph.add_node(name.as_str(), move |_s: State, _c: NodeContext| {
                let u = update.clone();
                async move { Ok::<_, NodeError>(u) }
            });
            graph.add_edge(prev.as_str(), &name);
            prev = name;
        }
        graph.add_edge(prev.as_str(), END);
        let app = graph.compile().unwrap();
        let name = case["name"].as_str().unwrap();
        match app.invoke(case["input"].clone(), RunConfig::default()).await {
            Ok(out) => {
                let mut known = HashSet::new();
                collect_ids(case, &mut known);
                if let Err(e) = same(&case["output"], &out.to_json(), &known, name) {
                    failures.push(e);
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    report("messages_state", cases.len(), failures);
}

fn history(section: &str) -> Vec<Message> {
    let f = fixture(section);
    f["cases"]["messages"].as_array().unwrap().iter().map(|m| coerce_message(&m.clone().into()).unwrap()).collect()
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

#[test]
fn filter_matches_langchain_core() {
    let messages = history("filter");
    let cases = cases("filter");
    let mut failures = Vec::new();
    for case in &cases {
        let o = &case["options"];
        let mut f = Filter::new();
        if o.get("include_names").is_some() {
            f = f.include_names(strings(&o["include_names"]));
        }
        if o.get("exclude_names").is_some() {
            f = f.exclude_names(strings(&o["exclude_names"]));
        }
        if o.get("include_types").is_some() {
            f = f.include_types(strings(&o["include_types"]));
        }
        if o.get("exclude_types").is_some() {
            f = f.exclude_types(strings(&o["exclude_types"]));
        }
        if o.get("include_ids").is_some() {
            f = f.include_ids(strings(&o["include_ids"]));
        }
        if o.get("exclude_ids").is_some() {
            f = f.exclude_ids(strings(&o["exclude_ids"]));
        }
        match &o["exclude_tool_calls"] {
            Json::Bool(true) => f = f.exclude_tool_calls(ExcludeToolCalls::All),
            Json::Array(_) => f = f.exclude_tool_calls(ExcludeToolCalls::Ids(strings(&o["exclude_tool_calls"]))),
            _ => {}
        }
        check("filter", case, f.apply(&messages).map(|m| to_json(&m)), &mut failures);
    }
    report("filter", cases.len(), failures);
}

fn chars(messages: &[Message]) -> usize {
    messages
        .iter()
        .map(|m| match &m.content {
            stategraph_prebuilt::Content::Text(s) => s.chars().count(),
            stategraph_prebuilt::Content::Parts(_) => 0,
        })
        .sum()
}

#[test]
fn trim_matches_langchain_core() {
    let messages = history("trim");
    let cases = cases("trim");
    let mut failures = Vec::new();
    for case in &cases {
        let o = &case["options"];
        let max = o["max_tokens"].as_u64().unwrap() as usize;
        let mut t = match o["counter"].as_str().unwrap() {
            "count" => Trim::last(max),
            _ => Trim::new(max, chars),
        };
        if o["strategy"] == json!("first") {
            t = t.strategy(Strategy::First);
        }
        if o["include_system"] == json!(true) {
            t = t.include_system(true);
        }
        if o.get("start_on").is_some() {
            t = t.start_on(strings(&o["start_on"]));
        }
        if o.get("end_on").is_some() {
            t = t.end_on(strings(&o["end_on"]));
        }
        check("trim", case, t.apply(&messages).map(|m| to_json(&m)), &mut failures);
    }
    report("trim", cases.len(), failures);
}

#[test]
fn merge_runs_matches_langchain_core() {
    let cases = cases("merge");
    let mut failures = Vec::new();
    for case in &cases {
        let input: Vec<Message> =
            case["input"].as_array().unwrap().iter().map(|m| coerce_message(&m.clone().into()).unwrap()).collect();
        check("merge", case, MergeRuns::new().apply(&input).map(|m| to_json(&m)), &mut failures);
    }
    report("merge", cases.len(), failures);
}

#[test]
fn canonical_messages_round_trip_through_values() {
    for case in cases("coerce") {
        if let Some(out) = case["output"].as_array() {
            let m = coerce_message(&out[0].clone().into()).unwrap();
            let back = m.to_value().to_json();
            assert_eq!(&back, &out[0], "{}: a message in dict shape reads back unchanged", case["name"]);
        }
    }
}
