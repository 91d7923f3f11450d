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
use stategraph_checkpoint::testkit::workload::{Bench, Operation};
use stategraph_checkpoint_postgres::{PostgresOptions, PostgresSaver};

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
}
