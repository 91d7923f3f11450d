//! Criterion benchmarks of the engine on LangGraph's benchmark shapes (see `shapes/mod.rs`).
//!
//! `cargo bench --bench engine` runs all of them; `cargo bench --bench engine -- react_agent`
//! runs the ones whose name matches. The comparison with Python LangGraph is
//! `benches/compare/compare.py`, which times the same shapes.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

mod shapes;

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shapes::Shape;

fn engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime");
    let mut group = c.benchmark_group("engine");
    // The machine has few cores and other work on it: short, few-sample runs are enough to see
    // a regression of the size that matters here (the target is 100x Python).
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    for shape in Shape::all() {
        group.bench_function(shape.name, |b| {
            // The engine takes its input by value: copy it outside the timed part. Dropping the
            // output is timed (inside the routine), as the run's own cost.
            b.iter_batched(|| shape.input.clone(), |input| drop(rt.block_on(shape.run(input))), BatchSize::SmallInput);
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
