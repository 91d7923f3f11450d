//! # Stategraph Studio (desktop)
//!
//! The studio's web UI in a Tauri v2 window, with the Stategraph server running **in the same
//! process** on `127.0.0.1`, on a port the OS picks, behind a token made fresh at every launch.
//! The page learns both from `window.__STATEGRAPH__ = {apiUrl, token}`, injected by an
//! initialization script before any of its own code runs, and then talks to the server over HTTP
//! exactly as it does in a browser under `stategraph dev`. Native needs (file dialogs, files,
//! recent list, settings, autosave, reveal, links) are typed commands ([`commands`]).
//!
//! Threads, runs and checkpoints are kept in `stategraph.db` in the app data folder, and the
//! server serves (and the studio saves into) the `specs` folder there, created with examples.
//! See `src-tauri/README.md` for the security model (token, CSP, capabilities).

pub mod commands;

use std::path::{Path, PathBuf};

use stategraph_server::{Database, RunningServer, ServerConfig};
use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};

/// Example specs written into a new specs folder.
const EXAMPLES: &[(&str, &str)] = &[
    ("support_triage.yaml", include_str!("../../examples/specs/support_triage.yaml")),
    ("approval_workflow.yaml", include_str!("../../examples/specs/approval_workflow.yaml")),
];

/// What the page is told at launch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Launch {
    /// `http://127.0.0.1:PORT` of the in-process server.
    #[serde(rename = "apiUrl")]
    pub api_url: String,
    /// The token the server requires (`x-api-key`), new at every launch.
    pub token: String,
    /// A spec to open at launch (the first argument, or `$STATEGRAPH_OPEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<commands::OpenedFile>,
}

impl Launch {
    /// The initialization script that defines `window.__STATEGRAPH__` (frozen: page code cannot
    /// redirect the studio to another server by overwriting it).
    pub fn script(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        format!(
            "Object.defineProperty(window, '__STATEGRAPH__', {{ value: Object.freeze({json}), writable: false, configurable: false }});"
        )
    }
}

/// A token of 256 random bits (two v4 UUIDs, from the OS's random source).
pub fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The specs folder in `data`, created with the examples the first time.
pub fn specs_dir(data: &Path) -> std::io::Result<PathBuf> {
    let dir = data.join("specs");
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir)?;
        for (name, text) in EXAMPLES {
            std::fs::write(dir.join(name), text)?;
        }
    }
    Ok(dir)
}

/// The in-process server's configuration: loopback, a free port, the token, SQLite and the
/// writable specs folder in `data`.
pub fn server_config(data: &Path, token: &str) -> std::io::Result<ServerConfig> {
    std::fs::create_dir_all(data)?;
    let specs = specs_dir(data)?;
    Ok(ServerConfig::new()
        .with_bind(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0)
        .with_auth_token(token)
        .with_database(Database::Sqlite(data.join("stategraph.db")))
        .with_specs_dir(specs)
        .with_writable_specs(true))
}

/// The spec to open at launch: `$STATEGRAPH_OPEN`, else the first command-line argument that is
/// a spec file.
fn file_to_open() -> Option<commands::OpenedFile> {
    let arg = std::env::var("STATEGRAPH_OPEN")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| std::env::args().skip(1).find(|a| !a.starts_with('-')))?;
    let path = std::path::absolute(&arg).ok()?;
    let path = commands::spec_file(&path.display().to_string()).ok()?;
    match commands::read_spec(&path) {
        Ok(content) => Some(commands::OpenedFile { path: path.display().to_string(), content }),
        Err(e) => {
            eprintln!("stategraph-studio: cannot open {}: {e}", path.display());
            None
        }
    }
}

/// Whether the window may show `url`: only the app's own pages (`tauri://localhost` on Linux and
/// macOS, `http(s)://tauri.localhost` on Windows; the Vite dev server in a dev build). The
/// initialization script, which holds the token, runs in whatever page the window shows, so the
/// window must never navigate elsewhere; links go to the browser through `open_external`.
pub fn is_app_url(url: &tauri::Url, dev: bool) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => {
            url.host_str() == Some("tauri.localhost")
                || (dev && url.host_str() == Some("localhost") && url.port() == Some(1420))
        }
        // A download of something the app made (`blob:tauri://localhost/<uuid>`), or an empty page.
        "blob" => tauri::Url::parse(url.path()).is_ok_and(|inner| inner.scheme() != "blob" && is_app_url(&inner, dev)),
        "about" => url.path() == "blank",
        _ => false,
    }
}

/// The server, kept until the app exits.
struct ServerHandle(std::sync::Mutex<Option<RunningServer>>);

/// Starts the app: the server, then the window. Returns when the window is closed.
pub fn run() {
    let commands = commands::specta_builder();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .invoke_handler(commands.invoke_handler())
        .setup(move |app| {
            commands.mount_events(app);
            let data = app.path().app_data_dir()?;
            let token = new_token();
            let config = server_config(&data, &token)?;
            let server = tauri::async_runtime::block_on(stategraph_server::spawn(config))?;
            let launch = Launch { api_url: server.url(), token, open: file_to_open() };
            app.manage(ServerHandle(std::sync::Mutex::new(Some(server))));
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                .title("Stategraph Studio")
                .inner_size(1280.0, 800.0)
                .min_inner_size(720.0, 480.0)
                .initialization_script(launch.script())
                .on_navigation(|url| {
                    let allowed = is_app_url(url, tauri::is_dev());
                    if !allowed {
                        eprintln!("stategraph-studio: blocked navigation to {url} (links open in the browser)");
                    }
                    allowed
                })
                .build()?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("cannot start the Stategraph Studio window");
    app.run(|app, event| {
        if let RunEvent::Exit = event
            && let Some(handle) = app.try_state::<ServerHandle>()
            && let Some(server) = handle.0.lock().ok().and_then(|mut s| s.take())
        {
            // Open requests finish; runs in flight stop with the process.
            let _ = tauri::async_runtime::block_on(server.shutdown());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_fresh() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_launch_script_defines_a_frozen_global() {
        let launch = Launch { api_url: "http://127.0.0.1:4321".into(), token: "t\"ok".into(), open: None };
        let script = launch.script();
        assert!(script.contains(r#"{"apiUrl":"http://127.0.0.1:4321","token":"t\"ok"}"#), "{script}");
        assert!(script.contains("Object.freeze") && script.contains("writable: false"));
        let with_file = Launch {
            open: Some(commands::OpenedFile { path: "/x/g.yaml".into(), content: "</script>".into() }),
            ..launch
        };
        assert!(with_file.script().contains(r#""open":{"path":"/x/g.yaml","content":"</script>"}"#));
    }

    #[test]
    fn the_window_shows_only_the_apps_own_pages() {
        let url = |u: &str| tauri::Url::parse(u).unwrap();
        assert!(is_app_url(&url("tauri://localhost/index.html"), false));
        assert!(is_app_url(&url("http://tauri.localhost/index.html"), false));
        assert!(!is_app_url(&url("http://localhost:1420/"), false));
        assert!(is_app_url(&url("http://localhost:1420/"), true));
        assert!(is_app_url(&url("blob:tauri://localhost/6b1c7a52-0000-4000-8000-000000000000"), false));
        assert!(is_app_url(&url("about:blank"), false));
        for bad in [
            "https://example.com/",
            "http://127.0.0.1:2024/studio/",
            "file:///etc/passwd",
            "tauri://evil/",
            "blob:https://example.com/x",
            "data:text/html,<script>1</script>",
        ] {
            assert!(!is_app_url(&url(bad), true), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_in_process_server_needs_the_token_and_serves_the_examples() {
        let data = tempfile::tempdir().unwrap();
        let token = new_token();
        let server = stategraph_server::spawn(server_config(data.path(), &token).unwrap()).await.unwrap();
        assert!(server.addr.ip().is_loopback());
        assert_ne!(server.addr.port(), 0);
        let client = reqwest_free_get(&server.url(), "/stategraph/specs", None).await;
        assert_eq!(client.0, 401);
        let (status, body) = reqwest_free_get(&server.url(), "/stategraph/specs", Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("support_triage") && body.contains("approval_workflow"), "{body}");
        assert!(data.path().join("stategraph.db").is_file());
        server.shutdown().await.unwrap();
    }

    /// A GET over a plain TCP connection (no HTTP client dependency for one test).
    async fn reqwest_free_get(base: &str, path: &str, token: Option<&str>) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = base.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let auth = token.map(|t| format!("x-api-key: {t}\r\n")).unwrap_or_default();
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, out)
    }
}
