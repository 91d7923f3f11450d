//! The graphs a server serves, each with its system assistant (LangGraph's: one per graph, id
//! `uuid5(6ba7b821-9dad-11d1-80b4-00c04fd430c8, graph_id)`), its drawing and its JSON schemas.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value as Json, json};
use sha1::{Digest, Sha1};
use stategraph_core::checkpoint::Checkpointer;
use stategraph_core::{CompileOptions, CompiledGraph};
use stategraph_spec::{CompileContext, GraphSpec, NodeKindRegistry};
use uuid::Uuid;

use crate::config::ServerConfig;
use crate::error::ServerError;

/// The namespace the LangGraph server derives system assistant ids in (one digit off
/// `uuid.NAMESPACE_URL`; the recorded ids prove this is the one used).
const ASSISTANT_NAMESPACE: Uuid = Uuid::from_u128(0x6ba7b821_9dad_11d1_80b4_00c04fd430c8);

/// The id of the system assistant of `graph_id`: `uuid5(6ba7b821-…, graph_id)`, as the
/// LangGraph server derives it (so clients that hard-code it keep working).
pub fn assistant_id_for(graph_id: &str) -> Uuid {
    let mut hasher = Sha1::new();
    hasher.update(ASSISTANT_NAMESPACE.as_bytes());
    hasher.update(graph_id.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// One served graph.
pub(crate) struct GraphEntry {
    pub(crate) graph_id: String,
    pub(crate) assistant_id: Uuid,
    pub(crate) graph: CompiledGraph,
    pub(crate) created_at: String,
    pub(crate) description: Option<String>,
    pub(crate) state_schema: Json,
}

/// Every served graph, in the order they were configured.
pub(crate) struct Graphs {
    entries: std::sync::RwLock<Vec<Arc<GraphEntry>>>,
    /// The graphs that come from the specs directory: graph id -> (file, its contents when last
    /// read), for hot reload.
    from_dir: std::sync::Mutex<std::collections::HashMap<String, (PathBuf, Vec<u8>)>>,
    /// Graph ids of graphs that do not come from the directory (Rust code, config file entries).
    fixed: Vec<String>,
}

impl Graphs {
    /// Compiles every configured graph with `saver` as checkpointer.
    pub(crate) fn load(config: &ServerConfig, saver: Arc<dyn Checkpointer>) -> Result<Graphs, ServerError> {
        let now = crate::time::now();
        let mut entries: Vec<Arc<GraphEntry>> = Vec::new();
        let add = |entries: &mut Vec<Arc<GraphEntry>>, entry: GraphEntry| {
            if entries.iter().any(|e| e.graph_id == entry.graph_id) {
                return Err(ServerError::Config(format!("graph id `{}` is configured twice", entry.graph_id)));
            }
            entries.push(Arc::new(entry));
            Ok(())
        };
        for (id, def) in &config.graphs {
            let options = CompileOptions {
                name: def.options.name.clone().or_else(|| Some(id.clone())),
                checkpointer: Some(saver.clone()),
                ..def.options.clone()
            };
            let graph =
                def.graph.compile_with(options).map_err(|e| ServerError::Config(format!("graph `{id}`: {e}")))?;
            let props: serde_json::Map<String, Json> = def
                .graph
                .schema()
                .keys()
                .map(|(k, spec)| (k.to_owned(), json!({"title": title(k), "x-reducer": reducer_name(spec.kind())})))
                .collect();
            let state_schema = json!({"properties": props, "title": format!("{id}_state"), "type": "object"});
            add(
                &mut entries,
                GraphEntry {
                    graph_id: id.clone(),
                    assistant_id: assistant_id_for(id),
                    graph,
                    created_at: now.clone(),
                    description: None,
                    state_schema,
                },
            )?;
        }
        let registry = NodeKindRegistry::with_builtins();
        let dir_files: Vec<(String, PathBuf)> = match &config.specs_dir {
            Some(dir) => spec_files_in(dir)?,
            None => Vec::new(),
        };
        for (id, path) in config.spec_files.iter().chain(&dir_files) {
            add(&mut entries, load_spec(id, path, &registry, saver.clone(), &now)?)?;
        }
        let fixed: Vec<String> = config
            .graphs
            .iter()
            .map(|(id, _)| id.clone())
            .chain(config.spec_files.iter().map(|(id, _)| id.clone()))
            .collect();
        let from_dir = dir_files
            .into_iter()
            .map(|(id, path)| {
                let bytes = std::fs::read(&path).unwrap_or_default();
                (id, (path, bytes))
            })
            .collect();
        Ok(Graphs { entries: std::sync::RwLock::new(entries), from_dir: std::sync::Mutex::new(from_dir), fixed })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<GraphEntry>>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    /// All graphs.
    pub(crate) fn all(&self) -> Vec<Arc<GraphEntry>> {
        self.read().clone()
    }

    /// The graph with this id.
    pub(crate) fn by_graph_id(&self, graph_id: &str) -> Option<Arc<GraphEntry>> {
        self.read().iter().find(|e| e.graph_id == graph_id).cloned()
    }

    /// The graph of an assistant id, or of a bare graph id (run bodies accept both).
    pub(crate) fn resolve(&self, assistant: &str) -> Option<Arc<GraphEntry>> {
        match Uuid::parse_str(assistant) {
            Ok(id) => self.read().iter().find(|e| e.assistant_id == id).cloned(),
            Err(_) => self.by_graph_id(assistant),
        }
    }

    /// The ids, for error messages.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.read().iter().map(|e| e.graph_id.clone()).collect()
    }

    /// Hot reload: reads the specs directory again. A new file adds its graph (and its system
    /// assistant), a changed file replaces it, a removed file removes it. A file that no longer
    /// parses or compiles keeps its last good graph served; its problems are logged and returned.
    /// Runs in flight keep the graph they started with.
    pub(crate) fn reload_dir(&self, dir: &Path, saver: &Arc<dyn Checkpointer>) -> Vec<String> {
        let files = match spec_files_in(dir) {
            Ok(f) => f,
            Err(e) => return vec![e.to_string()],
        };
        let registry = NodeKindRegistry::with_builtins();
        let mut problems = Vec::new();
        let mut known = self.from_dir.lock().unwrap_or_else(|e| e.into_inner());
        for (id, path) in &files {
            if self.fixed.contains(id) {
                continue;
            }
            let Ok(bytes) = std::fs::read(path) else { continue };
            if known.get(id).is_some_and(|(_, old)| *old == bytes) {
                continue;
            }
            match load_spec(id, path, &registry, saver.clone(), &crate::time::now()) {
                Ok(entry) => {
                    let entry = Arc::new(entry);
                    let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
                    match entries.iter().position(|e| e.graph_id == *id) {
                        Some(i) => entries[i] = entry,
                        None => entries.push(entry),
                    }
                    tracing::info!(graph_id = %id, path = %path.display(), "spec (re)loaded");
                }
                Err(e) => {
                    tracing::warn!(graph_id = %id, error = %e, "spec not reloaded: the last good version stays served");
                    problems.push(e.to_string());
                }
            }
            // Remembered even when invalid, so the same broken contents are reported once.
            known.insert(id.clone(), (path.clone(), bytes));
        }
        let gone: Vec<String> = known.keys().filter(|id| !files.iter().any(|(f, _)| f == *id)).cloned().collect();
        for id in gone {
            known.remove(&id);
            self.entries.write().unwrap_or_else(|e| e.into_inner()).retain(|e| e.graph_id != id);
            tracing::info!(graph_id = %id, "spec removed: graph no longer served");
        }
        problems
    }
}

/// Polls the specs directory every `interval` and reloads what changed (see
/// [`Graphs::reload_dir`]). Stops when the server state is dropped.
pub(crate) fn spawn_reloader(state: &Arc<crate::state::AppState>, dir: PathBuf, interval: std::time::Duration) {
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(state) = weak.upgrade() else { break };
            let saver = state.saver.clone();
            let dir = dir.clone();
            // Compiling specs is blocking work (file reads, script compilation).
            let _ = tokio::task::spawn_blocking(move || state.graphs.reload_dir(&dir, &saver)).await;
        }
    });
}

fn spec_files_in(dir: &Path) -> Result<Vec<(String, PathBuf)>, ServerError> {
    let read =
        std::fs::read_dir(dir).map_err(|e| ServerError::Config(format!("cannot read {}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for entry in read.flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !path.is_file() || !matches!(ext, "json" | "yaml" | "yml") {
            continue;
        }
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            out.push((stem.to_owned(), path.clone()));
        }
    }
    out.sort();
    Ok(out)
}

fn load_spec(
    id: &str,
    path: &Path,
    registry: &NodeKindRegistry,
    saver: Arc<dyn Checkpointer>,
    now: &str,
) -> Result<GraphEntry, ServerError> {
    let problems = |ps: Vec<stategraph_spec::Problem>| {
        let list: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
        ServerError::Config(format!("spec {} (graph `{id}`): {}", path.display(), list.join("; ")))
    };
    let spec = GraphSpec::from_path(path).map_err(problems)?;
    let compiled =
        stategraph_spec::compile_in(&spec, registry, &CompileContext::new().with_path(path)).map_err(problems)?;
    // The spec compiler makes a graph without persistence; compile its builder again with ours.
    let options = CompileOptions { name: Some(spec.name.clone()), checkpointer: Some(saver), ..Default::default() };
    let graph =
        compiled.builder().compile_with(options).map_err(|e| ServerError::Config(format!("graph `{id}`: {e}")))?;
    let props: serde_json::Map<String, Json> = spec
        .state
        .iter()
        .map(|(k, s)| {
            let mut p = match &s.schema {
                Some(Json::String(t)) => json!({"type": t}),
                Some(Json::Object(o)) => Json::Object(o.clone()),
                _ => json!({}),
            };
            p["title"] = json!(title(k));
            p["default"] = s.default.clone().unwrap_or(Json::Null);
            p["x-reducer"] = json!(s.reducer.as_deref().unwrap_or("last_value"));
            (k.clone(), p)
        })
        .collect();
    Ok(GraphEntry {
        graph_id: id.to_owned(),
        assistant_id: assistant_id_for(id),
        graph,
        created_at: now.to_owned(),
        description: spec.description.clone(),
        state_schema: json!({"properties": props, "title": format!("{}_state", spec.name), "type": "object"}),
    })
}

/// How a state key merges writes, for clients that explain state changes (the studio's diff):
/// the reducer's name, or the channel kind for keys without one. Shown as `x-reducer` in the
/// state schema (an extension keyword; JSON Schema tools ignore it).
fn reducer_name(kind: &stategraph_core::ChannelKind) -> String {
    use stategraph_core::ChannelKind as K;
    match kind {
        K::Reducer(r) => r.name().to_owned(),
        K::LastValue | K::LastValueAfterFinish => "last_value".into(),
        K::Topic { .. } => "topic".into(),
        K::Ephemeral => "ephemeral".into(),
        K::Untracked => "untracked".into(),
        K::NamedBarrier { .. } => "barrier".into(),
        _ => "custom".into(),
    }
}

/// `snake_case` -> `Snake Case`, as pydantic titles fields.
fn title(key: &str) -> String {
    key.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl GraphEntry {
    /// The system assistant, as `GET /assistants/{id}` shows it.
    pub(crate) fn assistant_json(&self) -> Json {
        json!({
            "assistant_id": self.assistant_id.to_string(),
            "graph_id": self.graph_id,
            "config": {},
            "context": {},
            "metadata": {"created_by": "system"},
            "name": self.graph_id,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "version": 1,
            "description": self.description,
        })
    }

    /// `GET /assistants/{id}/schemas`.
    pub(crate) fn schemas_json(&self) -> Json {
        json!({
            "graph_id": self.graph_id,
            "input_schema": null,
            "output_schema": null,
            "state_schema": self.state_schema,
            "config_schema": {},
            "context_schema": null,
        })
    }

    /// `GET /assistants/{id}/graph`: the engine's drawable graph (LangGraph's `to_json` shape).
    pub(crate) fn drawing_json(&self, xray: bool) -> Json {
        self.graph.graph_json(xray)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assistant_ids_match_langgraph() {
        assert_eq!(assistant_id_for("simple").to_string(), "5e0f6b46-d00f-5af4-87dc-ea2105ff526d");
        assert_eq!(assistant_id_for("approval").to_string(), "e234584d-b7bf-527f-9d06-ba77f8f5172d");
        assert_eq!(assistant_id_for("nested").to_string(), "0813419b-f0e6-579e-bdee-18d9fdf48632");
    }
}
