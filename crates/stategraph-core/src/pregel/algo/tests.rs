//! The write-application algorithm against a serial model: for random graphs (random channel
//! kinds) and random write sets, `apply_writes` must give what applying every write one task at a
//! time, in task-path order, gives.

use crate::value::Value;
use proptest::prelude::*;

use super::*;

/// JSON syntax for an engine value.
macro_rules! jv {
    ($($t:tt)+) => {
        crate::value::Value::from(serde_json::json!($($t)+))
    };
}
use crate::channels::{ChannelSpec, Reducer};
use crate::graph::{CompiledGraph, Schema, StateGraph};
use crate::types::{END, START};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Last,
    Add,
    Topic,
}

fn graph(kinds: &[Kind], nodes: usize) -> CompiledGraph {
    let mut schema = Schema::new();
    for (i, k) in kinds.iter().enumerate() {
        let spec = match k {
            Kind::Last => ChannelSpec::last_value(),
            Kind::Add => ChannelSpec::reducer(Reducer::add()).with_default(jv!([])),
            Kind::Topic => ChannelSpec::topic(true),
        };
        schema = schema.key(format!("k{i}"), spec);
    }
    let mut g = StateGraph::new(schema);
    for n in 0..nodes {
        let name = format!("n{n}");
        g.add_node(name.clone(), |_s, _c| async { Ok::<_, crate::NodeError>(Value::Null) });
        g.add_edge(START, &name).add_edge(name.as_str(), END);
    }
    g.compile().expect("valid graph")
}

/// The model: each channel kind's rule, applied to the writes of the step in task-path order.
fn model(kind: Kind, initial: Option<Value>, writes: &[Value]) -> std::result::Result<Option<Value>, ()> {
    match kind {
        Kind::Last => match writes.len() {
            0 => Ok(initial),
            1 => Ok(Some(writes[0].clone())),
            _ => Err(()),
        },
        Kind::Add => {
            let mut items = initial.and_then(|v| v.as_array().cloned()).unwrap_or_default();
            for w in writes {
                items.extend(w.as_array().cloned().unwrap_or_default());
            }
            Ok(Some(Value::from(items)))
        }
        Kind::Topic => {
            let mut items = initial.and_then(|v| v.as_array().cloned()).unwrap_or_default();
            items.extend(writes.iter().cloned());
            Ok(if items.is_empty() { None } else { Some(Value::from(items)) })
        }
    }
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Last), Just(Kind::Add), Just(Kind::Topic)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn apply_writes_matches_serial_model(
        kinds in proptest::collection::vec(kind_strategy(), 1..5),
        nodes in 1usize..5,
        // (is push, node, [(key, value)])
        raw in proptest::collection::vec(
            (any::<bool>(), 0usize..5, proptest::collection::vec((0usize..5, 0i64..100), 0..4)),
            0..6,
        ),
    ) {
        let compiled = graph(&kinds, nodes);
        let g = &compiled.inner;
        let mut channels = g.new_channels();
        let mut checkpoint = Checkpoint::new(g);
        let key = |k: usize| g.channel(&format!("k{}", k % kinds.len())).expect("key");

        // Build tasks; pull tasks are unique per node, push tasks get increasing indices.
        let mut tasks = Vec::new();
        let mut pulled = std::collections::BTreeSet::new();
        for (i, (push, node, writes)) in raw.iter().enumerate() {
            let node_id = 1 + node % nodes;
            let path = if *push {
                TaskPath::Push(i)
            } else if pulled.insert(node_id) {
                TaskPath::Pull(g.nodes[node_id].name.clone())
            } else {
                continue;
            };
            let writes = writes
                .iter()
                .map(|(k, v)| {
                    let ch = key(*k);
                    let v = match kinds[*k % kinds.len()] { Kind::Add => jv!([v]), _ => jv!(v) };
                    (ch, v)
                })
                .collect();
            tasks.push(TaskWrites { pull: !*push, node: Some(node_id), path, writes });
        }
        let mut ordered = tasks.clone();
        ordered.sort_by(|a, b| a.path.cmp(&b.path));
        // Tasks are handed over in a scrambled order: the result must not depend on it.
        tasks.reverse();

        let result = apply_writes(g, &mut channels, &mut checkpoint, &mut tasks);
        let mut expect_error = false;
        let mut expected = Vec::new();
        for (i, kind) in kinds.iter().enumerate() {
            let ch = g.channel(&format!("k{i}")).expect("key");
            let writes: Vec<Value> = ordered
                .iter()
                .flat_map(|t| t.writes.iter().filter(|(c, _)| *c == ch).map(|(_, v)| v.clone()))
                .collect();
            let initial = match kind { Kind::Add => Some(jv!([])), _ => None };
            match model(*kind, initial, &writes) {
                Ok(v) => expected.push((ch, v)),
                Err(()) => expect_error = true,
            }
        }
        if expect_error {
            prop_assert!(matches!(result, Err(Error::InvalidUpdate { .. })), "expected InvalidUpdate, got {result:?}");
        } else {
            prop_assert!(result.is_ok(), "unexpected error {result:?}");
            for (ch, v) in expected {
                prop_assert_eq!(channels[ch].get(), v, "channel {}", g.channels[ch].name);
            }
        }
    }
}

#[test]
fn task_paths_order_pull_by_name_then_push_by_index() {
    let mut paths = vec![
        TaskPath::Push(2),
        TaskPath::Pull("b".into()),
        TaskPath::Push(0),
        TaskPath::Pull("a".into()),
        TaskPath::Null,
    ];
    paths.sort();
    assert_eq!(
        paths,
        vec![
            TaskPath::Null,
            TaskPath::Pull("a".into()),
            TaskPath::Pull("b".into()),
            TaskPath::Push(0),
            TaskPath::Push(2)
        ]
    );
}

#[test]
fn task_ids_are_stable_and_uuid_shaped() {
    let cp = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let a = task_id(&cp, &["node", "1", "node", "__pregel_pull", "branch:to:node"]);
    let b = task_id(&cp, &["node", "1", "node", "__pregel_pull", "branch:to:node"]);
    assert_eq!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(a.matches('-').count(), 4);
    // Pinned to what Python's `xxhash.xxh3_128_hexdigest` gives for the same bytes (LangGraph's
    // recipe), so ids never change between Rust releases or machines.
    assert_eq!(a, "ade14a4c-5b29-4893-4178-88b9d6761a42");
    assert_ne!(a, task_id(&cp, &["node", "2", "node", "__pregel_pull", "branch:to:node"]));
}

#[test]
fn incremental_task_ids_equal_the_plain_recipe() {
    let cp = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let mut ids = TaskIds::new(&cp, "");
    assert_eq!(ids.id("node", "1", &[b"node__pregel_pull", b"branch:to:node"]), "ade14a4c-5b29-4893-4178-88b9d6761a42");
    let mut nested = TaskIds::new(&cp, "outer:abc");
    assert_eq!(
        nested.id("node", "3", &[b"node", b"__pregel_push", b"0"]),
        task_id(&cp, &["outer:abc|node", "3", "node", "__pregel_push", "0"])
    );
}
