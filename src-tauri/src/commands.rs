//! The desktop app's native commands: only what a web page cannot do itself — native file
//! dialogs, reading and writing the spec files the user chose, the recent-files list, settings,
//! crash-safe autosave in the app data folder, revealing a file, opening a link in the browser.
//! Everything else (validation, export, runs) goes to the in-process server over HTTP, exactly as
//! in the browser.
//!
//! The commands are typed with specta; `ui/src/desktop/bindings.ts` is generated from them
//! (`bindings_are_up_to_date` in this crate's tests checks it, `STATEGRAPH_UPDATE_BINDINGS=1`
//! rewrites it). Each command checks its arguments: file commands only touch spec files
//! (`.json`, `.yaml`, `.yml`), autosave keys are plain names, links are http(s) only — so a
//! script that somehow ran in the webview still could not read or write arbitrary files.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

/// Why a command failed, as the UI receives it: `{kind, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct CommandError {
    /// What went wrong, for the UI to branch on.
    pub kind: ErrorKind,
    /// What went wrong, for people (names the file or value).
    pub message: String,
}

/// The kinds of [`CommandError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A file could not be read or written.
    Io,
    /// The argument is not allowed (not a spec file, not an http(s) link, a bad key).
    NotAllowed,
    /// The operating system refused (dialog, opener).
    Platform,
}

impl CommandError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError { kind, message: message.into() }
    }

    fn io(path: &Path, e: std::io::Error) -> Self {
        CommandError::new(ErrorKind::Io, format!("{}: {e}", path.display()))
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CommandError {}

type CmdResult<T> = Result<T, CommandError>;

/// A file the user opened: where it is and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct OpenedFile {
    /// Absolute path.
    pub path: String,
    /// The file's text.
    pub content: String,
}

/// The studio's settings, kept in `settings.json` in the app config folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(default)]
pub struct Settings {
    /// `"light"`, `"dark"` or `"system"`.
    pub theme: String,
    /// Seconds between autosaves of an edited spec (0: off).
    pub autosave_seconds: u32,
    /// Whether the canvas shows the minimap.
    pub minimap: bool,
    /// Whether nodes snap to the grid when moved.
    pub snap_to_grid: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { theme: "system".into(), autosave_seconds: 5, minimap: true, snap_to_grid: false }
    }
}

/// Files the file commands may touch.
const SPEC_EXTENSIONS: &[&str] = &["json", "yaml", "yml"];
/// Largest spec file the app reads (the server's spec limit is 4 MiB).
const MAX_FILE_BYTES: u64 = 16 << 20;
/// Length of the recent-files list.
const RECENT_MAX: usize = 10;

/// Where the app keeps its own files (recent list, settings, autosaves). Separate from Tauri so
/// the logic is tested without a window.
#[derive(Debug, Clone)]
pub struct AppFiles {
    /// The app data folder (recent list, autosaves, database, specs).
    pub data: PathBuf,
    /// The app config folder (settings).
    pub config: PathBuf,
}

impl AppFiles {
    fn from_app<R: Runtime>(app: &AppHandle<R>) -> CmdResult<AppFiles> {
        let path = app.path();
        let data = path.app_data_dir().map_err(|e| CommandError::new(ErrorKind::Platform, e.to_string()))?;
        let config = path.app_config_dir().map_err(|e| CommandError::new(ErrorKind::Platform, e.to_string()))?;
        Ok(AppFiles { data, config })
    }

    fn recent_path(&self) -> PathBuf {
        self.data.join("recent.json")
    }

    fn settings_path(&self) -> PathBuf {
        self.config.join("settings.json")
    }

    fn autosave_path(&self, key: &str) -> CmdResult<PathBuf> {
        let ok = !key.is_empty()
            && key.len() <= 100
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !key.starts_with('.');
        if !ok {
            return Err(CommandError::new(
                ErrorKind::NotAllowed,
                format!("autosave key `{key}`: use letters, digits, `_`, `-`, `.` (not first), at most 100"),
            ));
        }
        Ok(self.data.join("autosave").join(format!("{key}.autosave")))
    }

    /// The recent files, newest first (a missing or unreadable list is empty).
    pub fn recent(&self) -> Vec<String> {
        std::fs::read(self.recent_path())
            .ok()
            .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
            .unwrap_or_default()
    }

    /// Puts `path` first in the recent list (once), keeping the newest [`RECENT_MAX`].
    pub fn add_recent(&self, path: &str) -> CmdResult<()> {
        let mut list = self.recent();
        list.retain(|p| p != path);
        list.insert(0, path.to_owned());
        list.truncate(RECENT_MAX);
        let json = serde_json::to_vec_pretty(&list).unwrap_or_default();
        write_atomically(&self.recent_path(), &json)
    }

    /// The settings (defaults for anything missing or unreadable).
    pub fn settings(&self) -> Settings {
        std::fs::read(self.settings_path()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Saves the settings.
    pub fn set_settings(&self, settings: &Settings) -> CmdResult<()> {
        let json = serde_json::to_vec_pretty(settings).unwrap_or_default();
        write_atomically(&self.settings_path(), &json)
    }

    /// Writes the autosave of `key`.
    pub fn autosave_write(&self, key: &str, content: &str) -> CmdResult<()> {
        write_atomically(&self.autosave_path(key)?, content.as_bytes())
    }

    /// The autosave of `key`, if there is one.
    pub fn autosave_read(&self, key: &str) -> CmdResult<Option<String>> {
        let path = self.autosave_path(key)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CommandError::io(&path, e)),
        }
    }

    /// Deletes the autosave of `key` (none is fine).
    pub fn autosave_clear(&self, key: &str) -> CmdResult<()> {
        let path = self.autosave_path(key)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CommandError::io(&path, e)),
            _ => Ok(()),
        }
    }
}

/// `path` if it names a spec file (by extension), else [`ErrorKind::NotAllowed`].
pub fn spec_file(path: &str) -> CmdResult<PathBuf> {
    let p = PathBuf::from(path);
    let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !p.is_absolute() || !ext.as_deref().is_some_and(|e| SPEC_EXTENSIONS.contains(&e)) {
        return Err(CommandError::new(
            ErrorKind::NotAllowed,
            format!("`{path}` is not an absolute path to a spec file (.json, .yaml, .yml)"),
        ));
    }
    Ok(p)
}

/// Reads a spec file (at most [`MAX_FILE_BYTES`]).
pub fn read_spec(path: &Path) -> CmdResult<String> {
    let meta = std::fs::metadata(path).map_err(|e| CommandError::io(path, e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(CommandError::new(
            ErrorKind::NotAllowed,
            format!("{} is {} bytes; specs are at most {MAX_FILE_BYTES}", path.display(), meta.len()),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| CommandError::io(path, e))
}

/// Writes through a temporary file and a rename, creating the folder, so a crash never leaves
/// half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> CmdResult<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| CommandError::io(dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CommandError::io(path, e)
    })
}

/// Only http and https links leave the app.
pub fn check_link(url: &str) -> CmdResult<tauri::Url> {
    let parsed = tauri::Url::parse(url)
        .map_err(|e| CommandError::new(ErrorKind::NotAllowed, format!("`{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CommandError::new(ErrorKind::NotAllowed, format!("only http(s) links open, not `{url}`")));
    }
    Ok(parsed)
}

fn spec_dialog<R: Runtime>(app: &AppHandle<R>) -> tauri_plugin_dialog::FileDialogBuilder<R> {
    app.dialog().file().add_filter("Graph spec", SPEC_EXTENSIONS)
}

fn chosen(path: Option<tauri_plugin_dialog::FilePath>) -> CmdResult<Option<PathBuf>> {
    path.map(|p| p.into_path().map_err(|e| CommandError::new(ErrorKind::Platform, e.to_string()))).transpose()
}

/// Shows the native Open dialog for a spec; its path and text, or `null` when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn open_spec_dialog<R: Runtime>(app: AppHandle<R>) -> CmdResult<Option<OpenedFile>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    spec_dialog(&app).set_title("Open a graph spec").pick_file(move |p| {
        let _ = tx.send(p);
    });
    let Some(path) = chosen(rx.await.unwrap_or(None))? else { return Ok(None) };
    let content = read_spec(&path)?;
    let path = path.display().to_string();
    AppFiles::from_app(&app)?.add_recent(&path)?;
    Ok(Some(OpenedFile { path, content }))
}

/// Shows the native Save dialog and writes `content` there; the path, or `null` when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn save_spec_dialog<R: Runtime>(
    app: AppHandle<R>,
    content: String,
    suggested_name: String,
) -> CmdResult<Option<String>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    spec_dialog(&app).set_title("Save the graph spec").set_file_name(suggested_name).save_file(move |p| {
        let _ = tx.send(p);
    });
    let Some(path) = chosen(rx.await.unwrap_or(None))? else { return Ok(None) };
    let path = spec_file(&path.display().to_string())?;
    write_atomically(&path, content.as_bytes())?;
    let path = path.display().to_string();
    AppFiles::from_app(&app)?.add_recent(&path)?;
    Ok(Some(path))
}

/// Writes `content` to a spec file the user opened or saved before.
#[tauri::command]
#[specta::specta]
pub fn save_spec(path: String, content: String) -> CmdResult<()> {
    write_atomically(&spec_file(&path)?, content.as_bytes())
}

/// Reads a spec file (e.g. from the recent list).
#[tauri::command]
#[specta::specta]
pub fn read_file(path: String) -> CmdResult<String> {
    read_spec(&spec_file(&path)?)
}

/// The recent files, newest first.
#[tauri::command]
#[specta::specta]
pub fn recent_files<R: Runtime>(app: AppHandle<R>) -> CmdResult<Vec<String>> {
    Ok(AppFiles::from_app(&app)?.recent())
}

/// Puts a file first in the recent list.
#[tauri::command]
#[specta::specta]
pub fn add_recent<R: Runtime>(app: AppHandle<R>, path: String) -> CmdResult<()> {
    spec_file(&path)?;
    AppFiles::from_app(&app)?.add_recent(&path)
}

/// The settings.
#[tauri::command]
#[specta::specta]
pub fn get_settings<R: Runtime>(app: AppHandle<R>) -> CmdResult<Settings> {
    Ok(AppFiles::from_app(&app)?.settings())
}

/// Saves the settings.
#[tauri::command]
#[specta::specta]
pub fn set_settings<R: Runtime>(app: AppHandle<R>, settings: Settings) -> CmdResult<()> {
    AppFiles::from_app(&app)?.set_settings(&settings)
}

/// Saves unsaved work under `key` (restored after a crash).
#[tauri::command]
#[specta::specta]
pub fn autosave_write<R: Runtime>(app: AppHandle<R>, key: String, content: String) -> CmdResult<()> {
    AppFiles::from_app(&app)?.autosave_write(&key, &content)
}

/// The autosaved work under `key`, or `null`.
#[tauri::command]
#[specta::specta]
pub fn autosave_read<R: Runtime>(app: AppHandle<R>, key: String) -> CmdResult<Option<String>> {
    AppFiles::from_app(&app)?.autosave_read(&key)
}

/// Forgets the autosave under `key` (after a save).
#[tauri::command]
#[specta::specta]
pub fn autosave_clear<R: Runtime>(app: AppHandle<R>, key: String) -> CmdResult<()> {
    AppFiles::from_app(&app)?.autosave_clear(&key)
}

/// Shows a spec file in the system's file manager.
#[tauri::command]
#[specta::specta]
pub fn reveal_in_folder<R: Runtime>(app: AppHandle<R>, path: String) -> CmdResult<()> {
    let path = spec_file(&path)?;
    app.opener().reveal_item_in_dir(&path).map_err(|e| CommandError::new(ErrorKind::Platform, e.to_string()))
}

/// Opens an http(s) link in the default browser.
#[tauri::command]
#[specta::specta]
pub fn open_external<R: Runtime>(app: AppHandle<R>, url: String) -> CmdResult<()> {
    let url = check_link(&url)?;
    app.opener().open_url(url.as_str(), None::<&str>).map_err(|e| CommandError::new(ErrorKind::Platform, e.to_string()))
}

/// The typed command set (for the invoke handler and the TypeScript bindings).
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new().commands(tauri_specta::collect_commands![
        open_spec_dialog::<tauri::Wry>,
        save_spec_dialog::<tauri::Wry>,
        save_spec,
        read_file,
        recent_files::<tauri::Wry>,
        add_recent::<tauri::Wry>,
        get_settings::<tauri::Wry>,
        set_settings::<tauri::Wry>,
        autosave_write::<tauri::Wry>,
        autosave_read::<tauri::Wry>,
        autosave_clear::<tauri::Wry>,
        reveal_in_folder::<tauri::Wry>,
        open_external::<tauri::Wry>,
    ])
}

/// The first lines of the bindings: generated code is not linted or type-checked by the UI's own
/// rules (it has helpers the app does not use); its declarations are still typed for callers.
const BINDINGS_HEADER: &str = "// @ts-nocheck\n/* eslint-disable */\n// Generated by src-tauri (tauri-specta) from src-tauri/src/commands.rs: do not edit.\n// Regenerate: STATEGRAPH_UPDATE_BINDINGS=1 cargo nextest run --workspace --features tauri/custom-protocol -E 'test(bindings_are_up_to_date)'\n";

/// The TypeScript bindings of the commands, as written to `ui/src/desktop/bindings.ts`.
pub fn typescript_bindings() -> Result<String, String> {
    let ts = specta_typescript::Typescript::default().header(BINDINGS_HEADER);
    specta_builder().export_str(ts).map_err(|e| e.to_string())
}
