//! # stategraph-server
//!
//! A LangGraph-Server-compatible HTTP API over Stategraph graphs, so the official clients
//! (Python `langgraph-sdk`, JS `@langchain/langgraph-sdk`, LangGraph Studio) drive the engine
//! unchanged: assistants, threads, runs (background, streamed as SSE, or waited for), state,
//! history, forks, interrupts and resume.
//!
//! ```no_run
//! use serde_json::json;
//! use stategraph_core::{NodeContext, NodeError, Schema, State, StateGraph, END, START};
//! use stategraph_server::{Database, ServerConfig};
//!
//! # async fn run() -> Result<(), stategraph_server::ServerError> {
//! let mut graph = StateGraph::new(Schema::new().last_value("greeting"));
//! graph
//!     .add_node("greet", |_s: State, _c: NodeContext| async { Ok::<_, NodeError>(json!({"greeting": "hi"})) })
//!     .add_edge(START, "greet")
//!     .add_edge("greet", END);
//! let config = ServerConfig::new()
//!     .with_graph("greeter", graph)
//!     .with_database(Database::Sqlite("stategraph.db".into()));
//! stategraph_server::serve(config).await // 127.0.0.1:2024 until Ctrl-C / SIGTERM
//! # }
//! ```
//!
//! The wire contract is LangGraph Server 0.16's as recorded from a real `langgraph dev`
//! (`../shared/langgraph-server-api/`): JSON bodies, `{"detail": ...}` errors with the same
//! status codes, SSE framed byte for byte the same way, system assistants with the same ids.
//!
//! The studio's own endpoints (`/stategraph/*`: node kinds, validation, parse, export, import,
//! the specs directory) are served next to the LangGraph API.
//!
//! Feature `ui` (off by default) embeds the studio's built web UI at compile time and serves it
//! at `/studio/` when [`ServerConfig::ui`] is set; the CLI enables it for `stategraph dev`.
//!
//! Feature `otel` (off by default; `stategraph-cli/otel` passes it through) exports the spans
//! (`http.request`, `run`, the engine's `stategraph.run`, and with `RUST_LOG=debug` its
//! `stategraph.step` / `stategraph.node`) over OTLP/HTTP with protobuf bodies, when
//! [`init_logging_from_env`] finds `OTEL_EXPORTER_OTLP_ENDPOINT` (spans go to `<it>/v1/traces`)
//! or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL). `service.name` is `stategraph` unless
//! `OTEL_SERVICE_NAME` says otherwise; the other `OTEL_EXPORTER_OTLP_*` and `OTEL_BSP_*`
//! variables (headers, timeout, batch size) apply as usual. Without the variables nothing
//! changes. [`shutdown_telemetry`] sends the last batch.

#![forbid(unsafe_code)]

mod api;
mod breakpoints;
mod config;
mod error;
mod events;
mod graphs;
mod openapi;
mod runs;
mod sse;
mod state;
mod store;
mod studio;
mod time;
#[cfg(feature = "ui")]
mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use stategraph_checkpoint_postgres::{PostgresOptions, PostgresSaver};
use stategraph_checkpoint_sqlite::SqliteSaver;
use stategraph_core::checkpoint::{Checkpointer, InMemorySaver};

pub use config::{Database, GraphDefinition, Limits, ServerConfig};
pub use error::ServerError;
pub use graphs::assistant_id_for;

/// Builds the API as an axum [`Router`](axum::Router): opens the database, compiles the graphs.
/// For embedding the API in another axum application; [`serve`] binds and serves it.
pub async fn router(config: &ServerConfig) -> Result<axum::Router, ServerError> {
    Ok(build(config).await?.0)
}

/// The router and the state behind it (serve drains the state's runs at shutdown).
async fn build(config: &ServerConfig) -> Result<(axum::Router, Arc<state::AppState>), ServerError> {
    let (saver, db): (Arc<dyn Checkpointer>, _) = match &config.database {
        Database::Sqlite(path) => {
            let saver = SqliteSaver::open(path).await.map_err(|e| ServerError::Engine(e.into()))?;
            let pool = saver.pool().clone();
            (Arc::new(saver), store::Db::Sqlite(pool))
        }
        Database::Memory => {
            // One connection that never closes: an in-memory SQLite database lives only as long
            // as its connection.
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect("sqlite::memory:")
                .await?;
            (Arc::new(InMemorySaver::new()), store::Db::Sqlite(pool))
        }
        Database::Postgres { url, schema } => {
            let mut options = PostgresOptions::default().max_connections(config.limits.db_connections);
            if let Some(schema) = schema {
                options = options.schema(schema.clone());
            }
            let saver = PostgresSaver::connect_with(url, options).await.map_err(|e| {
                ServerError::Config(format!("cannot open the PostgreSQL database {}: {e}", redact(url)))
            })?;
            let pool = saver.pool().clone();
            (Arc::new(saver), store::Db::Postgres(pool))
        }
    };
    let store = store::Store::open(db).await?;
    let run_manager = runs::RunManager::for_store(&store);
    let graphs = graphs::Graphs::load(config, saver.clone())?;
    let state = Arc::new(state::AppState {
        graphs,
        store,
        saver,
        runs: run_manager,
        limits: config.limits.clone(),
        auth_token: config.auth_token.clone(),
        drain: stategraph_core::CancelToken::new(),
    });
    runs::spawn_cancel_listener(&state).await?;
    if let (Some(dir), Some(every)) = (&config.specs_dir, config.limits.specs_poll) {
        graphs::spawn_reloader(&state, dir.clone(), every);
    }
    let app = api::router(state.clone(), studio::routes(config));
    Ok((with_ui(app, config)?, state))
}

/// Adds the studio UI routes (outside the token check) when `config.ui` is set.
fn with_ui(app: axum::Router, config: &ServerConfig) -> Result<axum::Router, ServerError> {
    if !config.ui {
        return Ok(app);
    }
    #[cfg(feature = "ui")]
    {
        if !ui::built() {
            tracing::warn!("the studio UI was not built into this binary: /studio/ shows how to build it");
        }
        Ok(app.merge(ui::routes()))
    }
    #[cfg(not(feature = "ui"))]
    Err(ServerError::Config("`ui` is set but this build has no embedded UI (crate feature `ui`)".into()))
}

/// Whether this build embeds a built studio UI (feature `ui` and `ui/dist` present at compile
/// time); false when it has none or only the "UI not built" page.
pub fn ui_embedded() -> bool {
    #[cfg(feature = "ui")]
    return ui::built();
    #[cfg(not(feature = "ui"))]
    false
}

/// How [`init_logging`] writes log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, and the open spans:
    /// `http.request` with method and path, `run` with `run_id`, `thread_id`, `assistant_id`,
    /// `graph_id`, then the engine's `stategraph.run` / step / node spans).
    Json,
}

/// Installs a global `tracing` subscriber writing to stderr, filtered by `RUST_LOG` (default
/// `info`). For binaries (the CLI calls it); a library embedding the router keeps its own
/// subscriber. Does nothing if a subscriber is already installed.
pub fn init_logging(format: LogFormat) {
    install_subscriber(format, false);
}

/// [`init_logging`] with the format named by `STATEGRAPH_LOG_FORMAT` (`json`, or text when unset
/// or anything else).
///
/// With the `otel` feature, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the spans are also exported over OTLP/HTTP
/// (protobuf) by a batch exporter, with `service.name` `stategraph` (or `OTEL_SERVICE_NAME`).
/// Call it before starting the async runtime, and [`shutdown_telemetry`] before exiting so the
/// last batch is sent.
pub fn init_logging_from_env() {
    let json = std::env::var("STATEGRAPH_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    install_subscriber(if json { LogFormat::Json } else { LogFormat::Text }, true);
}

fn install_subscriber(format: LogFormat, otel_from_env: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().with_current_span(true).with_span_list(true).boxed(),
        LogFormat::Text => fmt.boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(fmt);
    #[cfg(feature = "otel")]
    {
        let layer = if otel_from_env { otel::layer_from_env() } else { None };
        let _ = registry.with(layer).try_init();
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = otel_from_env;
        let _ = registry.try_init();
    }
}

/// Sends the spans not exported yet and stops the OpenTelemetry exporter that
/// [`init_logging_from_env`] installed (feature `otel`); does nothing when there is none.
/// Binaries call it once, before exiting.
pub fn shutdown_telemetry() {
    #[cfg(feature = "otel")]
    otel::shutdown();
}

#[cfg(feature = "otel")]
mod otel {
    use std::sync::OnceLock;

    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

    fn set(name: &str) -> bool {
        std::env::var_os(name).is_some_and(|v| !v.is_empty())
    }

    /// The OpenTelemetry layer, when an OTLP endpoint is configured (the exporter reads the
    /// standard `OTEL_EXPORTER_OTLP_*` variables itself).
    pub(super) fn layer_from_env<S>()
    -> Option<tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            return None;
        }
        let exporter = match SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary).build() {
            Ok(exporter) => exporter,
            Err(e) => {
                eprintln!("stategraph: OpenTelemetry export disabled: cannot build the OTLP exporter: {e}");
                return None;
            }
        };
        let service = std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.is_empty());
        let resource =
            Resource::builder().with_service_name(service.unwrap_or_else(|| "stategraph".to_owned())).build();
        let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
        let tracer = provider.tracer("stategraph");
        if PROVIDER.set(provider).is_err() {
            return None; // installed already: the first subscriber keeps exporting
        }
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    pub(super) fn shutdown() {
        if let Some(provider) = PROVIDER.get()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("stategraph: OpenTelemetry export: shutdown: {e}");
        }
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Checks the configuration is safe to serve: any address but loopback needs a token.
fn check_bind(config: &ServerConfig) -> Result<(), ServerError> {
    if !config.host.is_loopback() && config.auth_token.as_deref().is_none_or(str::is_empty) {
        return Err(ServerError::Config(format!(
            "refusing to listen on {} without an auth token: set `auth_token` (clients then send \
             `Authorization: Bearer <token>` or `x-api-key: <token>`), or bind 127.0.0.1",
            config.host
        )));
    }
    Ok(())
}

/// A server running in the background (see [`spawn`]).
pub struct RunningServer {
    /// The address it listens on (with the port the OS picked when `port` was 0).
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets open requests finish, and returns.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.map_err(|e| ServerError::Io(std::io::Error::other(e)))?
    }
}

/// Binds and serves in a background task (tests, the desktop app's in-process server).
pub async fn spawn(config: ServerConfig) -> Result<RunningServer, ServerError> {
    check_bind(&config)?;
    let app = router(&config).await?;
    let listener = tokio::net::TcpListener::bind((config.host, config.port)).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_on(listener, app, async {
        let _ = rx.await;
    }));
    Ok(RunningServer { addr, shutdown: Some(tx), task })
}

/// Binds `config.host:config.port` and serves until Ctrl-C or SIGTERM. Refuses (with
/// [`ServerError::Config`]) to bind a non-loopback address without an auth token.
///
/// At Ctrl-C / SIGTERM the server *drains*: the listener closes, every run in flight stops at
/// its next superstep boundary (the step that is running finishes and its checkpoint is saved),
/// its record is marked `interrupted`, and open streams end; the server waits up to
/// [`DRAIN_TIMEOUT`] for that. A new run on the thread with `input: null` continues where it
/// stopped. A run still going after the timeout (a node that does not return) is dropped; its
/// record, left `running`, is marked `error` when the server starts again.
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    serve_with(config, |_| {}).await
}

/// [`serve`], calling `on_listening` with the bound address (the real port when the configured
/// one is 0) once the database is open, the graphs are loaded and connections are accepted.
pub async fn serve_with(
    config: ServerConfig,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServerError> {
    check_bind(&config)?;
    let (app, state) = build(&config).await?;
    let listener = tokio::net::TcpListener::bind((config.host, config.port)).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "stategraph server listening");
    on_listening(addr);
    let drain = state.drain.clone();
    let signal = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: draining runs at their next step boundary");
        drain.cancel();
    };
    serve_on(listener, app, signal).await?;
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while state.runs.active_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

/// How long a shutdown waits for runs to reach a step boundary.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

async fn serve_on(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
