//! Times the benchmark shapes with a checkpointer, for `benches/compare/compare.py --savers`,
//! which builds this with `cargo build --release --features sqlite --example bench_savers`.
//!
//! ```text
//! bench_savers time --saver memory|sqlite --dir DIR [--durability async|sync|exit]
//!                   [--sqlite-synchronous default|full|normal] [--dump OUT]
//!                   [--target-ms MS] [--min-runs N] [--max-runs N] [SHAPE...]
//!     prints {"<shape>": {"median_ms": .., "min_ms": .., "runs": .., "samples_ms": [..]}, ...} as
//!     JSON (the samples sorted); with --dump,
//!     writes each shape's first (warm-up) final state to OUT/<shape>.json
//! bench_savers dump --saver memory|sqlite --dir DIR OUT [SHAPE...]
//!     writes each shape's final state to OUT/<shape>.json (for the equality check)
//! bench_savers rss --saver memory|sqlite --dir DIR SHAPE
//!     one run in this process, then prints {"peak_rss_kib": VmHWM, "before_run_kib": VmRSS};
//!     with SG_SMAPS=PREFIX in the environment, also copies /proc/self/smaps to PREFIX.before and
//!     PREFIX.after (which mappings hold the resident pages: code, heap, thread arenas)
//! ```
//!
//! Each shape gets its own saver (for SQLite a file `DIR/rust-<shape>-<command>.db`, opened with
//! the default options: WAL, `synchronous=FULL` for puts and `NORMAL` for the `async` batches;
//! `--sqlite-synchronous full` uses `FULL` for every commit, as Python's `SqliteSaver` on a plain
//! `sqlite3.connect`). Every run, warm-up included, uses a fresh thread id, so it starts from an
//! empty thread and saves all its steps, as a new conversation would. The durability mode is the
//! engine's default, `async` (LangGraph's default too): checkpoints are written while the next
//! step runs and the run waits for them before it returns, so their cost is in the time.
//!
//! As in `bench_shapes`, a run is one `invoke` on a current-thread tokio runtime; the input is
//! copied before the clock starts and dropping the output is timed.

#[allow(dead_code)] // the no-checkpointer half is for `bench_shapes`
#[path = "../shapes/mod.rs"]
mod shapes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use shapes::{NAMES, Shape};
use stategraph::prelude::{Checkpointer, Durability, InMemorySaver};
use stategraph::sqlite::{Durability as SqliteSync, SqliteOptions, SqliteSaver};

pub(crate) fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some(cmd @ ("time" | "dump" | "rss")) => Options::parse(&args[1..]).and_then(|o| match cmd {
            "time" => time(&o),
            "dump" => dump(&o),
            _ => rss(&o),
        }),
        _ => Err("usage: bench_savers time|dump|rss --saver memory|sqlite --dir DIR [OPTIONS] [OUT] [SHAPE...] \
                  (see the file's header)"
            .to_owned()),
    };
    if let Err(e) = result {
        eprintln!("bench_savers: {e}");
        std::process::exit(2);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    Sqlite,
}

struct Options {
    backend: Backend,
    dir: PathBuf,
    durability: Durability,
    target: Duration,
    min_runs: usize,
    max_runs: usize,
    /// SQLite `synchronous`: `None` for the saver's defaults (`FULL` for puts, `NORMAL` for the
    /// `async` batches), or one setting for every commit.
    sqlite_sync: Option<SqliteSync>,
    /// `time` writes each shape's warm-up output here (`<shape>.json`), for the equality check.
    dump: Option<PathBuf>,
    /// Positional arguments: `[OUT] SHAPE...`.
    rest: Vec<String>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            backend: Backend::Memory,
            dir: std::env::temp_dir(),
            durability: Durability::Async,
            target: Duration::from_millis(500),
            min_runs: 5,
            max_runs: 100_000,
            sqlite_sync: None,
            dump: None,
            rest: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = |flag: &str| it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
            let num = |flag: &str, v: String| v.parse::<u64>().map_err(|_| format!("{flag} needs a number"));
            match a.as_str() {
                "--saver" => {
                    o.backend = match value(a)?.as_str() {
                        "memory" => Backend::Memory,
                        "sqlite" => Backend::Sqlite,
                        other => return Err(format!("unknown saver `{other}` (memory, sqlite)")),
                    }
                }
                "--dir" => o.dir = PathBuf::from(value(a)?),
                "--durability" => {
                    o.durability = match value(a)?.as_str() {
                        "async" => Durability::Async,
                        "sync" => Durability::Sync,
                        "exit" => Durability::Exit,
                        other => return Err(format!("unknown durability `{other}` (async, sync, exit)")),
                    }
                }
                "--sqlite-synchronous" => {
                    o.sqlite_sync = match value(a)?.as_str() {
                        "default" => None,
                        "full" => Some(SqliteSync::Sync),
                        "normal" => Some(SqliteSync::Normal),
                        other => return Err(format!("unknown synchronous `{other}` (default, full, normal)")),
                    }
                }
                "--dump" => o.dump = Some(PathBuf::from(value(a)?)),
                "--target-ms" => o.target = Duration::from_millis(num(a, value(a)?)?),
                "--min-runs" => o.min_runs = num(a, value(a)?)? as usize,
                "--max-runs" => o.max_runs = num(a, value(a)?)? as usize,
                _ => o.rest.push(a.clone()),
            }
        }
        Ok(o)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    // `enable_all`: the SQLite pool uses tokio timers.
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

/// A fresh saver for one shape, and the shape compiled with it.
async fn shape_with_saver(o: &Options, name: &str, command: &str) -> Result<(Shape, Option<Arc<SqliteSaver>>), String> {
    let unknown = || format!("unknown shape `{name}` (known: {})", NAMES.join(", "));
    match o.backend {
        Backend::Memory => {
            let saver: Arc<dyn Checkpointer> = Arc::new(InMemorySaver::new());
            Ok((Shape::with_checkpointer(name, saver).ok_or_else(unknown)?, None))
        }
        Backend::Sqlite => {
            std::fs::create_dir_all(&o.dir).map_err(|e| format!("{}: {e}", o.dir.display()))?;
            let path = o.dir.join(format!("rust-{name}-{command}.db"));
            let options = match o.sqlite_sync {
                None => SqliteOptions::default(),
                Some(sync) => SqliteOptions::default().durability(sync),
            };
            let saver =
                Arc::new(SqliteSaver::open_with(&path, options).await.map_err(|e| format!("{}: {e}", path.display()))?);
            // Kept to close the pool (which checkpoints the WAL) at the end.
            let closer = saver.clone();
            let saver: Arc<dyn Checkpointer> = saver;
            Ok((Shape::with_checkpointer(name, saver).ok_or_else(unknown)?, Some(closer)))
        }
    }
}

fn names(rest: &[String]) -> Vec<String> {
    if rest.is_empty() { NAMES.iter().map(|n| (*n).to_owned()).collect() } else { rest.to_vec() }
}

fn time(o: &Options) -> Result<(), String> {
    let rt = runtime();
    let mut report = Map::new();
    for name in names(&o.rest) {
        let (shape, closer) = rt.block_on(shape_with_saver(o, &name, "time"))?;
        let mut thread = 0usize;
        let mut next_thread = || {
            thread += 1;
            format!("{name}-{thread}")
        };
        // Warm up: caches, allocator pools, the database's first pages.
        let warm = Instant::now();
        for i in 0..3 {
            let out = rt.block_on(shape.run_on_thread(shape.input.clone(), &next_thread(), o.durability));
            if let (0, Some(dir)) = (i, &o.dump) {
                write_json(dir, &name, &out)?;
            }
            drop(out);
            if warm.elapsed() > o.target / 4 {
                break;
            }
        }
        let mut samples: Vec<f64> = Vec::new();
        let started = Instant::now();
        while samples.len() < o.max_runs && (samples.len() < o.min_runs || started.elapsed() < o.target) {
            let input = shape.input.clone();
            let thread = next_thread();
            let t = Instant::now();
            let out = rt.block_on(shape.run_on_thread(input, &thread, o.durability));
            drop(out);
            samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
        drop(shape);
        if let Some(c) = closer {
            rt.block_on(c.close());
        }
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let median = if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2.0 };
        eprintln!("{name:<26} median {median:>10.4} ms over {n} runs");
        report.insert(name, json!({"median_ms": median, "min_ms": samples[0], "runs": n, "samples_ms": samples}));
    }
    println!("{}", Value::Object(report));
    Ok(())
}

fn dump(o: &Options) -> Result<(), String> {
    let (out_dir, rest) = o.rest.split_first().ok_or("dump needs an output directory")?;
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{out_dir}: {e}"))?;
    let rt = runtime();
    for name in names(rest) {
        let (shape, closer) = rt.block_on(shape_with_saver(o, &name, "dump"))?;
        let out = rt.block_on(shape.run_on_thread(shape.input.clone(), &format!("{name}-dump"), o.durability));
        write_json(Path::new(out_dir), &name, &out)?;
        drop(shape);
        if let Some(c) = closer {
            rt.block_on(c.close());
        }
    }
    Ok(())
}

fn write_json(dir: &Path, name: &str, out: &stategraph::Value) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string(out).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A `kB` line of `/proc/self/status` (`VmHWM`: peak resident set; `VmRSS`: current).
fn status_kib(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

fn rss(o: &Options) -> Result<(), String> {
    let [name] = o.rest.as_slice() else {
        return Err("rss takes exactly one shape".to_owned());
    };
    let rt = runtime();
    let (shape, closer) = rt.block_on(shape_with_saver(o, name, "rss"))?;
    let before = status_kib("VmRSS")?;
    let smaps = std::env::var("SG_SMAPS").ok();
    if let Some(path) = &smaps {
        let _ = std::fs::copy("/proc/self/smaps", format!("{path}.before"));
    }
    let t = Instant::now();
    let out = rt.block_on(shape.run_on_thread(shape.input.clone(), &format!("{name}-rss"), o.durability));
    let ms = t.elapsed().as_secs_f64() * 1e3;
    drop(out);
    let peak = status_kib("VmHWM")?;
    if let Some(path) = &smaps {
        let _ = std::fs::copy("/proc/self/smaps", format!("{path}.after"));
    }
    drop(shape);
    if let Some(c) = closer {
        rt.block_on(c.close());
    }
    println!("{}", json!({"peak_rss_kib": peak, "before_run_kib": before, "run_ms": ms}));
    Ok(())
}
