//! `stategraph dev`: the server plus the studio UI (embedded in this binary), opened in the
//! browser — the one command that gets someone from nothing to drawing graphs.
//!
//! Defaults are chosen so that it works on a fresh machine with no flags: loopback, port 2024
//! (`langgraph dev`'s; the next free port when it is taken and `--port` was not given), the
//! `specs/` folder of the current directory if there is one, else a `specs` folder in the app
//! data folder (created with two example specs), and a SQLite database in the app data folder,
//! so threads and runs survive restarts. The specs folder is writable: the studio saves there.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use stategraph_server::{Database, ServerConfig};

/// The port `langgraph dev` uses, and ours by default.
const DEFAULT_PORT: u16 = 2024;

/// Example specs written into a new app-data specs folder.
const EXAMPLES: &[(&str, &str)] = &[
    ("support_triage.yaml", include_str!("../../../examples/specs/support_triage.yaml")),
    ("approval_workflow.yaml", include_str!("../../../examples/specs/approval_workflow.yaml")),
];

/// Flags of `stategraph dev`.
#[derive(clap::Args)]
pub(crate) struct DevArgs {
    /// Port to listen on [default: 2024, or the next free port when 2024 is taken].
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind. Anything but loopback needs --token.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The folder of spec files to serve and edit [default: ./specs if it exists, else
    /// `specs` in the app data folder, created with examples].
    #[arg(long, value_name = "DIR")]
    specs: Option<PathBuf>,
    /// Where threads, runs and checkpoints are kept: a SQLite file, or `memory`
    /// [default: stategraph.db in the app data folder].
    #[arg(long, value_name = "PATH")]
    db: Option<String>,
    /// Do not open the browser; just print the URL.
    #[arg(long)]
    no_browser: bool,
    /// Do not let the studio write into the specs folder.
    #[arg(long)]
    read_only: bool,
    /// Token API clients must send (default: `$STATEGRAPH_API_KEY`); required beyond loopback.
    /// The studio page itself loads without it and asks for it.
    #[arg(long)]
    token: Option<String>,
}

/// The app data folder: `$STATEGRAPH_DATA_DIR`, else the platform's (`~/.local/share/stategraph`
/// on Linux, `~/Library/Application Support/stategraph` on macOS, `%APPDATA%\stategraph` on
/// Windows), else `./.stategraph`.
pub(crate) fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("STATEGRAPH_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::data_dir().map(|d| d.join("stategraph")).unwrap_or_else(|| PathBuf::from(".stategraph"))
}

/// The specs folder to serve: the flag, `./specs`, or the app data one (created with examples).
fn specs_dir(flag: Option<PathBuf>, data: &Path) -> Result<PathBuf> {
    if let Some(dir) = flag {
        if !dir.is_dir() {
            bail!("--specs {}: not a directory", dir.display());
        }
        return Ok(dir);
    }
    let local = PathBuf::from("specs");
    if local.is_dir() {
        return Ok(local);
    }
    let dir = data.join("specs");
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, text) in EXAMPLES {
            std::fs::write(dir.join(name), text).with_context(|| format!("cannot write {}", dir.display()))?;
        }
    }
    Ok(dir)
}

/// The port: the flag (which must be free), else 2024, else any free one.
fn pick_port(host: IpAddr, flag: Option<u16>) -> Result<u16> {
    let free = |port: u16| TcpListener::bind((host, port)).ok().and_then(|l| l.local_addr().ok()).map(|a| a.port());
    match flag {
        Some(port) => match free(port) {
            Some(p) => Ok(p),
            None => bail!(
                "port {port} on {host} is in use (another `stategraph dev` or `langgraph dev`?); pick another with --port"
            ),
        },
        None => free(DEFAULT_PORT).or_else(|| free(0)).context("no free port to listen on"),
    }
}

/// Runs `stategraph dev` until Ctrl-C / SIGTERM.
pub(crate) fn run(args: DevArgs) -> Result<ExitCode> {
    let data = data_dir();
    let specs = specs_dir(args.specs, &data)?;
    let database = match args.db.as_deref() {
        Some("memory") => Database::Memory,
        Some(path) => Database::Sqlite(PathBuf::from(path)),
        None => {
            std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
            Database::Sqlite(data.join("stategraph.db"))
        }
    };
    let port = pick_port(args.host, args.port)?;
    let mut config = ServerConfig::new()
        .with_bind(args.host, port)
        .with_specs_dir(&specs)
        .with_writable_specs(!args.read_only)
        .with_database(database.clone())
        .with_ui(true);
    if let Some(t) = args.token.or_else(|| std::env::var("STATEGRAPH_API_KEY").ok().filter(|t| !t.is_empty())) {
        config = config.with_auth_token(t);
    }
    let shown_host = if args.host.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { args.host };
    let url = format!("http://{}/studio/", SocketAddr::new(shown_host, port));
    eprintln!("Stategraph Studio: {url}");
    eprintln!("  API:   http://{}  (LangGraph Server API; Ctrl-C to stop)", SocketAddr::new(shown_host, port));
    eprintln!(
        "  specs: {} ({})",
        specs.canonicalize().unwrap_or(specs.clone()).display(),
        if args.read_only { "read-only" } else { "the studio saves here" }
    );
    match &database {
        Database::Sqlite(path) => eprintln!("  db:    {}", path.display()),
        _ => eprintln!("  db:    in memory (nothing is kept)"),
    }
    if !stategraph_server::ui_embedded() {
        eprintln!("  note:  this binary was built without the web UI; /studio/ says how to build it");
    }
    if !args.no_browser {
        let target = SocketAddr::new(shown_host, port);
        std::thread::spawn(move || {
            if wait_for(target, Duration::from_secs(30)) {
                open_browser(&url);
            }
        });
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(stategraph_server::serve(config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Waits until something accepts connections at `addr`.
fn wait_for(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Opens `url` in the default browser with the platform's opener; says so when that fails
/// (a machine without a desktop), since the URL is printed anyway.
fn open_browser(url: &str) {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let opened = cmd
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if !opened.is_ok_and(|s| s.success()) {
        eprintln!("  (could not open a browser here; open the URL above yourself, or pass --no-browser)");
    }
}
