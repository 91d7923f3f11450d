//! How a server is configured: where it listens, where it stores threads and checkpoints, which
//! graphs it serves and its limits. [`ServerConfig::from_file`] reads the same settings from a
//! JSON file in the spirit of LangGraph's `langgraph.json`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use stategraph_core::{CompileOptions, StateGraph};

use crate::error::ServerError;

/// Where threads, runs and checkpoints are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// One SQLite file (WAL): checkpoints (the SQLite checkpointer's tables) and the server's own
    /// `sg_server_threads` / `sg_server_runs` tables. Survives restarts. The default
    /// (`stategraph.db` in the working directory).
    Sqlite(PathBuf),
    /// Nothing survives the process (tests, throwaway servers).
    Memory,
    /// PostgreSQL: checkpoints (the PostgreSQL checkpointer's tables) and the server's tables in
    /// `schema` (created if missing; `None`: the connection's default search path). Several
    /// server processes may share one database: runs on one thread are serialised across them
    /// (advisory locks) and cancellations reach the process running the run (`LISTEN/NOTIFY`).
    Postgres {
        /// `postgres://user:password@host:port/database`.
        url: String,
        /// The schema to work in.
        schema: Option<String>,
    },
}

impl Database {
    /// Reads a `--db` value: `postgres://…` / `postgresql://…` (PostgreSQL), `memory` or
    /// `:memory:` (nothing kept), anything else a SQLite file path (`sqlite:` prefix optional).
    pub fn from_url(s: &str) -> Database {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Database::Postgres { url: s.to_owned(), schema: None }
        } else if s == "memory" || s == ":memory:" {
            Database::Memory
        } else {
            Database::Sqlite(PathBuf::from(
                s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")).unwrap_or(s),
            ))
        }
    }
}

/// Limits that protect the server from large or hostile requests and slow clients.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Deepest accepted JSON nesting in a request body (deeper: 422).
    pub max_json_depth: usize,
    /// Events buffered per run for its SSE subscribers; a subscriber that falls further behind is
    /// sent an `error` event and disconnected (the run itself continues).
    pub sse_buffer: usize,
    /// Idle time after which an SSE stream gets a `: heartbeat` comment and a `/wait` body a
    /// newline (LangGraph's 5 s).
    pub heartbeat: Duration,
    /// How often the specs directory is checked for added, changed and removed specs (hot
    /// reload); `None`: never after start.
    pub specs_poll: Option<Duration>,
    /// Connections in the PostgreSQL pool (each running run holds one for its thread's lock).
    pub db_connections: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 10 * 1024 * 1024,
            max_json_depth: 64,
            sse_buffer: 4096,
            heartbeat: Duration::from_secs(5),
            db_connections: 32,
            specs_poll: Some(Duration::from_secs(1)),
        }
    }
}

/// A graph registered from Rust code: the builder and its compile options (the server adds its
/// checkpointer when compiling).
#[derive(Clone)]
pub struct GraphDefinition {
    /// The graph builder.
    pub graph: StateGraph,
    /// Compile options (`checkpointer` is replaced by the server's).
    pub options: CompileOptions,
}

/// Everything [`serve`](crate::serve) needs.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to bind (default `127.0.0.1`). Any other address requires [`auth_token`](Self::auth_token).
    pub host: IpAddr,
    /// Port to bind (default 2024, `langgraph dev`'s; 0 picks a free one).
    pub port: u16,
    /// Storage of threads, runs and checkpoints.
    pub database: Database,
    /// A directory whose `*.json`, `*.yaml` and `*.yml` graph specs are served, each under its
    /// file stem as graph id.
    pub specs_dir: Option<PathBuf>,
    /// Individual spec files: `(graph_id, path)`.
    pub spec_files: Vec<(String, PathBuf)>,
    /// Graphs registered from Rust code: `(graph_id, definition)`.
    pub graphs: Vec<(String, GraphDefinition)>,
    /// When set, every request (except CORS preflights and `/ok`) must carry
    /// `Authorization: Bearer <token>` or `x-api-key: <token>`.
    pub auth_token: Option<String>,
    /// Request and stream limits.
    pub limits: Limits,
    /// Whether the studio may write specs into [`specs_dir`](Self::specs_dir)
    /// (`PUT /stategraph/specs/{name}`; default false: the directory is only read).
    pub specs_writable: bool,
    /// Whether to serve the studio UI at `/studio/` (and redirect `/` there). Needs the crate
    /// feature `ui`, which embeds the built UI; without it, [`serve`](crate::serve) refuses.
    pub ui: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 2024,
            database: Database::Sqlite(PathBuf::from("stategraph.db")),
            specs_dir: None,
            spec_files: Vec::new(),
            graphs: Vec::new(),
            auth_token: None,
            limits: Limits::default(),
            specs_writable: false,
            ui: false,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("specs_dir", &self.specs_dir)
            .field("spec_files", &self.spec_files)
            .field("graphs", &self.graphs.iter().map(|(id, _)| id).collect::<Vec<_>>())
            .field("auth_token", &self.auth_token.as_ref().map(|_| "<set>"))
            .field("limits", &self.limits)
            .field("specs_writable", &self.specs_writable)
            .field("ui", &self.ui)
            .finish()
    }
}

impl ServerConfig {
    /// The defaults: `127.0.0.1:2024`, `stategraph.db`, no graphs.
    pub fn new() -> Self {
        ServerConfig::default()
    }

    /// Serves a graph built in Rust under `graph_id`.
    pub fn with_graph(self, graph_id: impl Into<String>, graph: StateGraph) -> Self {
        self.with_graph_options(graph_id, graph, CompileOptions::default())
    }

    /// Serves a graph built in Rust, compiled with `options` (plus the server's checkpointer).
    pub fn with_graph_options(
        mut self,
        graph_id: impl Into<String>,
        graph: StateGraph,
        options: CompileOptions,
    ) -> Self {
        self.graphs.push((graph_id.into(), GraphDefinition { graph, options }));
        self
    }

    /// Serves every spec in `dir`.
    pub fn with_specs_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.specs_dir = Some(dir.into());
        self
    }

    /// Stores everything in this database.
    pub fn with_database(mut self, database: Database) -> Self {
        self.database = database;
        self
    }

    /// Binds this address and port.
    pub fn with_bind(mut self, host: IpAddr, port: u16) -> Self {
        self.host = host;
        self.port = port;
        self
    }

    /// Lets the studio write specs into the specs directory (`PUT /stategraph/specs/{name}`).
    pub fn with_writable_specs(mut self, writable: bool) -> Self {
        self.specs_writable = writable;
        self
    }

    /// Serves the studio UI at `/studio/` (needs the crate feature `ui`).
    pub fn with_ui(mut self, ui: bool) -> Self {
        self.ui = ui;
        self
    }

    /// Requires this token (bearer or `x-api-key`).
    pub fn with_auth_token(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(token.into());
        self
    }

    /// Reads a config file like LangGraph's `langgraph.json`:
    ///
    /// ```json
    /// {"graphs": {"triage": "./specs/triage.yaml"}, "specs_dir": "./specs",
    ///  "host": "127.0.0.1", "port": 2024, "database": "./stategraph.db"}
    /// ```
    ///
    /// Paths are relative to the file's directory; `"database": ":memory:"` keeps nothing. Keys
    /// LangGraph uses that mean nothing here (`dependencies`, `env`, ...) are ignored. The token
    /// is taken from the environment variable named by `"auth_token_env"`, never from the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<ServerConfig, ServerError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ServerError::Config(format!("{} is not valid JSON: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config = ServerConfig::default();
        if let Some(graphs) = doc.get("graphs").and_then(|g| g.as_object()) {
            for (id, file) in graphs {
                let file = file
                    .as_str()
                    .ok_or_else(|| ServerError::Config(format!("graphs.{id} must be a path to a spec file")))?;
                config.spec_files.push((id.clone(), base.join(file)));
            }
        }
        if let Some(dir) = doc.get("specs_dir").and_then(|d| d.as_str()) {
            config.specs_dir = Some(base.join(dir));
        }
        if let Some(host) = doc.get("host").and_then(|h| h.as_str()) {
            config.host =
                host.parse().map_err(|_| ServerError::Config(format!("host `{host}` is not an IP address")))?;
        }
        if let Some(port) = doc.get("port") {
            config.port = port
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| ServerError::Config("port must be a number 0-65535".into()))?;
        }
        match doc.get("database").and_then(|d| d.as_str()).map(Database::from_url) {
            Some(Database::Sqlite(file)) => config.database = Database::Sqlite(base.join(file)),
            Some(other) => config.database = other,
            None => {}
        }
        if let Some(var) = doc.get("auth_token_env").and_then(|v| v.as_str()) {
            config.auth_token = std::env::var(var).ok().filter(|t| !t.is_empty());
        }
        Ok(config)
    }
}
