//! Throughput of the PostgreSQL checkpointer on the chat-agent workload of
//! `stategraph_checkpoint::testkit::workload` (the same as the memory/SQLite bench in
//! `stategraph-checkpoint-sqlite`): `put` (as `put_next`), `put_writes`, `get_tuple`, `list`.
//!
//! Connects to `$DATABASE_URL` (default `postgres://postgres:postgres@127.0.0.1:5432/test`) and
//! works in a schema of its own, dropped at the end. When the server is unreachable it prints a
//! loud SKIPPED banner and measures nothing (and fails if `CI` is set).

// `criterion_group!`-style functions are undocumented.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, Throughput};
use sqlx::AssertSqlSafe;
use stategraph_checkpoint::testkit::workload::{Bench, Conversation, Operation, Planned};
use stategraph_checkpoint::{Checkpointer, SaveOp};
use stategraph_checkpoint_postgres::{PostgresOptions, PostgresSaver};

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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/test".into());
    let schema = format!("sg_bench_{}", std::process::id());
    let options = PostgresOptions::default().schema(&schema).acquire_timeout(Duration::from_secs(5));
    let saver = match rt.block_on(PostgresSaver::connect_with(&url, options)) {
        Ok(saver) => saver,
        Err(e) if std::env::var_os("CI").is_none() => {
            let line = "*".repeat(78);
            eprintln!("\n{line}\n*** SKIPPED postgres checkpointer bench: no PostgreSQL at {url}: {e}\n{line}\n");
            return;
        }
        Err(e) => panic!("no PostgreSQL at {url}: {e}"),
    };
    let name = "postgres";
    let mut bench = rt.block_on(Bench::prepare(&saver, name)).expect("prepare the workload");
    let mut rows = Vec::new();
    let mut group = c.benchmark_group(format!("checkpoint/{name}"));
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    for op in Operation::ALL {
        let (mut n, mut total) = (0u64, Duration::ZERO);
        group.bench_function(op.name(), |b| {
            b.iter_custom(|iters| {
                let took = rt.block_on(bench.time(&saver, op, iters)).expect("benchmarked operation");
                n += iters;
                total += took;
                took
            });
        });
        rows.push(if total.is_zero() { "-".to_owned() } else { format!("{:.0}", n as f64 / total.as_secs_f64()) });
    }
    group.finish();
    let (one, batched) = rt.block_on(batch_case(&saver, name, 25));
    rt.block_on(async {
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
            .execute(saver.pool())
            .await
            .expect("drop the bench schema");
        saver.close().await;
    });
    c.final_summary();
    println!(
        "\n| backend | put | put_writes | get_tuple | list (10) |\n|---|---:|---:|---:|---:|\n| {name} | {} |\n\n(operations per second)",
        rows.join(" | ")
    );
    println!(
        "\n| backend | steps/s one by one | steps/s in batches of {BATCH} | speed-up |\n|---|---:|---:|---:|\n| {name} | {one:.0} | {batched:.0} | {:.1}x |",
        batched / one
    );
}
