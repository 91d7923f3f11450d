//! The studio's own endpoints, under `/stategraph/`: what the visual editor needs besides the
//! LangGraph API — the node kinds and their config schemas, validation, parsing, export and
//! import of specs, and the specs directory the server serves (listed, read and, when the server
//! allows it, written).
//!
//! Everything is JSON in and out, errors are `{"detail": ...}` like the rest of the API, and the
//! routes sit behind the same token check and body limit. A spec that is not even shaped like one
//! comes back as *problems* (`{"code": "SP002", "pointer": ..., "message": ...}`), never as a 500:
//! the editor shows them on the canvas.
//!
//! Contract: `/work/notes/studio-contract.md` (mirrored in `docs/architecture.md`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{FromRequest, Path as UrlPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use stategraph_spec::{CURRENT_VERSION, CompileContext, GraphSpec, Limits, NodeKindRegistry, Problem};

use crate::config::ServerConfig;
use crate::error::{ServerError, detail};
use crate::graphs::assistant_id_for;
use crate::state::AppState;

/// What the studio routes share: where the specs are, whether they may be written, and the kinds.
pub(crate) struct Studio {
    specs_dir: Option<PathBuf>,
    writable: bool,
    registry: NodeKindRegistry,
    limits: Limits,
    ui: bool,
}

/// The `/stategraph/*` routes, to be merged into the API router (inside its auth and CORS layers).
pub(crate) fn routes(config: &ServerConfig) -> Router<Arc<AppState>> {
    let studio = Arc::new(Studio {
        specs_dir: config.specs_dir.clone(),
        writable: config.specs_writable && config.specs_dir.is_some(),
        registry: NodeKindRegistry::with_builtins(),
        limits: Limits::default(),
        ui: config.ui,
    });
    Router::new()
        .route("/stategraph/info", get(info))
        .route("/stategraph/node-kinds", get(node_kinds))
        .route("/stategraph/spec-schema", get(spec_schema))
        .route("/stategraph/specs/validate", post(validate))
        .route("/stategraph/specs/parse", post(parse))
        .route("/stategraph/specs/export", post(export))
        .route("/stategraph/specs/import", post(import))
        .route("/stategraph/specs", get(list_specs))
        .route("/stategraph/specs/{name}", get(get_spec).put(put_spec))
        .layer(Extension(studio))
}

type Ctx = Extension<Arc<Studio>>;

/// A JSON body within the server's body limit; anything else is a 4xx naming what is wrong.
struct Body(Value);

impl FromRequest<Arc<AppState>> for Body {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let limit = state.limits.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ServerError::TooLarge(format!("Request body is larger than {limit} bytes")))?;
        // serde_json refuses nesting past 128 levels by itself, so hostile depth is an error here.
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ServerError::Unprocessable(format!("Invalid JSON in request body: {e}")))
    }
}

impl Body {
    /// A field of the body object, or 422 naming it.
    fn field(&self, name: &str) -> Result<&Value, ServerError> {
        self.0.get(name).ok_or_else(|| ServerError::Unprocessable(format!("the body needs a field `{name}`")))
    }

    /// A string field, or 422.
    fn str_field(&self, name: &str) -> Result<&str, ServerError> {
        self.field(name)?.as_str().ok_or_else(|| ServerError::Unprocessable(format!("`{name}` must be a string")))
    }
}

/// 422 with the problems: `{"detail": "...", "problems": [...]}`.
fn unprocessable(message: &str, problems: &[Problem]) -> Response {
    let body = json!({ "detail": message, "problems": problems });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn spec_json(spec: &GraphSpec) -> Value {
    serde_json::to_value(spec).unwrap_or(Value::Null)
}

impl Studio {
    /// The context specs are validated in: relative subgraph paths resolve in the specs directory.
    fn context(&self, name: &str) -> CompileContext {
        let cx = CompileContext::new().with_limits(self.limits.clone());
        match &self.specs_dir {
            Some(dir) => cx.with_path(dir.join(format!("{name}.json"))),
            None => cx,
        }
    }

    /// A spec object read into a [`GraphSpec`], or its shape problems.
    fn read(&self, value: &Value) -> Result<GraphSpec, Vec<Problem>> {
        GraphSpec::from_value_with(value.clone(), &self.limits)
    }

    fn validate(&self, spec: &GraphSpec) -> Vec<Problem> {
        stategraph_spec::validate_in(spec, &self.registry, &self.context(&spec.name))
    }

    /// The specs directory, or 404 when the server has none.
    fn dir(&self) -> Result<&Path, ServerError> {
        self.specs_dir.as_deref().ok_or_else(|| {
            ServerError::NotFound("this server has no specs directory (start it with --specs DIR)".into())
        })
    }
}

async fn info(Extension(studio): Ctx) -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "spec_version": CURRENT_VERSION,
        "specs_dir": studio.specs_dir.as_ref().map(|d| d.display().to_string()),
        "writable": studio.writable,
        "ui": studio.ui,
    }))
}

async fn node_kinds(Extension(studio): Ctx) -> Json<Value> {
    let kinds: Vec<Value> = studio
        .registry
        .kind_infos()
        .map(|(kind, info)| {
            json!({
                "kind": kind,
                "title": info.title,
                "description": info.description,
                "config_schema": info.config_schema,
            })
        })
        .collect();
    Json(json!({ "kinds": kinds }))
}

async fn spec_schema() -> Json<Value> {
    Json(stategraph_spec::json_schema())
}

/// `{"spec": {...}}` → `{"ok", "problems"}`.
async fn validate(Extension(studio): Ctx, body: Body) -> Result<Json<Value>, ServerError> {
    let problems = match studio.read(body.field("spec")?) {
        Ok(spec) => studio.validate(&spec),
        Err(problems) => problems,
    };
    Ok(Json(json!({ "ok": problems.is_empty(), "problems": problems })))
}

/// `{"content", "format": "json" | "yaml" | null}` → `{"spec", "problems"}`. With a spec, the
/// problems are its validation problems; without, why it could not be read.
async fn parse(Extension(studio): Ctx, body: Body) -> Result<Json<Value>, ServerError> {
    let content = body.str_field("content")?;
    let format = match body.0.get("format") {
        None | Some(Value::Null) => guess_format(content),
        Some(Value::String(f)) if f == "json" || f == "yaml" => f.as_str(),
        Some(other) => {
            return Err(ServerError::Unprocessable(format!(
                "`format` must be \"json\", \"yaml\" or null, got {other}"
            )));
        }
    };
    let parsed = if format == "json" {
        GraphSpec::from_json_with(content, &studio.limits)
    } else {
        GraphSpec::from_yaml_with(content, &studio.limits)
    };
    Ok(Json(match parsed {
        Ok(spec) => {
            let problems = studio.validate(&spec);
            json!({ "spec": spec_json(&spec), "format": format, "problems": problems })
        }
        Err(problems) => json!({ "spec": null, "format": format, "problems": problems }),
    }))
}

/// JSON when the text starts like a JSON object, else YAML (YAML is a superset anyway).
fn guess_format(content: &str) -> &'static str {
    if content.trim_start().starts_with('{') { "json" } else { "yaml" }
}

/// `{"spec", "format"}` → `{"content", "warnings"}`. JSON and YAML export whatever is shaped like
/// a spec (work in progress must be savable; its validation problems come back as warnings);
/// Mermaid and Python need a valid spec (422 with the problems otherwise).
async fn export(Extension(studio): Ctx, body: Body) -> Result<Response, ServerError> {
    let format = body.str_field("format")?;
    let spec = match studio.read(body.field("spec")?) {
        Ok(spec) => spec,
        Err(problems) => return Ok(unprocessable("the spec is not shaped like a graph spec", &problems)),
    };
    let (content, warnings): (String, Vec<String>) = match format {
        "json" | "yaml" => {
            let warnings = studio.validate(&spec).iter().map(ToString::to_string).collect();
            let text = if format == "json" { spec.to_json() } else { spec.to_yaml() };
            (text, warnings)
        }
        "mermaid" => match spec.to_mermaid(&studio.registry) {
            Ok(text) => (text, Vec::new()),
            Err(problems) => return Ok(unprocessable("the spec is invalid; fix it to draw it", &problems)),
        },
        "python" => match spec.to_python(&studio.registry, &studio.context(&spec.name)) {
            Ok(export) => {
                let warnings = export
                    .stubs
                    .iter()
                    .map(|s| format!("{s} has no Python translation: it is a stub that raises NotImplementedError"))
                    .collect();
                (export.code, warnings)
            }
            Err(problems) => return Ok(unprocessable("the spec is invalid; fix it to export it", &problems)),
        },
        other => {
            return Err(ServerError::Unprocessable(format!(
                "unknown export format `{other}`; expected json, yaml, mermaid or python"
            )));
        }
    };
    Ok(Json(json!({ "content": content, "warnings": warnings })).into_response())
}

/// `{"content": "<LangGraph graph JSON>", "name"?}` → `{"spec", "warnings"}`.
async fn import(body: Body) -> Result<Response, ServerError> {
    let content = body.str_field("content")?;
    let name = body.0.get("name").and_then(Value::as_str).unwrap_or("imported");
    let graph: Value = serde_json::from_str(content).map_err(|e| {
        ServerError::Unprocessable(format!("`content` is not JSON (expected LangGraph's get_graph().to_json()): {e}"))
    })?;
    match GraphSpec::from_langgraph_json(&graph, name) {
        Ok(spec) => {
            let mut warnings: Vec<String> = spec
                .nodes
                .iter()
                .map(|n| format!("node `{}` was imported as `passthrough`: give it a real kind", n.id))
                .collect();
            if spec.state.contains_key(stategraph_spec::IMPORTED_ROUTE_KEY) {
                warnings.push(format!(
                    "conditional edges route on the state key `{}`: replace them with the real conditions",
                    stategraph_spec::IMPORTED_ROUTE_KEY
                ));
            }
            Ok(Json(json!({ "spec": spec_json(&spec), "warnings": warnings })).into_response())
        }
        Err(problems) => Ok(unprocessable("not LangGraph graph JSON", &problems)),
    }
}

/// A spec file of the directory.
struct SpecFile {
    name: String,
    path: PathBuf,
}

const EXTENSIONS: &[&str] = &["json", "yaml", "yml"];

fn spec_files(dir: &Path) -> Result<Vec<SpecFile>, ServerError> {
    let read = std::fs::read_dir(dir)
        .map_err(|e| ServerError::Io(std::io::Error::new(e.kind(), format!("cannot read {}: {e}", dir.display()))))?;
    let mut files: Vec<SpecFile> = read
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e)))
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_owned();
            (!name.starts_with('.')).then_some(SpecFile { name, path })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name).then(a.path.cmp(&b.path)));
    Ok(files)
}

/// Spec names are file stems: letters, digits, `_`, `-` and `.` (not first), at most 100.
fn check_name(name: &str) -> Result<(), ServerError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ServerError::Unprocessable(format!(
            "invalid spec name `{name}`: use letters, digits, `_`, `-` and `.` (not first), at most 100"
        )))
    }
}

async fn list_specs(Extension(studio): Ctx) -> Result<Json<Value>, ServerError> {
    let dir = studio.dir()?;
    let specs: Vec<Value> = spec_files(dir)?
        .into_iter()
        .map(|f| {
            let file = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            json!({
                "name": f.name,
                "file": file,
                "graph_id": f.name,
                "assistant_id": assistant_id_for(&f.name).to_string(),
            })
        })
        .collect();
    Ok(Json(json!({ "specs": specs })))
}

fn find(dir: &Path, name: &str) -> Result<Option<SpecFile>, ServerError> {
    Ok(spec_files(dir)?.into_iter().find(|f| f.name == name))
}

async fn get_spec(Extension(studio): Ctx, UrlPath(name): UrlPath<String>) -> Result<Response, ServerError> {
    check_name(&name)?;
    let dir = studio.dir()?;
    let file =
        find(dir, &name)?.ok_or_else(|| ServerError::NotFound(format!("no spec `{name}` in {}", dir.display())))?;
    Ok(match GraphSpec::from_path(&file.path) {
        Ok(spec) => Json(spec_json(&spec)).into_response(),
        Err(problems) => unprocessable(&format!("{} cannot be read as a spec", file.path.display()), &problems),
    })
}

/// Validates, then writes `<dir>/<name>.json` (or the existing file, in its format) through a
/// temporary file and a rename, so a crash never leaves half a spec.
async fn put_spec(Extension(studio): Ctx, UrlPath(name): UrlPath<String>, body: Body) -> Result<Response, ServerError> {
    check_name(&name)?;
    if !studio.writable {
        return Ok(detail(
            StatusCode::FORBIDDEN,
            "this server's specs directory is read-only (`stategraph dev` serves a writable one)",
        ));
    }
    let dir = studio.dir()?.to_path_buf();
    let spec = match studio.read(&body.0) {
        Ok(spec) => spec,
        Err(problems) => return Ok(unprocessable("the spec is not shaped like a graph spec", &problems)),
    };
    let problems = studio.validate(&spec);
    if !problems.is_empty() {
        return Ok(unprocessable("the spec is invalid; nothing was written", &problems));
    }
    let path = match find(&dir, &name)? {
        Some(existing) => existing.path,
        None => dir.join(format!("{name}.json")),
    };
    let yaml = path.extension().is_some_and(|e| e != "json");
    let text = if yaml { spec.to_yaml() } else { spec.to_json() + "\n" };
    let written = path.clone();
    tokio::task::spawn_blocking(move || write_atomically(&written, text.as_bytes()))
        .await
        .map_err(|e| ServerError::Io(std::io::Error::other(e)))??;
    tracing::info!(path = %path.display(), "studio saved a spec");
    Ok(Json(json!({ "ok": true, "problems": [], "file": path.file_name().map(|n| n.to_string_lossy()) }))
        .into_response())
}

/// Writes `bytes` to a temporary file next to `path`, syncs it, and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(ServerError::Io(std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_stems_without_paths() {
        for ok in ["triage", "a.b", "x-1_2"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "a\\b", "é", &"x".repeat(101)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn format_is_guessed_from_the_first_character() {
        assert_eq!(guess_format("  {\"version\": 1}"), "json");
        assert_eq!(guess_format("version: 1"), "yaml");
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
