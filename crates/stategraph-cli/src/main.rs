//! `stategraph`: check, run and export graph specs from the command line.
//!
//! ```text
//! stategraph validate graph.yaml                  # every problem as `pointer: CODE message`
//! stategraph run graph.yaml --input '{"q": "hi"}' # prints the final state
//! stategraph run graph.yaml --input @in.json --stream updates   # events as JSON lines
//! stategraph run graph.yaml --input '{}' --thread t1 --checkpointer sqlite:runs.db
//! stategraph resume graph.yaml --thread t1 --checkpointer sqlite:runs.db --resume '"yes"'
//! stategraph export graph.yaml --format python    # also mermaid, json, yaml
//! stategraph import lg_graph.json > graph.yaml     # from LangGraph's get_graph().to_json()
//! stategraph schema                               # the JSON Schema of the format
//! stategraph dev                                  # the studio in the browser, with a server
//! ```

mod dev;
mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use stategraph_checkpoint::Checkpointer;
use stategraph_core::{Command as Resume, Input, RunConfig, StreamMode, StreamOptions};
use stategraph_spec::{
    CompileContext, GraphSpec, Http, HttpPolicy, NodeKindRegistry, Problem, compile_in, validate_in,
};

/// Check, run and export Stategraph graph specs (JSON or YAML documents describing a graph).
#[derive(Parser)]
#[command(name = "stategraph", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a spec and print every problem as `POINTER: CODE message` (exit code 1 if any).
    ///
    /// POINTER is a JSON pointer into the document (`/nodes/2/config/code`), or `LINE:COLUMN`
    /// for a syntax error. Subgraph references are followed.
    Validate {
        /// The spec file (`.json`, else YAML).
        file: PathBuf,
    },
    /// Run a spec on an input and print the final state as JSON.
    ///
    /// With `--thread` and `--checkpointer`, every step is saved, and a run that pauses at one
    /// of the spec's `interrupts` prints its state (with `__interrupt__` when a node asked a
    /// question) and can be continued with `stategraph resume`.
    Run {
        /// The spec file (`.json`, else YAML).
        file: PathBuf,
        /// The input: a JSON object, or `@FILE` to read it from a file.
        #[arg(long, default_value = "{}")]
        input: String,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Continue a paused thread: the value answers the pending interrupt (`null` just goes on).
    Resume {
        /// The spec file the thread was started with.
        file: PathBuf,
        /// The resume value, JSON (or `@FILE`).
        #[arg(long, default_value = "null")]
        resume: String,
        #[command(flatten)]
        options: RunOptions,
    },
    /// Print a spec in another format.
    Export {
        /// The spec file (`.json`, else YAML).
        file: PathBuf,
        /// What to print.
        #[arg(long, value_enum)]
        format: Format,
    },
    /// Turn LangGraph's `graph.get_graph().to_json()` output into a spec skeleton (same nodes
    /// and edges; every node a `passthrough` to give a real kind; conditions route on `route`).
    Import {
        /// The JSON file (`-` for stdin).
        file: PathBuf,
        /// The spec's name (default: the file's stem).
        #[arg(long)]
        name: Option<String>,
        /// Print YAML (default) or JSON.
        #[arg(long, value_enum, default_value = "yaml")]
        format: Format,
    },
    /// Serve graphs over the LangGraph Server API, so the official LangGraph SDKs (Python, JS)
    /// and LangGraph tools drive them unchanged.
    ///
    /// Threads, runs and checkpoints live in one SQLite file and survive restarts. Binding to
    /// anything but loopback requires a token (`--token` or `STATEGRAPH_API_KEY`), which clients
    /// then send as `Authorization: Bearer ...` or `x-api-key`.
    Serve {
        /// A directory of spec files to serve (each file's stem is its graph id).
        #[arg(long, value_name = "DIR")]
        specs: Option<PathBuf>,
        /// A `langgraph.json`-style config file (graphs, specs, database).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Where threads, runs and checkpoints are kept: a SQLite file, `memory`, or a
        /// PostgreSQL URL (`postgres://user:pass@host/db`; several servers may share it).
        #[arg(long, value_name = "PATH|URL", default_value = "stategraph.db")]
        db: String,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Port to listen on (LangGraph's dev server uses 2024).
        #[arg(long, default_value_t = 2024)]
        port: u16,
        /// Token clients must send (default: `$STATEGRAPH_API_KEY`); required beyond loopback.
        #[arg(long)]
        token: Option<String>,
    },
    /// Serve the graphs with the studio (the visual graph editor) and open it in the browser.
    ///
    /// `stategraph serve` plus the studio UI built into this binary, at
    /// http://127.0.0.1:2024/studio/. Specs come from --specs, else ./specs, else the app data
    /// folder (created with examples); the studio saves into that folder. Threads and runs are kept
    /// in a SQLite file in the app data folder ($STATEGRAPH_DATA_DIR, default
    /// ~/.local/share/stategraph on Linux).
    Dev(dev::DevArgs),
    /// Print the JSON Schema of the spec format (or its TypeScript declarations).
    Schema {
        /// Print TypeScript declarations instead.
        #[arg(long)]
        typescript: bool,
    },
}

/// How a run is carried out and shown.
#[derive(clap::Args)]
struct RunOptions {
    /// Print stream events as JSON lines instead of the final state
    /// (comma-separated: values, updates, custom, tasks, debug, checkpoints).
    #[arg(long, value_name = "MODES")]
    stream: Option<String>,
    /// Let `http` nodes reach this host (repeatable; `*.example.com` for subdomains).
    /// No host is allowed otherwise.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// Most supersteps before the run fails.
    #[arg(long)]
    recursion_limit: Option<usize>,
    /// The thread the run belongs to (its checkpoints are saved under it).
    #[arg(long, value_name = "ID")]
    thread: Option<String>,
    /// Where checkpoints go: `memory`, `sqlite:PATH` or `postgres:URL`.
    #[arg(long, value_name = "SAVER", requires = "thread")]
    checkpointer: Option<String>,
    /// Live progress on stderr (one line per task: step, node, running/done/error/interrupted,
    /// time): `auto` draws it when stderr is a terminal (and NO_PROGRESS is unset), so pipes and
    /// files get only the JSON on stdout.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    progress: progress::ProgressMode,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A Mermaid flowchart of the compiled graph.
    Mermaid,
    /// The spec as JSON.
    Json,
    /// The spec as YAML.
    Yaml,
    /// A Python module building the same graph with LangGraph.
    Python,
}

/// `stategraph serve`: builds the server's configuration from the flags and runs it until
/// Ctrl-C / SIGTERM.
fn serve(
    specs: Option<PathBuf>,
    config: Option<PathBuf>,
    db: &str,
    host: std::net::IpAddr,
    port: u16,
    token: Option<String>,
) -> Result<ExitCode> {
    use stategraph_server::{Database, ServerConfig};
    let mut cfg = match &config {
        Some(path) => ServerConfig::from_file(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => ServerConfig::new(),
    };
    if let Some(dir) = specs {
        if !dir.is_dir() {
            bail!("--specs {}: not a directory", dir.display());
        }
        cfg = cfg.with_specs_dir(dir);
    }
    if config.is_none() || db != "stategraph.db" {
        // `postgres://…` (several servers may share it), `memory`, or a SQLite file.
        cfg = cfg.with_database(Database::from_url(db));
    }
    cfg = cfg.with_bind(host, port);
    if let Some(t) = token.or_else(|| std::env::var("STATEGRAPH_API_KEY").ok().filter(|t| !t.is_empty())) {
        cfg = cfg.with_auth_token(t);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    // Logs on stderr: text, or JSON lines with STATEGRAPH_LOG_FORMAT=json; RUST_LOG filters.
    stategraph_server::init_logging_from_env();
    eprintln!("stategraph: opening the database and loading the graphs...");
    let listening = |addr| eprintln!("stategraph: serving on http://{addr} (Ctrl-C to stop)");
    let served = runtime.block_on(stategraph_server::serve_with(cfg, listening));
    drop(runtime);
    // With the `otel` feature and an OTLP endpoint set: send the spans not exported yet.
    stategraph_server::shutdown_telemetry();
    served.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { file } => validate(&file),
        Command::Run { file, input, options } => {
            let input: serde_json::Value = serde_json::from_str(&read_arg(&input)?)
                .context("--input is not valid JSON (give a JSON object or @FILE)")?;
            let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(run(&file, Input::from(input), options))
        }
        Command::Resume { file, resume, options } => {
            if options.thread.is_none() || options.checkpointer.is_none() {
                bail!("resume needs the --thread and the --checkpointer the run was started with");
            }
            let value: serde_json::Value =
                serde_json::from_str(&read_arg(&resume)?).context("--resume is not valid JSON")?;
            let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(run(&file, Input::from(Resume::new().resume(value)), options))
        }
        Command::Export { file, format } => export(&file, format),
        Command::Serve { specs, config, db, host, port, token } => serve(specs, config, &db, host, port, token),
        Command::Import { file, name, format } => import(&file, name, format),
        Command::Dev(args) => dev::run(args),
        Command::Schema { typescript } => {
            if typescript {
                print!("{}", stategraph_spec::typescript());
            } else {
                println!("{}", serde_json::to_string_pretty(&stategraph_spec::json_schema())?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `POINTER: CODE message`, the line every problem is printed as.
fn problem_line(p: &Problem) -> String {
    let place = match (p.line, p.column) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
        _ if p.pointer.is_empty() => "(document)".to_owned(),
        _ => p.pointer.clone(),
    };
    format!("{place}: {} {}", p.code, p.message)
}

/// Prints problems to stderr with a summary naming the file; the exit code for them.
fn report(file: &Path, problems: &[Problem]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for p in problems {
        let _ = writeln!(out, "{}", problem_line(p));
    }
    let n = problems.len();
    eprintln!("{}: {n} problem{}", file.display(), if n == 1 { "" } else { "s" });
    ExitCode::from(1)
}

fn read(file: &Path) -> Result<GraphSpec, Vec<Problem>> {
    GraphSpec::from_path(file)
}

fn context(file: &Path) -> CompileContext {
    CompileContext::new().with_path(file)
}

fn validate(file: &Path) -> Result<ExitCode> {
    let spec = match read(file) {
        Ok(spec) => spec,
        Err(problems) => return Ok(report(file, &problems)),
    };
    let problems = validate_in(&spec, &NodeKindRegistry::with_builtins(), &context(file));
    if !problems.is_empty() {
        return Ok(report(file, &problems));
    }
    eprintln!("{}: valid", file.display());
    Ok(ExitCode::SUCCESS)
}

/// The text of an argument that may be `@FILE`.
fn read_arg(arg: &str) -> Result<String> {
    match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}")),
        None => Ok(arg.to_owned()),
    }
}

/// The checkpointer a `--checkpointer` value names.
async fn checkpointer(spec: &str) -> Result<Arc<dyn Checkpointer>> {
    if spec == "memory" {
        return Ok(Arc::new(stategraph_checkpoint::InMemorySaver::new()));
    }
    if let Some(path) = spec.strip_prefix("sqlite:") {
        let saver = stategraph_checkpoint_sqlite::SqliteSaver::open(path)
            .await
            .with_context(|| format!("cannot open the SQLite checkpointer at {path}"))?;
        return Ok(Arc::new(saver));
    }
    if spec.starts_with("postgres:") || spec.starts_with("postgresql:") {
        let url = spec.strip_prefix("postgres:").filter(|u| !u.starts_with("//")).unwrap_or(spec);
        let saver = stategraph_checkpoint_postgres::PostgresSaver::connect(url)
            .await
            .context("cannot connect the PostgreSQL checkpointer")?;
        return Ok(Arc::new(saver));
    }
    bail!("--checkpointer must be `memory`, `sqlite:PATH` or `postgres:URL`, not `{spec}`")
}

async fn run(file: &Path, input: Input, options: RunOptions) -> Result<ExitCode> {
    let RunOptions { stream, allow_hosts, recursion_limit, thread, checkpointer: saver, progress } = options;
    let modes = match stream.as_deref() {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|m| m.trim().parse::<StreamMode>().map_err(|e| anyhow::anyhow!("--stream: {e}")))
            .collect::<Result<Vec<_>>>()?,
    };
    let spec = match read(file) {
        Ok(spec) => spec,
        Err(problems) => return Ok(report(file, &problems)),
    };
    let mut registry = NodeKindRegistry::with_builtins();
    let policy = allow_hosts.into_iter().fold(HttpPolicy::default(), HttpPolicy::allow_host);
    registry.register("http", Http::new(policy));
    let mut cx = context(file);
    if let Some(saver) = &saver {
        cx = cx.with_checkpointer(checkpointer(saver).await?);
    }
    let graph = match compile_in(&spec, &registry, &cx) {
        Ok(graph) => graph,
        Err(problems) => return Ok(report(file, &problems)),
    };
    let mut config = RunConfig::default();
    if let Some(limit) = recursion_limit {
        config.recursion_limit = limit;
    }
    if let Some(thread) = thread {
        config = config.with_thread(thread);
    }
    let show_progress = progress.enabled(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if modes.is_empty() && !show_progress {
        let state = graph.invoke(input, config).await.map_err(|e| anyhow::anyhow!("the run failed: {e}"))?;
        writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&state.to_json())?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut all = modes.clone();
    if show_progress && !all.contains(&StreamMode::Debug) {
        all.push(StreamMode::Debug);
    }
    let thread_config = config.thread_id.clone().map(stategraph_checkpoint::CheckpointConfig::thread);
    let mut events = graph.stream(input, config, StreamOptions::modes(all).with_subgraphs(true));
    let mut display = show_progress.then(|| progress::Progress::new(std::io::stderr(), &spec.name));
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(100));
    let failure = loop {
        let event = tokio::select! {
            event = events.next() => match event {
                Some(event) => event,
                None => break None,
            },
            _ = ticker.tick() => {
                if let Some(d) = &mut display {
                    d.redraw();
                }
                continue;
            }
        };
        let event = match event {
            Ok(event) => event,
            Err(e) => break Some(e.to_string()),
        };
        if let Some(d) = &mut display
            && event.mode == StreamMode::Debug
            && event.namespace.is_empty()
        {
            d.event(&event.data.to_json());
        }
        if modes.contains(&event.mode) {
            let line = serde_json::json!({"mode": event.mode.as_str(), "namespace": event.namespace, "data": event.data.to_json()});
            let mut out = std::io::stdout().lock();
            writeln!(out, "{line}")?;
            out.flush()?;
        }
    };
    if let Some(error) = failure {
        if let Some(d) = &mut display {
            d.finish(progress::Outcome::Failed(&error));
        }
        bail!("the run failed: {error}");
    }
    let output = events.output().map(stategraph_core::Value::to_json).unwrap_or_default();
    if let Some(d) = &mut display {
        // Paused: a node asked (`__interrupt__`), or a static breakpoint left tasks to run.
        let mut paused = output.get(stategraph_core::INTERRUPT_KEY).is_some();
        if !paused && let Some(c) = &thread_config {
            paused = graph.get_state(c).await.is_ok_and(|s| !s.next.is_empty());
        }
        d.finish(if paused { progress::Outcome::Interrupted } else { progress::Outcome::Done });
    }
    if modes.is_empty() {
        writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&output)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn import(file: &Path, name: Option<String>, format: Format) -> Result<ExitCode> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read stdin")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let json: serde_json::Value = serde_json::from_str(&text).context("the input is not JSON")?;
    let name = name.unwrap_or_else(|| file.file_stem().map_or("imported".into(), |s| s.to_string_lossy().into_owned()));
    let spec = match GraphSpec::from_langgraph_json(&json, &name) {
        Ok(spec) => spec,
        Err(problems) => return Ok(report(file, &problems)),
    };
    match format {
        Format::Json => println!("{}", spec.to_json()),
        Format::Yaml => print!("{}", spec.to_yaml()),
        Format::Mermaid | Format::Python => bail!("import prints a spec: --format yaml or json"),
    }
    Ok(ExitCode::SUCCESS)
}

fn export(file: &Path, format: Format) -> Result<ExitCode> {
    let spec = match read(file) {
        Ok(spec) => spec,
        Err(problems) => return Ok(report(file, &problems)),
    };
    let registry = NodeKindRegistry::with_builtins();
    let text = match format {
        Format::Json => format!("{}\n", spec.to_json()),
        Format::Yaml => spec.to_yaml(),
        Format::Mermaid => match compile_in(&spec, &registry, &context(file)) {
            Ok(graph) => graph.draw_mermaid(),
            Err(problems) => return Ok(report(file, &problems)),
        },
        Format::Python => {
            let export = match spec.to_python(&registry, &context(file)) {
                Ok(export) => export,
                Err(problems) => return Ok(report(file, &problems)),
            };
            for stub in &export.stubs {
                eprintln!(
                    "warning: {stub} has no Python translation; the export has a stub raising NotImplementedError"
                );
            }
            export.code
        }
    };
    if text.is_empty() {
        bail!("nothing to export");
    }
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
