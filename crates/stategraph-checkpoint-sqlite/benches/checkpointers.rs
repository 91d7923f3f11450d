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
use stategraph_checkpoint::testkit::workload::{Bench, Operation};
use stategraph_checkpoint::{Checkpointer, InMemorySaver};
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

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tally = Tally::new();

    bench_backend(&mut c, &rt, "memory", &InMemorySaver::new(), &mut tally);
    for (name, durability) in [("sqlite-full", Durability::Sync), ("sqlite-normal", Durability::Normal)] {
        let options = SqliteOptions::default().durability(durability);
        let saver = rt.block_on(SqliteSaver::open_with(dir.path().join(format!("{name}.db")), options)).expect("open");
        bench_backend(&mut c, &rt, name, &saver, &mut tally);
        rt.block_on(saver.close());
    }

    c.final_summary();
    print_table(&tally);
}
