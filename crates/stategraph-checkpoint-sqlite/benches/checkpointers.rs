//! Throughput of the in-memory and SQLite checkpointers on a chat-agent workload
//! (`stategraph_checkpoint::testkit::workload`: ~100 messages of ~200 bytes and 5 small keys,
//! 1-2 channels changed per step): `put` (as `put_next`, the engine's call), `put_writes`,
//! `get_tuple` (latest, with pending writes) and `list` (10 newest).
//!
//! `cargo bench -p stategraph-checkpoint-sqlite --bench checkpointers` prints criterion's report
//! and then a table of operations per second per backend (the numbers in
//! `crates/stategraph-checkpoint/BENCHMARKS.md`). PostgreSQL has its own bench in its crate.

// `criterion_group!`-style functions are undocumented.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use stategraph_checkpoint::testkit::workload::{Bench, Conversation, Operation, Planned};
use stategraph_checkpoint::{Checkpointer, InMemorySaver, MsgpackSerde, SaveOp, Serde};
use stategraph_checkpoint_sqlite::{Durability, SqliteOptions, SqliteSaver};

/// Operations and time per (backend, operation), over every timed call (warm-up included).
type Tally = BTreeMap<(String, Operation), (u64, Duration)>;

fn bench_backend(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    saver: &dyn Checkpointer,
    tally: &mut Tally,
) {
    let mut bench = rt.block_on(Bench::prepare(saver, name)).expect("prepare the workload");
    let mut group = c.benchmark_group(format!("checkpoint/{name}"));
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    for op in Operation::ALL {
        group.bench_function(op.name(), |b| {
            b.iter_custom(|iters| {
                let took = rt.block_on(bench.time(saver, op, iters)).expect("benchmarked operation");
                let entry = tally.entry((name.to_owned(), op)).or_default();
                entry.0 += iters;
                entry.1 += took;
                took
            });
        });
    }
    group.finish();
}

fn print_table(tally: &Tally) {
    let backends: Vec<&String> =
        tally.keys().map(|(b, _)| b).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut out = String::from("\n| backend | put | put_writes | get_tuple | list (10) |\n|---|---:|---:|---:|---:|\n");
    for backend in backends {
        out.push_str(&format!("| {backend} |"));
        for op in Operation::ALL {
            match tally.get(&(backend.clone(), op)) {
                Some((n, t)) if !t.is_zero() => out.push_str(&format!(" {:.0} |", *n as f64 / t.as_secs_f64())),
                _ => out.push_str(" - |"),
            }
        }
        out.push('\n');
    }
    println!("{out}\n(operations per second)");
}

const BATCH: usize = 8;

/// Steps per second stored one `put_next` + one `put_writes` at a time, and the same saves handed
/// over `BATCH` steps at a time to `save_batch` (what `async` durability does when the run is
/// faster than the disk).
async fn batch_case(saver: &dyn Checkpointer, name: &str, rounds: usize) -> (f64, f64) {
    let mut rates = [0.0; 2];
    for (k, batched) in [false, true].into_iter().enumerate() {
        let (mut conversation, start) = Conversation::plan_start(&format!("{name}-batch-{batched}"));
        saver.put_next(&start.config, &start.checkpoint, &start.metadata, &start.new_versions).await.unwrap();
        let began = std::time::Instant::now();
        for _ in 0..rounds {
            let mut ops = Vec::new();
            for _ in 0..BATCH {
                let Planned { config, checkpoint, new_versions, metadata } = conversation.plan_step();
                ops.push(SaveOp::Put {
                    config,
                    checkpoint: Box::new(checkpoint),
                    metadata,
                    new_versions,
                    only_if_latest: true,
                });
                ops.push(SaveOp::PutWrites {
                    config: conversation.config().clone(),
                    writes: conversation.task_writes(),
                    task_id: "task".into(),
                    task_path: "~".into(),
                });
            }
            if batched {
                saver.save_batch(&ops).await.unwrap();
            } else {
                for op in &ops {
                    saver.save_batch(std::slice::from_ref(op)).await.unwrap();
                }
            }
        }
        rates[k] = (rounds * BATCH) as f64 / began.elapsed().as_secs_f64();
    }
    (rates[0], rates[1])
}

/// Bytes stored per step for a conversation whose message list grows by one ~200-byte message a
/// step for `steps` steps: what is in `checkpoint_blobs` (after), against the sum of every list
/// version encoded whole (what every step stored before deltas).
async fn growing_list_case(saver: &SqliteSaver, name: &str, steps: usize) -> (f64, f64) {
    let thread = format!("{name}-growing");
    let mut conversation = Conversation::start(saver, &thread).await.unwrap();
    let mut full = 0usize;
    for _ in 0..steps {
        let Planned { config, checkpoint, new_versions, metadata } = conversation.plan_step();
        for channel in new_versions.keys() {
            full += MsgpackSerde.dumps(&checkpoint.channel_values[channel]).unwrap().1.len();
        }
        saver.put_next(&config, &checkpoint, &metadata, &new_versions).await.unwrap();
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT SUM(length(blob)) FROM checkpoint_blobs WHERE thread_id = ?1 AND version > 1")
            .bind(&thread)
            .fetch_one(saver.pool())
            .await
            .unwrap();
    (full as f64 / steps as f64, stored as f64 / steps as f64)
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tally = Tally::new();
    let mut extra = Vec::new();

    bench_backend(&mut c, &rt, "memory", &InMemorySaver::new(), &mut tally);
    for (name, durability) in [("sqlite-full", Durability::Sync), ("sqlite-normal", Durability::Normal)] {
        let options = SqliteOptions::default().durability(durability);
        let saver = rt.block_on(SqliteSaver::open_with(dir.path().join(format!("{name}.db")), options)).expect("open");
        bench_backend(&mut c, &rt, name, &saver, &mut tally);
        let (one, batched) = rt.block_on(batch_case(&saver, name, 25));
        let (before, after) = rt.block_on(growing_list_case(&saver, name, 400));
        extra.push(format!("| {name} | {one:.0} | {batched:.0} | {:.1}x | {before:.0} | {after:.0} |", batched / one));
        rt.block_on(saver.close());
    }

    c.final_summary();
    print_table(&tally);
    println!(
        "\n| backend | steps/s one by one | steps/s in batches of {BATCH} | speed-up | bytes/step, list stored whole | bytes/step stored |\n|---|---:|---:|---:|---:|---:|\n{}",
        extra.join("\n")
    );
}
