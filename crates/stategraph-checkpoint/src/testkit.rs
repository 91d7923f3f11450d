//! The conformance suite every [`Checkpointer`] runs against itself (feature `testkit`).
//!
//! Each check is a `pub async fn` taking the saver; it panics (like a test) on the first
//! difference from the contract. Checks use their own unique thread ids, so they can share one
//! saver and run in any order. A backend's tests call [`run_all`], then the checks that need more
//! than the trait: [`corrupted_blob_is_typed_error`] (a way to damage stored bytes),
//! [`concurrent_writers_spawned`] and [`put_next_race`] (an `Arc` to move into tasks), and
//! [`compare_with_memory`] (a property test: random operation sequences give the same results as
//! on [`InMemorySaver`](crate::InMemorySaver)).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use stategraph_checkpoint::{testkit, InMemorySaver};
//! testkit::run_all(&InMemorySaver::new()).await;
//! # }
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde_json::json;
use stategraph_value::{Map, Value};

mod model;
pub mod workload;

pub use model::{Op, Pick, compare_with_memory, ops, run_ops_against_memory};

use crate::{
    ChannelVersions, Checkpoint, CheckpointConfig, CheckpointId, CheckpointMetadata, CheckpointSource, CheckpointTuple,
    Checkpointer, ERROR, Error, INTERRUPT, ListFilter, PruneStrategy, RESUME,
};

/// Runs every check that needs only the trait, one after the other.
pub async fn run_all(saver: &dyn Checkpointer) {
    put_and_get_latest(saver).await;
    get_by_id_and_parents(saver).await;
    missing_is_none(saver).await;
    list_order_before_limit(saver).await;
    list_metadata_filter(saver).await;
    list_across_threads(saver).await;
    namespaces_isolated(saver).await;
    blobs_only_for_changed_versions(saver).await;
    missing_blob_is_typed_error(saver).await;
    put_writes_idempotent(saver).await;
    put_writes_needs_checkpoint_id(saver).await;
    pending_writes_survive_failed_sibling(saver).await;
    delete_thread(saver).await;
    copy_thread(saver).await;
    prune_keep_latest(saver).await;
    prune_delete_all(saver).await;
    large_values(saver).await;
    unicode(saver).await;
    concurrent_writers(saver).await;
    put_next_chain(saver).await;
    put_next_stale_parent_conflicts(saver).await;
    put_next_namespaces_independent(saver).await;
    run_batch_and_append(saver).await;
}

// ----- helpers -----------------------------------------------------------------------------------

fn uid(name: &str) -> String {
    format!("{name}-{}", CheckpointId::new())
}

fn val(j: serde_json::Value) -> Value {
    Value::from(j)
}

fn obj(j: serde_json::Value) -> Map {
    val(j).as_object().expect("an object").clone()
}

fn meta(source: CheckpointSource, step: i64) -> CheckpointMetadata {
    CheckpointMetadata::new(source, step)
}

/// A checkpoint following `prev` (or the first one) where `updates` changed: each written channel
/// gets the next version; `Value::Null` in `updates` removes the channel's value (it stays
/// versioned, stored as `empty`). Returns the checkpoint and the versions that changed.
fn step(prev: Option<&Checkpoint>, updates: &[(&str, Option<Value>)]) -> (Checkpoint, ChannelVersions) {
    let mut cp = prev.map_or_else(Checkpoint::empty, Checkpoint::next);
    let mut new_versions = ChannelVersions::new();
    for (channel, value) in updates {
        let version = cp.channel_versions.get(*channel).map_or(1, |v| v + 1);
        cp.channel_versions.insert((*channel).to_owned(), version);
        new_versions.insert((*channel).to_owned(), version);
        match value {
            Some(v) => cp.channel_values.insert((*channel).to_owned(), v.clone()),
            None => cp.channel_values.remove(*channel),
        };
    }
    cp.updated_channels = Some(updates.iter().map(|(c, _)| (*c).to_owned()).collect());
    (cp, new_versions)
}

async fn put(
    saver: &dyn Checkpointer,
    config: &CheckpointConfig,
    cp: &Checkpoint,
    metadata: &CheckpointMetadata,
    new_versions: &ChannelVersions,
) -> CheckpointConfig {
    saver.put(config, cp, metadata, new_versions).await.expect("put")
}

async fn get(saver: &dyn Checkpointer, config: &CheckpointConfig) -> Option<CheckpointTuple> {
    saver.get_tuple(config).await.expect("get_tuple")
}

async fn list(saver: &dyn Checkpointer, filter: &ListFilter) -> Vec<CheckpointTuple> {
    saver.list(filter).await.expect("list")
}

fn ids(tuples: &[CheckpointTuple]) -> Vec<CheckpointId> {
    tuples.iter().map(|t| t.checkpoint.id).collect()
}

/// Puts a chain of `n` checkpoints (steps -1, 0, 1, ...) on one thread and namespace, each writing
/// channel `n` with the step number. Returns them oldest first.
async fn chain(saver: &dyn Checkpointer, thread: &str, ns: &str, n: usize) -> Vec<Checkpoint> {
    let mut config = CheckpointConfig::thread(thread).with_ns(ns);
    let mut out: Vec<Checkpoint> = Vec::new();
    for i in 0..n {
        let step_no = i as i64 - 1;
        let (cp, nv) = step(out.last(), &[("n", Some(Value::from(step_no)))]);
        let source = if i == 0 { CheckpointSource::Input } else { CheckpointSource::Loop };
        let mut m = meta(source, step_no);
        m.extra.insert("parity".into(), Value::from(if i % 2 == 0 { "even" } else { "odd" }));
        config = put(saver, &config, &cp, &m, &nv).await;
        out.push(cp);
    }
    out
}

fn every_value_kind() -> Value {
    val(json!({
        "null": null, "true": true, "false": false,
        "int": -42, "big": u64::MAX, "small": i64::MIN, "float": 3.25, "tiny": 1e-300,
        "string": "text", "empty_string": "", "list": [1, "two", [3], {"four": 4}], "empty_list": [],
        "object": {"nested": {"deep": [null]}}, "empty_object": {}
    }))
}

// ----- checks ------------------------------------------------------------------------------------

/// put returns the config of the stored checkpoint; get_tuple without id returns the latest, with
/// every field round-tripped (every value kind, versions, versions_seen, updated channels, metadata).
pub async fn put_and_get_latest(saver: &dyn Checkpointer) {
    let thread = uid("put-get");
    let (mut cp, nv) = step(
        None,
        &[("values", Some(every_value_kind())), ("null_channel", Some(Value::Null)), ("s", Some(Value::from("x")))],
    );
    cp.versions_seen.insert("node_a".into(), BTreeMap::from([("values".to_owned(), 1)]));
    cp.versions_seen.insert("__input__".into(), BTreeMap::new());
    let mut m = meta(CheckpointSource::Input, -1);
    m.run_id = Some("run-1".into());
    m.parents.insert("".into(), "parent-id".into());
    m.extra.insert("user".into(), val(json!({"id": 7, "tags": ["a", "b"]})));
    m.extra.insert("writes".into(), val(json!({"node": {"k": 1}})));
    let config = put(saver, &CheckpointConfig::thread(&thread), &cp, &m, &nv).await;
    assert_eq!(config, CheckpointConfig::thread(&thread).with_id(cp.id), "put returns the stored checkpoint's config");

    let t = get(saver, &CheckpointConfig::thread(&thread)).await.expect("latest checkpoint");
    assert_eq!(t.config, config);
    assert_eq!(t.checkpoint, cp, "checkpoint round trip");
    assert_eq!(t.checkpoint.channel_values["values"], every_value_kind());
    assert_eq!(t.checkpoint.channel_values.get("null_channel"), Some(&Value::Null), "a null value is a value");
    assert_eq!(t.metadata, m, "metadata round trip");
    assert_eq!(t.parent_config, None);
    assert!(t.pending_writes.is_empty());

    // A second checkpoint becomes the latest.
    let (cp2, nv2) = step(Some(&cp), &[("s", Some(Value::from("y")))]);
    let config2 = put(saver, &config, &cp2, &meta(CheckpointSource::Loop, 0), &nv2).await;
    let t2 = get(saver, &CheckpointConfig::thread(&thread)).await.expect("latest");
    assert_eq!(t2.config, config2);
    assert_eq!(t2.checkpoint, cp2);
    assert_eq!(t2.parent_config, Some(config));
}

/// get_tuple with an id returns that checkpoint; each one points at its parent.
pub async fn get_by_id_and_parents(saver: &dyn Checkpointer) {
    let thread = uid("by-id");
    let cps = chain(saver, &thread, "", 4).await;
    for (i, cp) in cps.iter().enumerate() {
        let t = get(saver, &CheckpointConfig::thread(&thread).with_id(cp.id)).await.expect("by id");
        assert_eq!(&t.checkpoint, cp);
        assert_eq!(t.metadata.step, i as i64 - 1);
        let parent = (i > 0).then(|| CheckpointConfig::thread(&thread).with_id(cps[i - 1].id));
        assert_eq!(t.parent_config, parent, "parent of checkpoint {i}");
    }
}

/// Unknown threads, namespaces and ids give `None`, not an error.
pub async fn missing_is_none(saver: &dyn Checkpointer) {
    let thread = uid("missing");
    assert!(get(saver, &CheckpointConfig::thread(&thread)).await.is_none());
    chain(saver, &thread, "", 1).await;
    assert!(get(saver, &CheckpointConfig::thread(&thread).with_id(CheckpointId::new())).await.is_none());
    assert!(get(saver, &CheckpointConfig::thread(&thread).with_ns("other")).await.is_none());
    assert!(list(saver, &ListFilter::thread(uid("nobody"))).await.is_empty());
}

/// list is newest first; `before` excludes the given id and newer; `limit` caps.
pub async fn list_order_before_limit(saver: &dyn Checkpointer) {
    let thread = uid("list");
    let cps = chain(saver, &thread, "", 5).await;
    let newest_first: Vec<CheckpointId> = cps.iter().rev().map(|c| c.id).collect();
    let all = list(saver, &ListFilter::thread(&thread)).await;
    assert_eq!(ids(&all), newest_first);
    assert_eq!(all[0].checkpoint, cps[4], "list returns full tuples");
    assert_eq!(all[4].parent_config, None);
    assert_eq!(all[0].parent_config, Some(CheckpointConfig::thread(&thread).with_id(cps[3].id)));
    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).limit(2)).await), newest_first[..2]);
    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).before(cps[2].id)).await), newest_first[3..]);
    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).before(cps[3].id).limit(1)).await), [cps[2].id]);
    assert!(list(saver, &ListFilter::thread(&thread).before(cps[0].id)).await.is_empty());
    assert!(list(saver, &ListFilter::thread(&thread).limit(0)).await.is_empty());
}

/// The metadata filter keeps checkpoints whose metadata contains the filter object.
pub async fn list_metadata_filter(saver: &dyn Checkpointer) {
    let thread = uid("meta");
    let cps = chain(saver, &thread, "", 5).await; // steps -1..=3; parity even, odd, even, odd, even
    let f = |j| ListFilter::thread(&thread).metadata(obj(j));
    assert_eq!(ids(&list(saver, &f(json!({"source": "input"}))).await), [cps[0].id]);
    assert_eq!(ids(&list(saver, &f(json!({"step": 1}))).await), [cps[2].id]);
    assert_eq!(ids(&list(saver, &f(json!({"source": "loop", "parity": "odd"}))).await), [cps[3].id, cps[1].id]);
    assert_eq!(ids(&list(saver, &f(json!({"parity": "even"})).limit(2)).await), [cps[4].id, cps[2].id]);
    assert_eq!(ids(&list(saver, &f(json!({"parity": "even"})).before(cps[4].id)).await), [cps[2].id, cps[0].id]);
    assert!(list(saver, &f(json!({"parity": "none"}))).await.is_empty());
    assert!(list(saver, &f(json!({"absent": "x"}))).await.is_empty());
    assert_eq!(list(saver, &f(json!({}))).await.len(), 5, "an empty filter matches everything");

    // Nested objects and lists match by containment.
    let thread2 = uid("meta-nested");
    let (cp, nv) = step(None, &[("a", Some(Value::from(1)))]);
    let mut m = meta(CheckpointSource::Update, 2);
    m.run_id = Some("run-7".into());
    m.extra.insert("user".into(), val(json!({"id": 7, "name": "ann", "tags": ["x", "y"]})));
    put(saver, &CheckpointConfig::thread(&thread2), &cp, &m, &nv).await;
    let f2 = |j| ListFilter::thread(&thread2).metadata(obj(j));
    for hit in [
        json!({"user": {"id": 7}}),
        json!({"user": {"tags": ["y"]}}),
        json!({"run_id": "run-7", "source": "update"}),
        json!({"parents": {}}),
    ] {
        assert_eq!(list(saver, &f2(hit.clone())).await.len(), 1, "{hit} should match");
    }
    for miss in
        [json!({"user": {"id": 8}}), json!({"user": {"tags": ["z"]}}), json!({"run_id": "run-8"}), json!({"step": "2"})]
    {
        assert!(list(saver, &f2(miss.clone())).await.is_empty(), "{miss} should not match");
    }
}

/// Without a thread id, list spans threads (newest first across them).
pub async fn list_across_threads(saver: &dyn Checkpointer) {
    let tag = uid("tag");
    let mut made = Vec::new();
    for i in 0..3 {
        let thread = uid(&format!("across-{i}"));
        let (cp, nv) = step(None, &[("a", Some(Value::from(i)))]);
        let mut m = meta(CheckpointSource::Input, -1);
        m.extra.insert("tag".into(), Value::from(tag.as_str()));
        put(saver, &CheckpointConfig::thread(&thread), &cp, &m, &nv).await;
        made.push((thread, cp.id));
    }
    let filter = ListFilter { metadata: Some(obj(json!({"tag": tag}))), ..ListFilter::default() };
    let found = list(saver, &filter).await;
    let expected: Vec<CheckpointId> = made.iter().rev().map(|(_, id)| *id).collect();
    assert_eq!(ids(&found), expected);
    for t in &found {
        let thread = &made.iter().find(|(_, id)| *id == t.checkpoint.id).unwrap().0;
        assert_eq!(&t.config.thread_id, thread);
    }
}

/// Namespaces of one thread are separate histories.
pub async fn namespaces_isolated(saver: &dyn Checkpointer) {
    let thread = uid("ns");
    let child_ns = "child:1b7e3a4c-task";
    let root = chain(saver, &thread, "", 2).await;
    let child = chain(saver, &thread, child_ns, 3).await;
    // The child's latest is newer than the root's, yet the root's latest is the root's.
    let t = get(saver, &CheckpointConfig::thread(&thread)).await.unwrap();
    assert_eq!(t.checkpoint.id, root[1].id);
    assert_eq!(t.config.checkpoint_ns, "");
    let t = get(saver, &CheckpointConfig::thread(&thread).with_ns(child_ns)).await.unwrap();
    assert_eq!(t.checkpoint.id, child[2].id);
    assert_eq!(t.config.checkpoint_ns, child_ns);
    assert_eq!(t.parent_config, Some(CheckpointConfig::thread(&thread).with_ns(child_ns).with_id(child[1].id)));
    // An id from the other namespace is not found.
    assert!(get(saver, &CheckpointConfig::thread(&thread).with_id(child[0].id)).await.is_none());

    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).ns("")).await), [root[1].id, root[0].id]);
    assert_eq!(
        ids(&list(saver, &ListFilter::thread(&thread).ns(child_ns)).await),
        [child[2].id, child[1].id, child[0].id]
    );
    let all = list(saver, &ListFilter::thread(&thread)).await;
    assert_eq!(all.len(), 5, "no namespace filter: both");
    assert!(all.windows(2).all(|w| w[0].checkpoint.id > w[1].checkpoint.id));

    // Writes are per namespace too.
    let cfg = CheckpointConfig::thread(&thread).with_ns(child_ns).with_id(child[2].id);
    saver.put_writes(&cfg, &[("x".into(), Value::from(1))], "task", "").await.unwrap();
    assert_eq!(get(saver, &cfg).await.unwrap().pending_writes.len(), 1);
    assert!(get(saver, &CheckpointConfig::thread(&thread)).await.unwrap().pending_writes.is_empty());
}

/// Only changed channels are stored; checkpoints that did not rewrite a channel still read it.
pub async fn blobs_only_for_changed_versions(saver: &dyn Checkpointer) {
    let thread = uid("blobs");
    let config = CheckpointConfig::thread(&thread);
    let messages = |n: usize| Value::from((0..n).map(|i| Value::from(format!("message {i}"))).collect::<Vec<_>>());
    let (c1, nv1) = step(
        None,
        &[("messages", Some(messages(1))), ("count", Some(Value::from(1))), ("tmp", Some(Value::from("t")))],
    );
    let k1 = put(saver, &config, &c1, &meta(CheckpointSource::Input, -1), &nv1).await;
    // Step 0 rewrites `count` and clears `tmp`; `messages` stays at version 1.
    let (c2, nv2) = step(Some(&c1), &[("count", Some(Value::from(2))), ("tmp", None)]);
    assert_eq!(nv2.keys().collect::<Vec<_>>(), ["count", "tmp"]);
    let k2 = put(saver, &k1, &c2, &meta(CheckpointSource::Loop, 0), &nv2).await;
    // Step 1 rewrites `messages` only.
    let (c3, nv3) = step(Some(&c2), &[("messages", Some(messages(2)))]);
    let k3 = put(saver, &k2, &c3, &meta(CheckpointSource::Loop, 1), &nv3).await;
    // Step 2 writes nothing new.
    let (c4, nv4) = step(Some(&c3), &[]);
    put(saver, &k3, &c4, &meta(CheckpointSource::Loop, 2), &nv4).await;

    let read = |cp: &Checkpoint| CheckpointConfig::thread(&thread).with_id(cp.id);
    let t1 = get(saver, &read(&c1)).await.unwrap();
    assert_eq!(t1.checkpoint.channel_values, c1.channel_values);
    let t2 = get(saver, &read(&c2)).await.unwrap();
    assert_eq!(t2.checkpoint.channel_values["messages"], messages(1), "reused from version 1");
    assert_eq!(t2.checkpoint.channel_values["count"], Value::from(2));
    assert!(!t2.checkpoint.channel_values.contains_key("tmp"), "a cleared channel has no value");
    assert_eq!(t2.checkpoint.channel_versions["tmp"], 2, "but keeps its version");
    let t3 = get(saver, &read(&c3)).await.unwrap();
    assert_eq!(t3.checkpoint, c3);
    assert_eq!(t3.checkpoint.channel_values["count"], Value::from(2), "reused from version 2");
    let t4 = get(saver, &read(&c4)).await.unwrap();
    assert_eq!(t4.checkpoint, c4);
    // The older checkpoints still read their own versions.
    assert_eq!(get(saver, &read(&c1)).await.unwrap().checkpoint, c1);
    assert_eq!(get(saver, &read(&c2)).await.unwrap().checkpoint, c2);
}

/// A checkpoint naming a version whose blob was never stored gives SG103.
pub async fn missing_blob_is_typed_error(saver: &dyn Checkpointer) {
    let thread = uid("missing-blob");
    let (c1, nv1) = step(None, &[("a", Some(Value::from(1)))]);
    let k1 = put(saver, &CheckpointConfig::thread(&thread), &c1, &meta(CheckpointSource::Input, -1), &nv1).await;
    // The caller claims `a` is at version 7 but does not pass it as new.
    let mut c2 = c1.next();
    c2.channel_versions.insert("a".into(), 7);
    c2.channel_values.insert("a".into(), Value::from(7));
    put(saver, &k1, &c2, &meta(CheckpointSource::Loop, 0), &ChannelVersions::new()).await;
    let err = saver.get_tuple(&CheckpointConfig::thread(&thread)).await.unwrap_err();
    assert_eq!(err.code(), "SG103", "{err}");
    assert!(err.to_string().contains("'a' version 7"), "{err}");
}

/// put_writes is idempotent per (task, idx); special channels are replaced; writes are ordered.
pub async fn put_writes_idempotent(saver: &dyn Checkpointer) {
    let thread = uid("writes");
    let cps = chain(saver, &thread, "", 2).await;
    let cfg = CheckpointConfig::thread(&thread).with_id(cps[1].id);
    let w = |c: &str, v: i64| (c.to_owned(), Value::from(v));
    saver.put_writes(&cfg, &[w("x", 1), w("y", 2)], "task-b", "~__pregel_pull, b").await.unwrap();
    saver.put_writes(&cfg, &[w("x", 3)], "task-a", "~__pregel_pull, a").await.unwrap();
    // Repeating a task's writes (a retry after a crash) changes nothing.
    saver.put_writes(&cfg, &[w("x", 100), w("y", 200)], "task-b", "~__pregel_pull, b").await.unwrap();
    // Special channels are upserted at their fixed index.
    saver
        .put_writes(&cfg, &[(INTERRUPT.into(), val(json!({"value": "first"})))], "task-c", "~__pregel_pull, c")
        .await
        .unwrap();
    saver
        .put_writes(&cfg, &[(INTERRUPT.into(), val(json!({"value": "second"})))], "task-c", "~__pregel_pull, c")
        .await
        .unwrap();
    saver.put_writes(&cfg, &[(RESUME.into(), val(json!(["yes"])))], "task-c", "~__pregel_pull, c").await.unwrap();

    let t = get(saver, &cfg).await.unwrap();
    let got: Vec<(String, String, i64, Value)> =
        t.pending_writes.iter().map(|p| (p.task_id.clone(), p.channel.clone(), p.idx, p.value.clone())).collect();
    let expected = vec![
        ("task-a".into(), "x".into(), 0, Value::from(3)),
        ("task-b".into(), "x".into(), 0, Value::from(1)),
        ("task-b".into(), "y".into(), 1, Value::from(2)),
        ("task-c".into(), INTERRUPT.into(), -3, val(json!({"value": "second"}))),
        ("task-c".into(), RESUME.into(), -4, val(json!(["yes"]))),
    ];
    // Order: task path, then task id, then idx.
    let mut sorted = expected.clone();
    sorted.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    assert_eq!(got, sorted);
    assert_eq!(t.pending_writes[0].task_path, "~__pregel_pull, a");
    // Writes belong to their checkpoint only.
    assert!(get(saver, &CheckpointConfig::thread(&thread).with_id(cps[0].id)).await.unwrap().pending_writes.is_empty());
    // A write of null is a write.
    saver.put_writes(&cfg, &[("n".into(), Value::Null)], "task-d", "~__pregel_pull, d").await.unwrap();
    let t = get(saver, &cfg).await.unwrap();
    assert!(t.pending_writes.iter().any(|p| p.task_id == "task-d" && p.value.is_null()));
}

/// put_writes without a checkpoint id is refused (SG106).
pub async fn put_writes_needs_checkpoint_id(saver: &dyn Checkpointer) {
    let err = saver.put_writes(&CheckpointConfig::thread(uid("no-id")), &[("x".into(), Value::from(1))], "t", "").await;
    assert_eq!(err.unwrap_err().code(), "SG106");
}

/// When one task of a step fails, the writes of the tasks that finished are still there for the
/// resume, next to the failed task's error; the retried task then adds its writes.
pub async fn pending_writes_survive_failed_sibling(saver: &dyn Checkpointer) {
    let thread = uid("sibling");
    let cps = chain(saver, &thread, "", 2).await;
    let cfg = CheckpointConfig::thread(&thread).with_id(cps[1].id);
    saver.put_writes(&cfg, &[("a_out".into(), Value::from("done"))], "task-ok", "~__pregel_pull, ok").await.unwrap();
    let error = val(json!({"kind": "ValueError", "message": "boom"}));
    saver.put_writes(&cfg, &[(ERROR.into(), error.clone())], "task-bad", "~__pregel_pull, bad").await.unwrap();

    // "Restart": read back from the saver only.
    let t = get(saver, &CheckpointConfig::thread(&thread)).await.unwrap();
    assert_eq!(t.checkpoint.id, cps[1].id, "no checkpoint was added for the failed step");
    let by_task: BTreeMap<&str, (&str, &Value)> =
        t.pending_writes.iter().map(|p| (p.task_id.as_str(), (p.channel.as_str(), &p.value))).collect();
    assert_eq!(by_task.get("task-ok"), Some(&("a_out", &Value::from("done"))));
    assert_eq!(by_task.get("task-bad"), Some(&(ERROR, &error)));

    // The resume re-runs the failed task only; its writes join the surviving ones.
    saver.put_writes(&cfg, &[("b_out".into(), Value::from("fixed"))], "task-bad", "~__pregel_pull, bad").await.unwrap();
    let t = get(saver, &cfg).await.unwrap();
    assert_eq!(t.pending_writes.iter().filter(|p| p.task_id == "task-ok").count(), 1);
    assert!(t.pending_writes.iter().any(|p| p.task_id == "task-bad" && p.channel == "b_out"));
}

/// delete_thread removes a thread (every namespace) and nothing else.
pub async fn delete_thread(saver: &dyn Checkpointer) {
    let doomed = uid("delete");
    let kept = uid("keep");
    let cps = chain(saver, &doomed, "", 2).await;
    chain(saver, &doomed, "child:1", 2).await;
    let cfg = CheckpointConfig::thread(&doomed).with_id(cps[1].id);
    saver.put_writes(&cfg, &[("x".into(), Value::from(1))], "task", "").await.unwrap();
    let kept_cps = chain(saver, &kept, "", 2).await;

    saver.delete_thread(&doomed).await.unwrap();
    assert!(get(saver, &CheckpointConfig::thread(&doomed)).await.is_none());
    assert!(get(saver, &CheckpointConfig::thread(&doomed).with_ns("child:1")).await.is_none());
    assert!(list(saver, &ListFilter::thread(&doomed)).await.is_empty());
    assert_eq!(get(saver, &CheckpointConfig::thread(&kept)).await.unwrap().checkpoint, kept_cps[1]);
    // Deleting an unknown thread is fine; a deleted thread can be written again from scratch.
    saver.delete_thread(&uid("never")).await.unwrap();
    let fresh = chain(saver, &doomed, "", 1).await;
    let t = get(saver, &CheckpointConfig::thread(&doomed)).await.unwrap();
    assert_eq!(t.checkpoint, fresh[0]);
    assert!(t.pending_writes.is_empty(), "old writes are gone");
}

/// copy_thread copies checkpoints, values, metadata, parents and writes; the copies are independent.
pub async fn copy_thread(saver: &dyn Checkpointer) {
    let source = uid("copy-src");
    let target = uid("copy-dst");
    let cps = chain(saver, &source, "", 3).await;
    let child = chain(saver, &source, "child:1", 1).await;
    let cfg = CheckpointConfig::thread(&source).with_id(cps[2].id);
    saver.put_writes(&cfg, &[("x".into(), Value::from(1))], "task", "path").await.unwrap();

    saver.copy_thread(&source, &target).await.unwrap();
    let src = list(saver, &ListFilter::thread(&source)).await;
    let dst = list(saver, &ListFilter::thread(&target)).await;
    assert_eq!(src.len(), 4);
    assert_eq!(ids(&src), ids(&dst));
    for (s, d) in src.iter().zip(&dst) {
        assert_eq!(s.checkpoint, d.checkpoint);
        assert_eq!(s.metadata, d.metadata);
        assert_eq!(s.pending_writes, d.pending_writes);
        assert_eq!(d.config.thread_id, target);
        assert_eq!(d.config.checkpoint_ns, s.config.checkpoint_ns);
        assert_eq!(
            d.parent_config.as_ref().map(|p| (&p.thread_id, p.checkpoint_id)),
            s.parent_config.as_ref().map(|p| (&target, p.checkpoint_id))
        );
    }
    let t = get(saver, &CheckpointConfig::thread(&target).with_ns("child:1")).await.unwrap();
    assert_eq!(t.checkpoint, child[0]);

    // Continuing the copy leaves the source alone.
    let (next, nv) = step(Some(&cps[2]), &[("n", Some(Value::from("diverged")))]);
    put(saver, &CheckpointConfig::thread(&target).with_id(cps[2].id), &next, &meta(CheckpointSource::Fork, 2), &nv)
        .await;
    assert_eq!(get(saver, &CheckpointConfig::thread(&source)).await.unwrap().checkpoint, cps[2]);
    assert_eq!(get(saver, &CheckpointConfig::thread(&target)).await.unwrap().checkpoint, next);
    saver.delete_thread(&source).await.unwrap();
    assert_eq!(get(saver, &CheckpointConfig::thread(&target).with_id(cps[0].id)).await.unwrap().checkpoint, cps[0]);
    // Copying an unknown thread copies nothing.
    saver.copy_thread(&uid("nothing"), &uid("empty")).await.unwrap();
}

/// prune keep-latest keeps the latest checkpoint of each namespace, fully readable (including
/// values stored by older checkpoints), with its writes.
pub async fn prune_keep_latest(saver: &dyn Checkpointer) {
    let thread = uid("prune");
    let other = uid("prune-other");
    let config = CheckpointConfig::thread(&thread);
    let (c1, nv1) = step(None, &[("old", Some(Value::from("from step -1"))), ("n", Some(Value::from(0)))]);
    let k1 = put(saver, &config, &c1, &meta(CheckpointSource::Input, -1), &nv1).await;
    let (c2, nv2) = step(Some(&c1), &[("n", Some(Value::from(1)))]);
    let k2 = put(saver, &k1, &c2, &meta(CheckpointSource::Loop, 0), &nv2).await;
    let (c3, nv3) = step(Some(&c2), &[("n", Some(Value::from(2)))]);
    let k3 = put(saver, &k2, &c3, &meta(CheckpointSource::Loop, 1), &nv3).await;
    saver.put_writes(&k2, &[("w".into(), Value::from("old write"))], "t", "").await.unwrap();
    saver.put_writes(&k3, &[("w".into(), Value::from("latest write"))], "t", "").await.unwrap();
    let child = chain(saver, &thread, "child:1", 3).await;
    let other_cps = chain(saver, &other, "", 3).await;

    saver.prune(std::slice::from_ref(&thread), PruneStrategy::KeepLatest).await.unwrap();
    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).ns("")).await), [c3.id]);
    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).ns("child:1")).await), [child[2].id]);
    let t = get(saver, &config).await.unwrap();
    assert_eq!(t.checkpoint, c3, "values written by pruned checkpoints are kept when still referenced");
    assert_eq!(t.checkpoint.channel_values["old"], Value::from("from step -1"));
    assert_eq!(t.pending_writes.len(), 1);
    assert_eq!(t.pending_writes[0].value, Value::from("latest write"));
    assert!(get(saver, &k2).await.is_none());
    assert_eq!(get(saver, &CheckpointConfig::thread(&thread).with_ns("child:1")).await.unwrap().checkpoint, child[2]);
    assert_eq!(ids(&list(saver, &ListFilter::thread(&other)).await).len(), other_cps.len(), "other threads untouched");

    // The thread goes on from the kept checkpoint.
    let (c4, nv4) = step(Some(&c3), &[("n", Some(Value::from(3)))]);
    put(saver, &k3, &c4, &meta(CheckpointSource::Loop, 2), &nv4).await;
    assert_eq!(get(saver, &config).await.unwrap().checkpoint, c4);
}

/// prune delete-all empties the threads.
pub async fn prune_delete_all(saver: &dyn Checkpointer) {
    let a = uid("prune-all-a");
    let b = uid("prune-all-b");
    let c = uid("prune-all-c");
    chain(saver, &a, "", 2).await;
    chain(saver, &b, "x", 2).await;
    chain(saver, &c, "", 1).await;
    saver.prune(&[a.clone(), b.clone()], PruneStrategy::DeleteAll).await.unwrap();
    assert!(list(saver, &ListFilter::thread(&a)).await.is_empty());
    assert!(list(saver, &ListFilter::thread(&b)).await.is_empty());
    assert_eq!(list(saver, &ListFilter::thread(&c)).await.len(), 1);
}

/// A 1 MB list and a 1 MB string round-trip.
pub async fn large_values(saver: &dyn Checkpointer) {
    let thread = uid("large");
    let item = "x".repeat(100);
    let big_list = Value::from((0..10_000).map(|i| Value::from(format!("{i:06}{item}"))).collect::<Vec<_>>());
    let big_string = Value::from("é".repeat(512 * 1024));
    let (cp, nv) = step(None, &[("list", Some(big_list.clone())), ("string", Some(big_string.clone()))]);
    let k = put(saver, &CheckpointConfig::thread(&thread), &cp, &meta(CheckpointSource::Input, -1), &nv).await;
    saver.put_writes(&k, &[("list".into(), big_list.clone())], "task", "").await.unwrap();
    let t = get(saver, &k).await.unwrap();
    assert_eq!(t.checkpoint.channel_values["list"], big_list);
    assert_eq!(t.checkpoint.channel_values["string"], big_string);
    assert_eq!(t.pending_writes[0].value, big_list);
}

/// Unicode in thread ids, namespaces, channel names, values and metadata.
pub async fn unicode(saver: &dyn Checkpointer) {
    let thread = uid("ünïcödé-スレッド-🧵");
    let ns = "子グラフ:タスク|ノード:🚀";
    let value =
        val(json!({"emoji": "👩‍👩‍👧 🏳️‍🌈", "rtl": "שלום", "cjk": "漢字かな", "nul": "a\u{0}b", "ключ": ["значение"]}));
    let (cp, nv) = step(None, &[("état", Some(value.clone())), ("🔑", Some(Value::from("✓")))]);
    let mut m = meta(CheckpointSource::Input, -1);
    m.extra.insert("note".into(), Value::from("café ☕ — ok"));
    let k = put(saver, &CheckpointConfig::thread(&thread).with_ns(ns), &cp, &m, &nv).await;
    saver.put_writes(&k, &[("état".into(), Value::from("ñ"))], "tâche-1", "chemin/∂").await.unwrap();
    let t = get(saver, &CheckpointConfig::thread(&thread).with_ns(ns)).await.unwrap();
    assert_eq!(t.checkpoint, cp);
    assert_eq!(t.metadata, m);
    assert_eq!(t.config.checkpoint_ns, ns);
    assert_eq!(t.pending_writes[0].task_id, "tâche-1");
    assert_eq!(t.pending_writes[0].task_path, "chemin/∂");
    let found = list(saver, &ListFilter::thread(&thread).metadata(obj(json!({"note": "café ☕ — ok"})))).await;
    assert_eq!(ids(&found), [cp.id]);
}

async fn write_history(saver: &dyn Checkpointer, thread: String, steps: usize) -> (String, Vec<Checkpoint>) {
    let mut config = CheckpointConfig::thread(&thread);
    let mut made: Vec<Checkpoint> = Vec::new();
    for i in 0..steps {
        let (cp, nv) =
            step(made.last(), &[("i", Some(Value::from(i))), ("thread", Some(Value::from(thread.as_str())))]);
        config = saver.put(&config, &cp, &meta(CheckpointSource::Loop, i as i64), &nv).await.expect("concurrent put");
        saver
            .put_writes(&config, &[("w".into(), Value::from(i))], &format!("task-{i}"), "")
            .await
            .expect("concurrent put_writes");
        made.push(cp);
    }
    (thread, made)
}

async fn check_history(saver: &dyn Checkpointer, thread: &str, made: &[Checkpoint]) {
    let found = list(saver, &ListFilter::thread(thread)).await;
    assert_eq!(ids(&found), made.iter().rev().map(|c| c.id).collect::<Vec<_>>(), "history of {thread}");
    for (t, cp) in found.iter().zip(made.iter().rev()) {
        assert_eq!(&t.checkpoint, cp);
        assert_eq!(t.pending_writes.len(), 1);
    }
}

/// Many writers on different threads at once (interleaved on one task) lose nothing.
pub async fn concurrent_writers(saver: &dyn Checkpointer) {
    let writers = (0..8).map(|w| write_history(saver, uid(&format!("concurrent-{w}")), 10));
    for (thread, made) in futures::future::join_all(writers).await {
        check_history(saver, &thread, &made).await;
    }
}

/// Many writers on different threads from separate tokio tasks (in parallel on a multi-thread
/// runtime) lose nothing.
pub async fn concurrent_writers_spawned(saver: Arc<dyn Checkpointer>) {
    let handles: Vec<_> = (0..16)
        .map(|w| {
            let saver = saver.clone();
            tokio::spawn(async move { write_history(&*saver, uid(&format!("spawned-{w}")), 12).await })
        })
        .collect();
    for h in handles {
        let (thread, made) = h.await.expect("writer task");
        check_history(&*saver, &thread, &made).await;
    }
}

/// How [`corrupted_blob_is_typed_error`] asks a backend to damage a stored blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// Replace the blob's bytes with these (keeping its type tag).
    Bytes(Vec<u8>),
    /// Replace the blob's type tag with this one.
    TypeTag(String),
}

/// Identifies one stored blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobKey {
    /// The thread.
    pub thread_id: String,
    /// The namespace.
    pub checkpoint_ns: String,
    /// The channel.
    pub channel: String,
    /// The version.
    pub version: u64,
}

/// Damaged stored data is a typed error (SG102 for bad bytes, SG101 for an unknown type tag),
/// never a panic, and it does not affect other checkpoints. `corrupt` damages one blob in storage.
pub async fn corrupted_blob_is_typed_error<F, Fut>(saver: &dyn Checkpointer, corrupt: F)
where
    F: Fn(BlobKey, Corruption) -> Fut,
    Fut: Future<Output = ()>,
{
    let thread = uid("corrupt");
    let (c1, nv1) = step(None, &[("good", Some(Value::from("fine"))), ("bad", Some(val(json!({"list": [1, 2, 3]}))))]);
    let k1 = put(saver, &CheckpointConfig::thread(&thread), &c1, &meta(CheckpointSource::Input, -1), &nv1).await;
    let (c2, nv2) = step(Some(&c1), &[("bad", Some(val(json!(["replaced"]))))]);
    put(saver, &k1, &c2, &meta(CheckpointSource::Loop, 0), &nv2).await;
    let key = BlobKey { thread_id: thread.clone(), checkpoint_ns: String::new(), channel: "bad".into(), version: 1 };

    for (corruption, code) in [
        (Corruption::Bytes(vec![0x83, 0xa4, 0x6c, 0x69]), "SG102"),
        (Corruption::Bytes(vec![0xdd, 0xff, 0xff, 0xff, 0xff]), "SG102"),
        (Corruption::Bytes(vec![0xc1]), "SG102"),
        (Corruption::TypeTag("pickle".into()), "SG101"),
    ] {
        corrupt(key.clone(), corruption.clone()).await;
        let err = saver.get_tuple(&k1).await.expect_err("reading a corrupt blob must fail");
        assert_eq!(err.code(), code, "{corruption:?}: {err}");
        assert!(err.is_data_error());
        assert!(err.to_string().contains("bad"), "the error names the channel: {err}");
        let err = saver.list(&ListFilter::thread(&thread)).await.expect_err("listing a corrupt blob must fail");
        assert_eq!(err.code(), code);
        // The newer checkpoint does not read the damaged version.
        assert_eq!(get(saver, &CheckpointConfig::thread(&thread)).await.unwrap().checkpoint, c2);
    }
}

// ----- put_next: one thread, one runner ---------------------------------------------------------

/// Asserts `result` is SG107 naming the parent the caller expected and the checkpoint it found.
fn assert_conflict(
    result: crate::Result<CheckpointConfig>,
    expected: Option<CheckpointId>,
    found: Option<CheckpointId>,
) {
    let show = |id: Option<CheckpointId>| id.map_or_else(|| "none".to_owned(), |i| i.to_string());
    match result {
        Err(Error::Conflict { expected: e, found: f, .. }) => {
            assert_eq!((e, f), (show(expected), show(found)), "the conflict names both checkpoints");
        }
        other => panic!("expected SG107 conflict (expected {}, found {}), got {other:?}", show(expected), show(found)),
    }
}

/// put_next with no id succeeds on an empty namespace and conflicts once it has a checkpoint;
/// a chain of put_next calls, each from the config the previous one returned, succeeds.
pub async fn put_next_chain(saver: &dyn Checkpointer) {
    let thread = uid("put-next");
    let start = CheckpointConfig::thread(&thread);
    let (c1, nv1) = step(None, &[("n", Some(Value::from(0)))]);
    let mut config =
        saver.put_next(&start, &c1, &meta(CheckpointSource::Input, -1), &nv1).await.expect("first put_next");
    assert_eq!(config, start.clone().with_id(c1.id));

    // A second "first" checkpoint: the namespace is no longer empty.
    let (other, nv) = step(None, &[("n", Some(Value::from(100)))]);
    assert_conflict(saver.put_next(&start, &other, &meta(CheckpointSource::Input, -1), &nv).await, None, Some(c1.id));
    assert_eq!(list(saver, &ListFilter::thread(&thread)).await.len(), 1, "a conflict stores nothing");

    let mut made = vec![c1];
    for i in 1..5 {
        let (cp, nv) = step(made.last(), &[("n", Some(Value::from(i)))]);
        config =
            saver.put_next(&config, &cp, &meta(CheckpointSource::Loop, i - 1), &nv).await.expect("chained put_next");
        assert_eq!(config.checkpoint_id, Some(cp.id));
        made.push(cp);
    }
    assert_eq!(
        ids(&list(saver, &ListFilter::thread(&thread)).await),
        made.iter().rev().map(|c| c.id).collect::<Vec<_>>()
    );
    let t = get(saver, &start).await.unwrap();
    assert_eq!(&t.checkpoint, made.last().unwrap());
    assert_eq!(t.parent_config, Some(start.with_id(made[3].id)));
}

/// put_next from a parent that is no longer the latest (another runner moved on, or a replay of
/// an old checkpoint) conflicts and stores nothing: no checkpoint, no blob, no change to reads.
pub async fn put_next_stale_parent_conflicts(saver: &dyn Checkpointer) {
    let thread = uid("put-next-stale");
    let cps = chain(saver, &thread, "", 3).await;
    let stale = CheckpointConfig::thread(&thread).with_id(cps[1].id);
    // The losing runner rewrites channel `n` at the version the winner also wrote: a leaked blob
    // would change what the winner's checkpoint reads.
    let (loser, nv) = step(Some(&cps[1]), &[("n", Some(Value::from("loser"))), ("extra", Some(Value::from(1)))]);
    assert_eq!(nv["n"], cps[2].channel_versions["n"], "the loser's blob key collides with the winner's");
    let before = list(saver, &ListFilter::thread(&thread)).await;
    assert_conflict(
        saver.put_next(&stale, &loser, &meta(CheckpointSource::Loop, 1), &nv).await,
        Some(cps[1].id),
        Some(cps[2].id),
    );
    let after = list(saver, &ListFilter::thread(&thread)).await;
    assert_eq!(after, before, "nothing stored");
    assert_eq!(after.len(), 3);
    assert!(get(saver, &stale.clone().with_id(loser.id)).await.is_none());
    assert_eq!(get(saver, &CheckpointConfig::thread(&thread)).await.unwrap().checkpoint, cps[2]);

    // An id that was never stored conflicts too, as does an unknown thread with an id.
    let unknown = CheckpointId::new();
    let (cp, nv) = step(Some(&cps[2]), &[]);
    let cfg = CheckpointConfig::thread(&thread).with_id(unknown);
    assert_conflict(
        saver.put_next(&cfg, &cp, &meta(CheckpointSource::Loop, 2), &nv).await,
        Some(unknown),
        Some(cps[2].id),
    );
    let nobody = CheckpointConfig::thread(uid("put-next-nobody")).with_id(unknown);
    assert_conflict(saver.put_next(&nobody, &cp, &meta(CheckpointSource::Loop, 2), &nv).await, Some(unknown), None);
    assert!(list(saver, &ListFilter::thread(&nobody.thread_id)).await.is_empty());

    // The latest one still goes through; pending writes of the stale parent are untouched.
    let latest = CheckpointConfig::thread(&thread).with_id(cps[2].id);
    saver.put_writes(&stale, &[("w".into(), Value::from(1))], "task", "").await.unwrap();
    let done = saver.put_next(&latest, &cp, &meta(CheckpointSource::Loop, 2), &nv).await.expect("from the latest");
    assert_eq!(done.checkpoint_id, Some(cp.id));
    assert_eq!(get(saver, &stale).await.unwrap().pending_writes.len(), 1);
}

/// put_next compares against the latest checkpoint of its own namespace only, and the thread's
/// other namespaces (and other threads) do not make it conflict.
pub async fn put_next_namespaces_independent(saver: &dyn Checkpointer) {
    let thread = uid("put-next-ns");
    let root = chain(saver, &thread, "", 2).await;
    let child_ns = "child:put-next";
    // The child namespace is empty, although the thread is not.
    let child_cfg = CheckpointConfig::thread(&thread).with_ns(child_ns);
    let (c1, nv1) = step(None, &[("x", Some(Value::from(1)))]);
    let k1 = saver.put_next(&child_cfg, &c1, &meta(CheckpointSource::Input, -1), &nv1).await.expect("empty child ns");
    // The root's latest is older than the child's, and still the root's latest.
    let (r3, nv3) = step(Some(&root[1]), &[("n", Some(Value::from(9)))]);
    let root_cfg = CheckpointConfig::thread(&thread).with_id(root[1].id);
    saver.put_next(&root_cfg, &r3, &meta(CheckpointSource::Loop, 1), &nv3).await.expect("root unaffected by child");
    // The child's parent is its own latest, although the root now has a newer checkpoint.
    let (c2, nv2) = step(Some(&c1), &[("x", Some(Value::from(2)))]);
    saver.put_next(&k1, &c2, &meta(CheckpointSource::Loop, 0), &nv2).await.expect("child unaffected by root");
    // A root id is not a child parent.
    let (c3, nv) = step(Some(&c2), &[]);
    let wrong = child_cfg.clone().with_id(r3.id);
    assert_conflict(saver.put_next(&wrong, &c3, &meta(CheckpointSource::Loop, 1), &nv).await, Some(r3.id), Some(c2.id));
    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).ns(child_ns)).await), [c2.id, c1.id]);
    assert_eq!(ids(&list(saver, &ListFilter::thread(&thread).ns("")).await), [r3.id, root[1].id, root[0].id]);
}

/// Races `n` put_next calls from the same parent on separate tokio tasks (in parallel on a
/// multi-thread runtime), spread round-robin over `savers` (several savers on one database stand
/// for several processes). Twice: on an empty namespace (no id), then from the first winner.
/// Each time exactly one call succeeds, the others get SG107 naming the winner, and exactly one
/// checkpoint is added, holding the winner's values.
pub async fn put_next_race(savers: &[Arc<dyn Checkpointer>], n: usize) {
    assert!(!savers.is_empty() && n > 0);
    let thread = uid("put-next-race");
    let root = CheckpointConfig::thread(&thread);
    let first = race_round(savers, n, &root, None).await;
    let first_cfg = root.clone().with_id(first.id);
    let second = race_round(savers, n, &first_cfg, Some(&first)).await;
    let history = list(&*savers[0], &ListFilter::thread(&thread)).await;
    assert_eq!(ids(&history), [second.id, first.id], "one checkpoint per round");
    assert_eq!(history[0].checkpoint, second);
    assert_eq!(history[0].parent_config, Some(first_cfg));
    for saver in savers {
        assert_eq!(get(&**saver, &root).await.unwrap().checkpoint, second, "every saver sees the winner");
    }
}

/// One round of [`put_next_race`]: returns the winner's checkpoint.
async fn race_round(
    savers: &[Arc<dyn Checkpointer>],
    n: usize,
    config: &CheckpointConfig,
    parent: Option<&Checkpoint>,
) -> Checkpoint {
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let saver = savers[i % savers.len()].clone();
            let config = config.clone();
            // Every contender writes the same channel version, with its own value.
            let (cp, nv) = step(
                parent,
                &[("runner", Some(Value::from(i))), ("messages", Some(Value::from(vec![Value::from(i)])))],
            );
            let start = start.clone();
            tokio::spawn(async move {
                let m = meta(CheckpointSource::Loop, parent_step(&cp));
                start.wait().await;
                let result = saver.put_next(&config, &cp, &m, &nv).await;
                (cp, result)
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut losers = Vec::new();
    for h in handles {
        let (cp, result) = h.await.expect("racing task");
        match result {
            Ok(stored) => {
                assert_eq!(stored.checkpoint_id, Some(cp.id));
                winners.push(cp);
            }
            Err(e) => losers.push(e),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of {n} racing put_next calls wins; losers: {:?}", losers.first());
    let winner = winners.pop().unwrap();
    let show = |id: Option<CheckpointId>| id.map_or_else(|| "none".to_owned(), |i| i.to_string());
    for e in &losers {
        match e {
            Error::Conflict { expected, found, .. } => {
                assert_eq!(expected, &show(config.checkpoint_id));
                assert_eq!(found, &show(Some(winner.id)));
            }
            other => panic!("a losing put_next must be SG107, got {other}"),
        }
    }
    let t = get(&*savers[0], &CheckpointConfig { checkpoint_id: None, ..config.clone() }).await.unwrap();
    assert_eq!(t.checkpoint, winner, "the stored values are the winner's (no loser's blob leaked)");
    winner
}

fn parent_step(cp: &Checkpoint) -> i64 {
    cp.channel_versions.get("runner").map_or(-1, |v| *v as i64 - 2)
}

// ----- save_batch ---------------------------------------------------------------------------------

/// A conversation-like batch: `put_next` steps appending to `messages`, `put_writes` between them.
fn batch_ops(thread: &str, steps: usize) -> (Vec<crate::SaveOp>, Vec<Checkpoint>) {
    let mut ops = Vec::new();
    let mut made: Vec<Checkpoint> = Vec::new();
    let mut config = CheckpointConfig::thread(thread);
    for i in 0..steps {
        let messages: Vec<Value> = (0..=i).map(|k| val(json!({"id": k, "text": format!("message {k}")}))).collect();
        let (cp, new_versions) =
            step(made.last(), &[("messages", Some(Value::from(messages))), ("n", Some(Value::from(i as i64)))]);
        let source = if i == 0 { CheckpointSource::Input } else { CheckpointSource::Loop };
        ops.push(crate::SaveOp::Put {
            config: config.clone(),
            checkpoint: Box::new(cp.clone()),
            metadata: meta(source, i as i64 - 1),
            new_versions,
            only_if_latest: i % 3 != 2,
        });
        config = config.with_id(cp.id);
        ops.push(crate::SaveOp::PutWrites {
            config: config.clone(),
            writes: vec![("n".into(), Value::from(100 + i as i64)), (ERROR.into(), Value::from("boom"))],
            task_id: format!("task-{i}"),
            task_path: "~".into(),
        });
        made.push(cp);
    }
    (ops, made)
}

/// Replaces the thread id in results, to compare two threads holding the same checkpoints.
fn rethread(mut tuples: Vec<CheckpointTuple>, thread: &str) -> Vec<CheckpointTuple> {
    for t in &mut tuples {
        t.config.thread_id = thread.to_owned();
        if let Some(p) = &mut t.parent_config {
            p.thread_id = thread.to_owned();
        }
    }
    tuples
}

/// A batch of puts and put_writes stores exactly what the same operations applied one by one do.
pub async fn save_batch_equals_one_by_one(saver: &dyn Checkpointer) {
    let (one, batched) = (uid("batch-one"), uid("batch-all"));
    let (ops, made) = batch_ops(&one, 12);
    for op in &ops {
        saver.save_batch(std::slice::from_ref(op)).await.expect("a batch of one");
    }
    let (ops_b, _) = batch_ops(&batched, 0);
    assert!(ops_b.is_empty());
    let retarget = |op: &crate::SaveOp| {
        let mut op = op.clone();
        match &mut op {
            crate::SaveOp::Put { config, .. } | crate::SaveOp::PutWrites { config, .. } => {
                config.thread_id = batched.clone();
            }
        }
        op
    };
    let all: Vec<crate::SaveOp> = ops.iter().map(retarget).collect();
    saver.save_batch(&all).await.expect("the whole batch");
    let a = list(saver, &ListFilter::thread(&one)).await;
    let b = rethread(list(saver, &ListFilter::thread(&batched)).await, &one);
    assert_eq!(a.len(), made.len());
    assert_eq!(a, b);
    for cp in &made {
        let x = get(saver, &CheckpointConfig::thread(&one).with_id(cp.id)).await.unwrap();
        let y = get(saver, &CheckpointConfig::thread(&batched).with_id(cp.id)).await.unwrap();
        assert_eq!(x.checkpoint, *cp);
        assert_eq!(rethread(vec![y], &one), vec![x]);
    }
}

/// A batch whose third operation conflicts keeps the first two and applies nothing after it.
pub async fn save_batch_stops_at_first_failure(saver: &dyn Checkpointer) {
    let thread = uid("batch-fail");
    let (mut ops, made) = batch_ops(&thread, 3);
    // ops: put c0, writes c0, put c1, writes c1, put c2, writes c2. Make the third op (put c1)
    // a put_next from a stale parent (the empty thread).
    if let crate::SaveOp::Put { config, only_if_latest, .. } = &mut ops[2] {
        config.checkpoint_id = None;
        *only_if_latest = true;
    }
    let err = saver.save_batch(&ops).await.expect_err("the third op conflicts");
    assert_eq!(err.code(), "SG107", "{err}");
    let stored = list(saver, &ListFilter::thread(&thread)).await;
    assert_eq!(ids(&stored), [made[0].id], "only the first put is stored");
    assert_eq!(stored[0].checkpoint, made[0]);
    assert_eq!(stored[0].pending_writes.len(), 2, "the second op (writes) is stored");
    assert!(get(saver, &CheckpointConfig::thread(&thread).with_id(made[1].id)).await.is_none());
    // The thread continues normally from what was stored.
    saver
        .save_batch(
            &ops[2..3]
                .iter()
                .cloned()
                .map(|mut op| {
                    if let crate::SaveOp::Put { config, .. } = &mut op {
                        config.checkpoint_id = Some(made[0].id);
                    }
                    op
                })
                .collect::<Vec<_>>(),
        )
        .await
        .expect("resume");
    assert_eq!(get(saver, &CheckpointConfig::thread(&thread)).await.unwrap().checkpoint, made[1]);
}

/// An empty batch stores nothing and succeeds.
pub async fn save_batch_empty_is_noop(saver: &dyn Checkpointer) {
    saver.save_batch(&[]).await.expect("an empty batch");
}

// ----- growing lists (stored as deltas by the SQL savers) ----------------------------------------

fn appended(prev: Option<&Value>, items: impl IntoIterator<Item = Value>) -> Value {
    let mut list = prev.and_then(Value::as_array).cloned().unwrap_or_default();
    list.extend(items);
    Value::from(list)
}

/// Appends one message per step, `n` steps, from `start` (parent `config`); returns the configs
/// and checkpoints, oldest first.
async fn append_steps(
    saver: &dyn Checkpointer,
    mut config: CheckpointConfig,
    start: Option<Checkpoint>,
    n: usize,
    label: &str,
    first_version: Option<u64>,
) -> Vec<Checkpoint> {
    let mut made: Vec<Checkpoint> = Vec::new();
    let mut last = start;
    for i in 0..n {
        let prev = last.as_ref();
        let value = appended(
            prev.and_then(|c| c.channel_values.get("messages")),
            [val(json!({"role": label, "i": i, "text": format!("{label} {i} {}", "x".repeat(40))}))],
        );
        let (mut cp, mut nv) = step(prev, &[("messages", Some(value)), ("step", Some(Value::from(i as i64)))]);
        if let (0, Some(v)) = (i, first_version) {
            // Versions no other branch used (a fork must not overwrite the main line's blobs).
            for channel in ["messages", "step"] {
                cp.channel_versions.insert(channel.into(), v);
                nv.insert(channel.into(), v);
            }
        }
        config = put(saver, &config, &cp, &meta(CheckpointSource::Loop, i as i64), &nv).await;
        last = Some(cp.clone());
        made.push(cp);
    }
    made
}

async fn check_all(saver: &dyn Checkpointer, thread: &str, made: &[Checkpoint]) {
    for cp in made {
        let t = get(saver, &CheckpointConfig::thread(thread).with_id(cp.id)).await.expect("stored");
        assert_eq!(t.checkpoint, *cp, "checkpoint {} of thread {thread}", cp.id);
    }
}

/// A list appended 100 times reads back exactly at every checkpoint of its history.
pub async fn appended_list_round_trips(saver: &dyn Checkpointer) {
    let thread = uid("append");
    let made = append_steps(saver, CheckpointConfig::thread(&thread), None, 100, "main", None).await;
    check_all(saver, &thread, &made).await;
    let listed = list(saver, &ListFilter::thread(&thread)).await;
    let mut newest_first = made.clone();
    newest_first.reverse();
    assert_eq!(listed.into_iter().map(|t| t.checkpoint).collect::<Vec<_>>(), newest_first);
}

/// A branch appending to an older version of the list (a fork) and the main line continuing both
/// read back exactly.
pub async fn appended_list_after_fork(saver: &dyn Checkpointer) {
    let thread = uid("append-fork");
    let main = append_steps(saver, CheckpointConfig::thread(&thread), None, 20, "main", None).await;
    // Fork from step 5 with a fresh version (above every version the main line used).
    let fork_at = main[5].clone();
    let fork_config = CheckpointConfig::thread(&thread).with_id(fork_at.id);
    let fork = append_steps(saver, fork_config, Some(fork_at), 10, "fork", Some(1_000)).await;
    // The main line continues from its latest checkpoint.
    let last = main.last().cloned().unwrap();
    let more_config = CheckpointConfig::thread(&thread).with_id(last.id);
    let more = append_steps(saver, more_config, Some(last), 10, "more", None).await;
    check_all(saver, &thread, &main).await;
    check_all(saver, &thread, &fork).await;
    check_all(saver, &thread, &more).await;
    assert_eq!(fork[0].channel_values["messages"].as_array().unwrap().len(), 7);
    assert_eq!(more[9].channel_values["messages"].as_array().unwrap().len(), 30);
}

/// copy_thread, delete_thread and prune keep every base a remaining checkpoint needs, and the
/// list keeps growing correctly afterwards.
pub async fn appended_list_survives_copy_delete_prune(saver: &dyn Checkpointer) {
    let (source, target) = (uid("append-src"), uid("append-dst"));
    let made = append_steps(saver, CheckpointConfig::thread(&source), None, 45, "a", None).await;
    saver.copy_thread(&source, &target).await.expect("copy");
    saver.delete_thread(&source).await.expect("delete");
    check_all(saver, &target, &made).await;
    assert!(list(saver, &ListFilter::thread(&source)).await.is_empty());
    saver.prune(std::slice::from_ref(&target), PruneStrategy::KeepLatest).await.expect("prune");
    let latest = made.last().cloned().unwrap();
    assert_eq!(get(saver, &CheckpointConfig::thread(&target)).await.unwrap().checkpoint, latest);
    let config = CheckpointConfig::thread(&target).with_id(latest.id);
    let after = append_steps(saver, config, Some(latest), 40, "b", None).await;
    check_all(saver, &target, &after).await;
    saver.prune(std::slice::from_ref(&target), PruneStrategy::KeepLatest).await.expect("prune again");
    assert_eq!(get(saver, &CheckpointConfig::thread(&target)).await.unwrap().checkpoint, after[39]);
    // The source thread id is reused from scratch.
    let fresh = append_steps(saver, CheckpointConfig::thread(&source), None, 3, "c", None).await;
    check_all(saver, &source, &fresh).await;
}

/// Runs the save_batch and growing-list checks (part of [`run_all`]).
pub async fn run_batch_and_append(saver: &dyn Checkpointer) {
    save_batch_equals_one_by_one(saver).await;
    save_batch_stops_at_first_failure(saver).await;
    save_batch_empty_is_noop(saver).await;
    appended_list_round_trips(saver).await;
    appended_list_after_fork(saver).await;
    appended_list_survives_copy_delete_prune(saver).await;
    written_values_survive_copy_and_prune(saver).await;
}

// ----- values that were also pending writes ------------------------------------------------------

/// The writes of step `i` of [`written_steps`]: a long answer (a last-value channel), a message
/// appended to `messages`, a small counter, and an error write (a special channel).
fn step_writes(i: usize) -> Vec<(String, Value)> {
    vec![
        ("answer".into(), Value::from(format!("answer {i}: {}", "many words ".repeat(20 + i)))),
        ("messages".into(), Value::from(vec![val(json!({"role": "ai", "i": i, "text": "y".repeat(80 + i)}))])),
        ("n".into(), Value::from(i as i64)),
        (ERROR.into(), Value::from(format!("step {i} failed once"))),
    ]
}

/// A run as the engine saves it with `async` durability: each step's task writes (under the
/// checkpoint the step started from) and the checkpoint that follows, whose new values are the
/// very values written (the same `Arc`s: a last-value channel holds the written value, a list
/// gets the written items appended), batched `per_batch` steps at a time. The last batch ends
/// with writes pending on the last checkpoint. Returns the batches and the checkpoints.
pub fn written_steps(
    thread: &str,
    ns: &str,
    steps: usize,
    per_batch: usize,
) -> (Vec<Vec<crate::SaveOp>>, Vec<Checkpoint>) {
    let mut batches = vec![Vec::new()];
    let mut made: Vec<Checkpoint> = Vec::new();
    let mut config = CheckpointConfig::thread(thread).with_ns(ns);
    for i in 0..=steps {
        let writes = step_writes(i);
        if let Some(parent) = made.last() {
            batches.last_mut().expect("a batch").push(crate::SaveOp::PutWrites {
                config: config.clone().with_id(parent.id),
                writes: writes.clone(),
                task_id: format!("task-{i}"),
                task_path: "~__pregel_pull, agent".into(),
            });
        }
        if i == steps {
            break;
        }
        let written = |channel: &str| writes.iter().find(|(c, _)| c == channel).map(|(_, v)| v.clone());
        let messages = appended(
            made.last().and_then(|c| c.channel_values.get("messages")),
            written("messages").and_then(|m| m.as_array().cloned()).unwrap_or_default(),
        );
        let (cp, new_versions) =
            step(made.last(), &[("answer", written("answer")), ("messages", Some(messages)), ("n", written("n"))]);
        batches.last_mut().expect("a batch").push(crate::SaveOp::Put {
            config: config.clone(),
            checkpoint: Box::new(cp.clone()),
            metadata: meta(if i == 0 { CheckpointSource::Input } else { CheckpointSource::Loop }, i as i64 - 1),
            new_versions,
            only_if_latest: true,
        });
        config = config.with_id(cp.id);
        made.push(cp);
        if (i + 1) % per_batch.max(1) == 0 {
            batches.push(Vec::new());
        }
    }
    (batches, made)
}

/// The writes [`written_steps`] left pending on checkpoint `i`, as read back.
fn pending_of(i: usize) -> Vec<(String, Value)> {
    let mut writes = step_writes(i + 1);
    writes.sort_by_key(|(c, _)| c != ERROR); // idx order: the error write (idx -1) first
    writes
}

fn assert_pending(t: &CheckpointTuple, i: usize) {
    let got: Vec<(String, Value)> = t.pending_writes.iter().map(|p| (p.channel.clone(), p.value.clone())).collect();
    assert_eq!(got, pending_of(i), "pending writes of checkpoint {i}");
}

/// Checkpoints whose values were also pending writes of the step before them (saved in one
/// batch with those writes) read back exactly, with exactly their own pending writes, after
/// copy_thread, delete_thread of the source and prune keep-latest; the thread goes on afterwards.
pub async fn written_values_survive_copy_and_prune(saver: &dyn Checkpointer) {
    let (source, target) = (uid("written-src"), uid("written-dst"));
    let (batches, made) = written_steps(&source, "", 12, 3);
    for batch in &batches {
        saver.save_batch(batch).await.expect("a batch of steps");
    }
    for (i, cp) in made.iter().enumerate() {
        let t = get(saver, &CheckpointConfig::thread(&source).with_id(cp.id)).await.expect("stored");
        assert_eq!(t.checkpoint, *cp, "checkpoint {i}");
        assert_pending(&t, i);
    }
    let listed = list(saver, &ListFilter::thread(&source)).await;
    for (t, i) in listed.iter().zip((0..made.len()).rev()) {
        assert_eq!(t.checkpoint, made[i]);
        assert_pending(t, i);
    }

    saver.copy_thread(&source, &target).await.expect("copy");
    saver.delete_thread(&source).await.expect("delete");
    assert_eq!(rethread(list(saver, &ListFilter::thread(&target)).await, &source), listed);

    saver.prune(std::slice::from_ref(&target), PruneStrategy::KeepLatest).await.expect("prune");
    let last = made.len() - 1;
    let t = get(saver, &CheckpointConfig::thread(&target)).await.expect("the latest is kept");
    assert_eq!(t.checkpoint, made[last]);
    assert_pending(&t, last);
    assert_eq!(ids(&list(saver, &ListFilter::thread(&target)).await), [made[last].id]);

    // The thread goes on from the kept checkpoint: its list grows on what prune kept.
    let mut more = made[last].next();
    let items = step_writes(last + 1)[1].1.as_array().cloned().unwrap_or_default();
    let messages = appended(made[last].channel_values.get("messages"), items);
    let version = more.channel_versions["messages"] + 1;
    more.channel_values.insert("messages".into(), messages);
    more.channel_versions.insert("messages".into(), version);
    let config = CheckpointConfig::thread(&target).with_id(made[last].id);
    put(saver, &config, &more, &meta(CheckpointSource::Loop, last as i64), &[("messages".to_owned(), version)].into())
        .await;
    assert_eq!(get(saver, &CheckpointConfig::thread(&target)).await.unwrap().checkpoint, more);
}

/// A damaged base of a stored list (bytes, or its tag) is a typed error when a later version that
/// builds on it is read, never a panic or a wrong value. `corrupt` damages one blob in storage.
pub async fn corrupted_list_base_is_typed_error<F, Fut>(saver: &dyn Checkpointer, corrupt: F)
where
    F: Fn(BlobKey, Corruption) -> Fut,
    Fut: Future<Output = ()>,
{
    for (corruption, codes) in [
        (Corruption::Bytes(vec![0x92, 0x01]), &["SG102"][..]),
        (Corruption::TypeTag("pickle".into()), &["SG101"][..]),
        (Corruption::TypeTag("append:999".into()), &["SG102", "SG103"][..]),
        (Corruption::TypeTag("append:zz".into()), &["SG102", "SG103"][..]),
    ] {
        let thread = uid("corrupt-list");
        let made = append_steps(saver, CheckpointConfig::thread(&thread), None, 5, "m", None).await;
        let key =
            BlobKey { thread_id: thread.clone(), checkpoint_ns: String::new(), channel: "messages".into(), version: 2 };
        corrupt(key, corruption.clone()).await;
        let err = saver.get_tuple(&CheckpointConfig::thread(&thread)).await.expect_err("a damaged base must fail");
        assert!(codes.contains(&err.code()), "{corruption:?}: {err}");
        assert!(err.is_data_error());
        // Versions before the damaged one still read.
        let first = get(saver, &CheckpointConfig::thread(&thread).with_id(made[0].id)).await.unwrap();
        assert_eq!(first.checkpoint, made[0]);
    }
}
