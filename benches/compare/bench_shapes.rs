//! Times the benchmark shapes for `benches/compare/compare.py`, which builds this with
//! `cargo build --release --example bench_shapes`.
//!
//! ```text
//! bench_shapes time [--target-ms MS] [--min-runs N] [--max-runs N] [SHAPE...]
//!     prints {"<shape>": {"median_ms": .., "min_ms": .., "runs": ..}, ...} as JSON
//! bench_shapes dump DIR [SHAPE...]
//!     writes each shape's final state to DIR/<shape>.json (for the equality check)
//! ```
//!
//! A run is one `invoke` on a current-thread tokio runtime (the engine runs a step's tasks
//! concurrently on the calling task, so more threads would not help). The input is copied before
//! the clock starts (the engine takes it by value; Python passes a reference); dropping the
//! output is timed.

#[path = "../shapes/mod.rs"]
mod shapes;

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use shapes::{NAMES, Shape};

/// Entry point (also called by `bench_shapes_mimalloc`, the same binary with mimalloc).
pub(crate) fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("time") => time(&args[1..]),
        Some("dump") => dump(&args[1..]),
        _ => Err("usage: bench_shapes time [--target-ms MS] [--min-runs N] [--max-runs N] [SHAPE...] \
                  | bench_shapes dump DIR [SHAPE...]"
            .to_owned()),
    };
    if let Err(e) = result {
        eprintln!("bench_shapes: {e}");
        std::process::exit(2);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime")
}

fn shapes_named(names: &[String]) -> Result<Vec<Shape>, String> {
    if names.is_empty() {
        return Ok(Shape::all());
    }
    names
        .iter()
        .map(|n| Shape::new(n).ok_or_else(|| format!("unknown shape `{n}` (known: {})", NAMES.join(", "))))
        .collect()
}

fn time(args: &[String]) -> Result<(), String> {
    let mut target = Duration::from_millis(500);
    let mut min_runs = 5usize;
    let mut max_runs = 100_000usize;
    let mut names = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |flag: &str| -> Result<u64, String> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a number"))
        };
        match a.as_str() {
            "--target-ms" => target = Duration::from_millis(num(a)?),
            "--min-runs" => min_runs = num(a)? as usize,
            "--max-runs" => max_runs = num(a)? as usize,
            _ => names.push(a.clone()),
        }
    }
    let rt = runtime();
    let mut report = Map::new();
    for shape in shapes_named(&names)? {
        // Warm up: caches, allocator pools, lazily built statics.
        let warm = Instant::now();
        for _ in 0..3 {
            drop(rt.block_on(shape.run(shape.input.clone())));
            if warm.elapsed() > target / 4 {
                break;
            }
        }
        let mut samples: Vec<f64> = Vec::new();
        let started = Instant::now();
        while samples.len() < max_runs && (samples.len() < min_runs || started.elapsed() < target) {
            let input = shape.input.clone();
            let t = Instant::now();
            let out = rt.block_on(shape.run(input));
            drop(out);
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
        samples.sort_by(f64::total_cmp);
        let median = if samples.len() % 2 == 1 {
            samples[samples.len() / 2]
        } else {
            (samples[samples.len() / 2 - 1] + samples[samples.len() / 2]) / 2.0
        };
        eprintln!("{:<26} median {median:>10.4} ms over {} runs", shape.name, samples.len());
        report.insert(shape.name.to_owned(), json!({"median_ms": median, "min_ms": samples[0], "runs": samples.len()}));
    }
    println!("{}", Value::Object(report));
    Ok(())
}

fn dump(args: &[String]) -> Result<(), String> {
    let (dir, names) = args.split_first().ok_or("dump needs a directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    let rt = runtime();
    for shape in shapes_named(names)? {
        let out = rt.block_on(shape.run(shape.input.clone()));
        let path = std::path::Path::new(dir).join(format!("{}.json", shape.name));
        let text = serde_json::to_string(&out).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
