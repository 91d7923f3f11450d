//! `subgraph`: another spec, compiled with the same registry and run as one node (the engine's
//! subgraph: the parent's state goes in, the child's final state comes back as the update).
//!
//! ```yaml
//! - {id: review, kind: subgraph, config: {path: review.yaml}}     # relative to this spec's file
//! - {id: triage, kind: subgraph, config: {id: triage-v2}}         # resolved by the host's loader
//! ```
//!
//! References are followed when the spec is validated, so a missing file, an invalid child or a
//! cycle (`a.yaml` → `b.yaml` → `a.yaml`) is a problem of the parent, pointing at the reference.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};
use stategraph_core::BoxNode;

use super::unknown_fields;
use crate::compile::{CompileContext, compile_in, file_key};
use crate::problem::Code;
use crate::registry::{ConfigError, KindContext, NodeKind};
use crate::spec::GraphSpec;
use crate::validate::validate_in;

/// How deep subgraphs may nest: past this, a chain of distinct references is treated as runaway.
const MAX_NESTING: usize = 16;

/// What a `subgraph` node refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecRef {
    /// `{"path": "child.yaml"}`: a file, relative to the directory of the referring spec's file.
    Path(String),
    /// `{"id": "child"}`: a name the host's [`SpecLoader`] resolves.
    Id(String),
}

impl std::fmt::Display for SpecRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecRef::Path(p) => write!(f, "path `{p}`"),
            SpecRef::Id(id) => write!(f, "id `{id}`"),
        }
    }
}

/// A spec a loader found.
#[derive(Clone, Debug)]
pub struct LoadedSpec {
    /// Identifies the spec in reference cycles: the same document must always get the same key
    /// (a file's canonical path, a registry id).
    pub key: String,
    /// The document.
    pub spec: GraphSpec,
    /// The file it was read from, if any (its own references resolve against it).
    pub path: Option<PathBuf>,
}

/// Finds the spec a `subgraph` node refers to. Hosts implement it (or pass a closure) to resolve
/// ids from their own store.
///
/// ```
/// use stategraph_spec::{GraphSpec, LoadedSpec, NodeKindRegistry, SpecRef, Subgraph};
/// let loader = |r: &SpecRef, _from: Option<&std::path::Path>| match r {
///     SpecRef::Id(id) if id == "empty" => Ok(LoadedSpec { key: id.clone(), spec: GraphSpec::new("empty"), path: None }),
///     other => Err(format!("no spec with {other}")),
/// };
/// let mut registry = NodeKindRegistry::with_builtins();
/// registry.register("subgraph", Subgraph::new(loader));
/// ```
pub trait SpecLoader: Send + Sync + 'static {
    /// Loads `reference`, made from the spec read from `from` (`None`: not read from a file).
    fn load(&self, reference: &SpecRef, from: Option<&Path>) -> Result<LoadedSpec, String>;
}

impl<F> SpecLoader for F
where
    F: Fn(&SpecRef, Option<&Path>) -> Result<LoadedSpec, String> + Send + Sync + 'static,
{
    fn load(&self, reference: &SpecRef, from: Option<&Path>) -> Result<LoadedSpec, String> {
        self(reference, from)
    }
}

/// Resolves paths against the referring spec's directory (or the working directory) and reads
/// JSON (`.json`) or YAML (anything else). Knows no ids.
#[derive(Clone, Copy, Debug, Default)]
pub struct FileLoader;

impl SpecLoader for FileLoader {
    fn load(&self, reference: &SpecRef, from: Option<&Path>) -> Result<LoadedSpec, String> {
        match reference {
            SpecRef::Path(p) => {
                let path = match from.and_then(Path::parent) {
                    Some(dir) => dir.join(p),
                    None => PathBuf::from(p),
                };
                let spec = GraphSpec::from_path(&path).map_err(|problems| {
                    let first = problems.first().map(ToString::to_string).unwrap_or_default();
                    format!("{}: {first}", path.display())
                })?;
                Ok(LoadedSpec { key: file_key(&path), spec, path: Some(path) })
            }
            SpecRef::Id(id) => Err(format!(
                "cannot resolve id `{id}`: the host has no spec loader for ids (use `path`, or register `subgraph` with a loader)"
            )),
        }
    }
}

/// The `subgraph` kind, with the loader that resolves its references.
#[derive(Clone)]
pub struct Subgraph {
    loader: Arc<dyn SpecLoader>,
}

impl std::fmt::Debug for Subgraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subgraph").finish_non_exhaustive()
    }
}

impl Subgraph {
    /// References are resolved by `loader`.
    pub fn new(loader: impl SpecLoader) -> Self {
        Subgraph { loader: Arc::new(loader) }
    }

    /// Loads the child and checks the reference does not close a cycle; returns it with the
    /// context to check or compile it in.
    fn resolve(
        &self,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<(LoadedSpec, CompileContext), ConfigError> {
        let (reference, at) = reference(config)?;
        let loaded = self.loader.load(&reference, cx.path).map_err(|m| {
            ConfigError::new(at, format!("cannot load the subgraph ({reference}): {m}")).with_code(Code::Subgraph)
        })?;
        if let Some(first) = cx.stack.iter().position(|k| *k == loaded.key) {
            let mut chain: Vec<&str> = cx.stack[first..].iter().map(String::as_str).collect();
            chain.push(&loaded.key);
            return Err(ConfigError::new(at, format!("subgraph references form a cycle: {}", chain.join(" → ")))
                .with_code(Code::ReferenceCycle));
        }
        if cx.stack.len() >= MAX_NESTING {
            return Err(ConfigError::new(at, format!("subgraphs nest deeper than {MAX_NESTING} levels"))
                .with_code(Code::Subgraph));
        }
        let parent = CompileContext::from_kind(cx);
        let child = parent.nested(loaded.key.clone(), loaded.path.clone());
        Ok((loaded, child))
    }
}

/// The reference in a config and the pointer of its field.
fn reference(config: &Map<String, Value>) -> Result<(SpecRef, &'static str), ConfigError> {
    match (config.get("path"), config.get("id")) {
        (Some(Value::String(p)), None) => Ok((SpecRef::Path(p.clone()), "/path")),
        (None, Some(Value::String(id))) => Ok((SpecRef::Id(id.clone()), "/id")),
        (Some(_), Some(_)) => Err(ConfigError::new("", "give either `path` or `id`, not both")),
        (None, None) => {
            Err(ConfigError::new("", "missing field `path` (a spec file) or `id` (a spec the host resolves)"))
        }
        (Some(_), None) => Err(ConfigError::new("/path", "`path` must be a string")),
        (None, Some(_)) => Err(ConfigError::new("/id", "`id` must be a string")),
    }
}

impl NodeKind for Subgraph {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::subgraph())
    }

    fn validate(&self, config: &Map<String, Value>, _spec: &GraphSpec) -> Vec<ConfigError> {
        let mut errors = unknown_fields("subgraph", config, &["path", "id"]);
        errors.extend(reference(config).err());
        errors
    }

    fn build(&self, _node_id: &str, _config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        Err(ConfigError::new("", "a `subgraph` node is built with its registry (build_in)"))
    }

    fn validate_in(&self, config: &Map<String, Value>, cx: &KindContext<'_>) -> Vec<ConfigError> {
        let errors = self.validate(config, cx.spec);
        if !errors.is_empty() {
            return errors;
        }
        let (loaded, child_cx) = match self.resolve(config, cx) {
            Ok(r) => r,
            Err(e) => return vec![e],
        };
        let at = reference(config).map(|(_, at)| at).unwrap_or("");
        validate_in(&loaded.spec, cx.registry, &child_cx)
            .into_iter()
            .map(|p| {
                // A cycle further down is still a cycle; anything else is "the child is invalid".
                let code = if p.code == Code::ReferenceCycle { Code::ReferenceCycle } else { Code::Subgraph };
                ConfigError::new(at, format!("in subgraph `{}`: {p}", loaded.spec.name)).with_code(code)
            })
            .collect()
    }

    fn build_in(
        &self,
        _node_id: &str,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<BoxNode, ConfigError> {
        let (loaded, child_cx) = self.resolve(config, cx)?;
        let at = reference(config).map(|(_, at)| at).unwrap_or("");
        let graph = compile_in(&loaded.spec, cx.registry, &child_cx).map_err(|problems| {
            let first = problems.first().map(ToString::to_string).unwrap_or_default();
            ConfigError::new(at, format!("in subgraph `{}`: {first}", loaded.spec.name)).with_code(Code::Subgraph)
        })?;
        Ok(Arc::new(graph))
    }
}
