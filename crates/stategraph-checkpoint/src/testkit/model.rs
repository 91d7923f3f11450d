//! A property test: random sequences of operations give the same results on a backend as on
//! [`InMemorySaver`], the reference model.
//!
//! Each case works on threads of its own (named after a fresh id) and tags every checkpoint's
//! metadata with that id, so cases can share one backend (one database, one schema) and lists
//! across threads only see the case's own checkpoints.

use std::collections::BTreeMap;
use std::fmt;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use stategraph_value::Value;

use super::{step, uid, val};
use crate::{
    Checkpoint, CheckpointConfig, CheckpointId, CheckpointMetadata, CheckpointSource, CheckpointTuple, Checkpointer,
    ERROR, Error, INTERRUPT, InMemorySaver, ListFilter, PruneStrategy, RESUME,
};

const THREADS: usize = 3;
const NAMESPACES: [&str; 2] = ["", "child:1"];
const CHANNELS: [&str; 3] = ["a", "b", "messages"];
const WRITE_CHANNELS: [&str; 5] = ["a", "b", ERROR, INTERRUPT, RESUME];

/// Which checkpoint an operation starts from, among those the sequence made in the same thread
/// and namespace (oldest first).
#[derive(Clone, Debug)]
pub enum Pick {
    /// No checkpoint (no id in the config).
    None,
    /// The last one made (usually the latest).
    Last,
    /// The one at this index, modulo how many were made.
    Index(usize),
    /// An id that was never stored.
    Unknown,
}

/// One operation of a sequence. Threads, namespaces and channels are small indexes, so operations
/// hit the same keys often.
#[derive(Clone, Debug)]
pub enum Op {
    /// `put` (or `put_next` when `next`) from `parent`, changing `updates` (channel index, value;
    /// `None` clears the channel).
    Put {
        /// Thread index.
        thread: usize,
        /// Namespace index.
        ns: usize,
        /// The parent.
        parent: Pick,
        /// Channel index and new value.
        updates: Vec<(usize, Option<i64>)>,
        /// Use `put_next`.
        next: bool,
    },
    /// `put_writes` of one task under a checkpoint.
    PutWrites {
        /// Thread index.
        thread: usize,
        /// Namespace index.
        ns: usize,
        /// The checkpoint (`None`: no id, which must be refused).
        checkpoint: Pick,
        /// Task index.
        task: usize,
        /// Write channel index and value.
        writes: Vec<(usize, i64)>,
    },
    /// `get_tuple`.
    Get {
        /// Thread index.
        thread: usize,
        /// Namespace index.
        ns: usize,
        /// `None`: the latest.
        which: Pick,
    },
    /// `list`, always restricted to the case's checkpoints.
    List {
        /// Thread index, or all the case's threads.
        thread: Option<usize>,
        /// Namespace index, or all.
        ns: Option<usize>,
        /// `before` one of the checkpoints made in (thread or 0, ns or 0).
        before: Option<Pick>,
        /// The limit.
        limit: Option<usize>,
        /// Filter on `metadata.step` too.
        step: Option<i64>,
    },
    /// `delete_thread`.
    DeleteThread {
        /// Thread index.
        thread: usize,
    },
    /// `copy_thread`.
    CopyThread {
        /// Source thread index.
        source: usize,
        /// Target thread index.
        target: usize,
    },
    /// `prune`.
    Prune {
        /// Thread indexes.
        threads: Vec<usize>,
        /// `KeepLatest` (else `DeleteAll`).
        keep_latest: bool,
    },
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        1 => Just(Pick::None),
        4 => Just(Pick::Last),
        3 => (0..8usize).prop_map(Pick::Index),
        1 => Just(Pick::Unknown),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let thread = 0..THREADS;
    let ns = 0..NAMESPACES.len();
    prop_oneof![
        8 => (thread.clone(), ns.clone(), pick(), prop::collection::vec((0..CHANNELS.len(), prop::option::weighted(0.9, -3..1000i64)), 0..3), any::<bool>())
            .prop_map(|(thread, ns, parent, updates, next)| Op::Put { thread, ns, parent, updates, next }),
        4 => (thread.clone(), ns.clone(), pick(), 0..3usize, prop::collection::vec((0..WRITE_CHANNELS.len(), -3..100i64), 0..3))
            .prop_map(|(thread, ns, checkpoint, task, writes)| Op::PutWrites { thread, ns, checkpoint, task, writes }),
        4 => (thread.clone(), ns.clone(), pick()).prop_map(|(thread, ns, which)| Op::Get { thread, ns, which }),
        4 => (prop::option::of(thread.clone()), prop::option::of(ns.clone()), prop::option::weighted(0.3, pick()),
              prop::option::weighted(0.3, 0..4usize), prop::option::weighted(0.2, -1..3i64))
            .prop_map(|(thread, ns, before, limit, step)| Op::List { thread, ns, before, limit, step }),
        1 => thread.clone().prop_map(|thread| Op::DeleteThread { thread }),
        1 => (thread.clone(), thread.clone()).prop_map(|(source, target)| Op::CopyThread { source, target }),
        1 => (prop::collection::vec(thread, 0..3), any::<bool>())
            .prop_map(|(threads, keep_latest)| Op::Prune { threads, keep_latest }),
    ]
}

/// Random operation sequences (1 to 40 operations).
pub fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..40)
}

/// What one operation returned, comparable across backends. Errors are compared by code (and,
/// for conflicts, by the ids they name); driver messages differ between backends.
#[derive(Debug, PartialEq)]
enum Outcome {
    Config(CheckpointConfig),
    Tuple(Box<Option<CheckpointTuple>>),
    Tuples(Vec<CheckpointTuple>),
    Done,
    Failed(String),
}

fn tuple(t: Option<CheckpointTuple>) -> Outcome {
    Outcome::Tuple(Box::new(t))
}

fn outcome<T>(result: crate::Result<T>, ok: impl FnOnce(T) -> Outcome) -> Outcome {
    match result {
        Ok(v) => ok(v),
        Err(e @ Error::Conflict { .. }) => Outcome::Failed(e.to_string()),
        Err(e) => Outcome::Failed(e.code().to_owned()),
    }
}

/// The state of one case: names, and the checkpoints it made per (thread, ns), oldest first.
struct Case {
    tag: String,
    made: BTreeMap<(usize, usize), Vec<Checkpoint>>,
    /// Channel versions are unique within a case, so two branches never write one blob key.
    version: u64,
}

impl Case {
    fn thread(&self, i: usize) -> String {
        format!("{}-t{i}", self.tag)
    }

    fn config(&self, thread: usize, ns: usize) -> CheckpointConfig {
        CheckpointConfig::thread(self.thread(thread)).with_ns(NAMESPACES[ns])
    }

    fn pick(&self, thread: usize, ns: usize, pick: &Pick) -> Option<Result<&Checkpoint, CheckpointId>> {
        let made = self.made.get(&(thread, ns)).map(Vec::as_slice).unwrap_or_default();
        match pick {
            Pick::None => None,
            Pick::Last => made.last().map(Ok),
            Pick::Index(i) => (!made.is_empty()).then(|| Ok(&made[i % made.len()])),
            Pick::Unknown => Some(Err(CheckpointId::new())),
        }
    }

    fn metadata(&self, source: CheckpointSource, step: i64) -> CheckpointMetadata {
        let mut m = CheckpointMetadata::new(source, step);
        m.extra.insert("case".into(), Value::from(self.tag.as_str()));
        m
    }

    fn filter(&self) -> ListFilter {
        ListFilter::default().metadata(val(json!({"case": self.tag})).as_object().expect("an object").clone())
    }
}

struct Mismatch {
    op: usize,
    what: String,
    backend: Outcome,
    model: Outcome,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation {} ({}):\n  backend: {:?}\n  model:   {:?}", self.op, self.what, self.backend, self.model)
    }
}

/// Runs `ops` on `saver` and on a fresh [`InMemorySaver`], comparing every result and, at the end,
/// every thread's full history. `Err` describes the first difference.
pub async fn run_ops_against_memory(saver: &dyn Checkpointer, ops: &[Op]) -> Result<(), String> {
    let model = InMemorySaver::new();
    let mut case = Case { tag: uid("model"), made: BTreeMap::new(), version: 0 };
    let check = |i: usize, what: String, backend: Outcome, model: Outcome| {
        if backend == model { Ok(()) } else { Err(Mismatch { op: i, what, backend, model }.to_string()) }
    };
    for (i, op) in ops.iter().enumerate() {
        let what = format!("{op:?}");
        match op {
            Op::Put { thread, ns, parent, updates, next } => {
                let mut config = case.config(*thread, *ns);
                let base = match case.pick(*thread, *ns, parent) {
                    None => None,
                    Some(Ok(cp)) => {
                        config.checkpoint_id = Some(cp.id);
                        Some(cp.clone())
                    }
                    Some(Err(unknown)) => {
                        config.checkpoint_id = Some(unknown);
                        None
                    }
                };
                let named: Vec<(&str, Option<Value>)> =
                    updates.iter().map(|(c, v)| (CHANNELS[*c], v.map(Value::from))).collect();
                let (mut cp, mut nv) = step(base.as_ref(), &named);
                for (channel, version) in nv.iter_mut() {
                    case.version += 1;
                    *version = case.version;
                    cp.channel_versions.insert(channel.clone(), case.version);
                }
                let source = if base.is_some() { CheckpointSource::Loop } else { CheckpointSource::Input };
                let m = case.metadata(source, (i % 3) as i64 - 1);
                let (b, r) = if *next {
                    (saver.put_next(&config, &cp, &m, &nv).await, model.put_next(&config, &cp, &m, &nv).await)
                } else {
                    (saver.put(&config, &cp, &m, &nv).await, model.put(&config, &cp, &m, &nv).await)
                };
                if r.is_ok() {
                    case.made.entry((*thread, *ns)).or_default().push(cp);
                }
                check(i, what, outcome(b, Outcome::Config), outcome(r, Outcome::Config))?;
            }
            Op::PutWrites { thread, ns, checkpoint, task, writes } => {
                let mut config = case.config(*thread, *ns);
                config.checkpoint_id = case.pick(*thread, *ns, checkpoint).map(|p| p.map_or_else(|id| id, |cp| cp.id));
                let writes: Vec<(String, Value)> =
                    writes.iter().map(|(c, v)| (WRITE_CHANNELS[*c].to_owned(), Value::from(*v))).collect();
                let (task_id, path) = (format!("task-{task}"), format!("~path, {}", 2 - task));
                let b = saver.put_writes(&config, &writes, &task_id, &path).await;
                let r = model.put_writes(&config, &writes, &task_id, &path).await;
                check(i, what, outcome(b, |()| Outcome::Done), outcome(r, |()| Outcome::Done))?;
            }
            Op::Get { thread, ns, which } => {
                let mut config = case.config(*thread, *ns);
                config.checkpoint_id = case.pick(*thread, *ns, which).map(|p| p.map_or_else(|id| id, |cp| cp.id));
                let (b, r) = (saver.get_tuple(&config).await, model.get_tuple(&config).await);
                check(i, what, outcome(b, tuple), outcome(r, tuple))?;
            }
            Op::List { thread, ns, before, limit, step } => {
                let mut filter = case.filter();
                filter.thread_id = thread.map(|t| case.thread(t));
                filter.checkpoint_ns = ns.map(|n| NAMESPACES[n].to_owned());
                filter.before = before
                    .as_ref()
                    .and_then(|p| case.pick(thread.unwrap_or(0), ns.unwrap_or(0), p))
                    .map(|p| p.map_or_else(|id| id, |cp| cp.id));
                filter.limit = *limit;
                if let (Some(s), Some(m)) = (step, filter.metadata.as_mut()) {
                    m.insert("step".into(), Value::from(*s));
                }
                let (b, r) = (saver.list(&filter).await, model.list(&filter).await);
                check(i, what, outcome(b, Outcome::Tuples), outcome(r, Outcome::Tuples))?;
            }
            Op::DeleteThread { thread } => {
                let t = case.thread(*thread);
                let (b, r) = (saver.delete_thread(&t).await, model.delete_thread(&t).await);
                check(i, what, outcome(b, |()| Outcome::Done), outcome(r, |()| Outcome::Done))?;
            }
            Op::CopyThread { source, target } => {
                let (s, t) = (case.thread(*source), case.thread(*target));
                let (b, r) = (saver.copy_thread(&s, &t).await, model.copy_thread(&s, &t).await);
                check(i, what, outcome(b, |()| Outcome::Done), outcome(r, |()| Outcome::Done))?;
            }
            Op::Prune { threads, keep_latest } => {
                let threads: Vec<String> = threads.iter().map(|t| case.thread(*t)).collect();
                let strategy = if *keep_latest { PruneStrategy::KeepLatest } else { PruneStrategy::DeleteAll };
                let (b, r) = (saver.prune(&threads, strategy).await, model.prune(&threads, strategy).await);
                check(i, what, outcome(b, |()| Outcome::Done), outcome(r, |()| Outcome::Done))?;
            }
        }
    }
    // The end state: every history, and every latest checkpoint.
    let end = ops.len();
    let filter = case.filter();
    let (b, r) = (saver.list(&filter).await, model.list(&filter).await);
    check(end, "final list".into(), outcome(b, Outcome::Tuples), outcome(r, Outcome::Tuples))?;
    for thread in 0..THREADS {
        for ns in 0..NAMESPACES.len() {
            let config = case.config(thread, ns);
            let (b, r) = (saver.get_tuple(&config).await, model.get_tuple(&config).await);
            check(end, format!("final latest of {config:?}"), outcome(b, tuple), outcome(r, tuple))?;
        }
    }
    // Leave the backend as the case found it.
    for thread in 0..THREADS {
        saver.delete_thread(&case.thread(thread)).await.map_err(|e| format!("cleanup: {e}"))?;
    }
    Ok(())
}

/// The property test: `cases` random operation sequences ([`ops`]) must give the same results on
/// `saver` as on [`InMemorySaver`]. On a difference it shrinks the sequence (proptest's shrinking,
/// driven here so each case can await the backend) and panics with the smallest failing sequence.
/// `PROPTEST_CASES` overrides `cases`; `PROPTEST_RNG_SEED` fixes the seed.
pub async fn compare_with_memory(saver: &dyn Checkpointer, cases: u32) {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    let strategy = ops();
    for _ in 0..cases {
        let mut tree = strategy.new_tree(&mut runner).expect("generate a sequence");
        let Err(first) = run_ops_against_memory(saver, &tree.current()).await else { continue };
        // Shrink: keep the simpler sequence while it still fails.
        let (mut smallest, mut why) = (tree.current(), first);
        let mut budget = 512;
        while budget > 0 && tree.simplify() {
            budget -= 1;
            loop {
                match run_ops_against_memory(saver, &tree.current()).await {
                    Err(e) => {
                        (smallest, why) = (tree.current(), e);
                        break;
                    }
                    Ok(()) => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
        }
        panic!(
            "backend differs from InMemorySaver after shrinking to {} operations:\n{why}\nsequence: {smallest:#?}",
            smallest.len()
        );
    }
}
