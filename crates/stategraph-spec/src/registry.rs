//! Node kinds: what a node of a spec does, looked up by name. Host applications register their own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};
use stategraph_core::{BoxNode, NodeError, sync_node};
use stategraph_prebuilt::{ChatModel, Tool};

use crate::problem::{Code, Limits, join};
use crate::sandbox::{Sandbox, ScriptLimits};
use crate::spec::GraphSpec;

/// A mistake in a node's config, found by its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// JSON pointer relative to the node's `config` (`""` = the config itself).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// The problem code it is reported with: [`Code::InvalidConfig`] unless the kind says
    /// otherwise (e.g. [`Code::Script`] for code that does not compile).
    pub code: Code,
}

impl ConfigError {
    /// An error at `pointer` (relative to the config), reported as [`Code::InvalidConfig`].
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { pointer: pointer.into(), message: message.into(), code: Code::InvalidConfig }
    }

    /// The same error with another code.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }
}

/// What a kind may look at besides the node's config when it checks or builds a node: the whole
/// document, the registry (to compile nested specs), the limits, where the document came from,
/// and which documents are being compiled around it.
#[derive(Clone, Copy, Debug)]
pub struct KindContext<'a> {
    /// The document the node is in.
    pub spec: &'a GraphSpec,
    /// The registry the document is compiled with.
    pub registry: &'a NodeKindRegistry,
    /// The document limits.
    pub limits: &'a Limits,
    /// The file the document was read from, if any (relative references resolve against it).
    pub path: Option<&'a Path>,
    /// The documents being compiled, outermost first, by the key their loader gave them (the
    /// top-level file's canonical path when it came from a file). Used to detect reference cycles.
    pub stack: &'a [String],
}

/// A kind of node: checks a node's config and builds the engine node from it.
///
/// ```
/// use serde_json::{Map, Value, json};
/// use stategraph_core::{BoxNode, sync_node, NodeError};
/// use stategraph_spec::{ConfigError, GraphSpec, NodeKind, NodeKindRegistry};
///
/// /// Writes the node's own id to `config.key`.
/// struct Stamp;
/// impl NodeKind for Stamp {
///     fn validate(&self, config: &Map<String, Value>, _spec: &GraphSpec) -> Vec<ConfigError> {
///         match config.get("key") {
///             Some(Value::String(_)) => vec![],
///             _ => vec![ConfigError::new("/key", "`key` must be a string")],
///         }
///     }
///     fn build(&self, node_id: &str, config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
///         let update = json!({ config["key"].as_str().unwrap(): node_id });
///         Ok(std::sync::Arc::new(sync_node(move |_s, _c| Ok::<_, NodeError>(update.clone()))))
///     }
/// }
///
/// let mut registry = NodeKindRegistry::with_builtins();
/// registry.register("stamp", Stamp);
/// assert!(registry.get("stamp").is_some());
/// ```
pub trait NodeKind: Send + Sync + 'static {
    /// Checks `config` and returns every mistake (none = valid). `spec` is the whole document, to
    /// check references such as state keys.
    fn validate(&self, config: &Map<String, Value>, spec: &GraphSpec) -> Vec<ConfigError>;

    /// Builds the node. Called only with a config that [`validate`](Self::validate) accepted.
    fn build(&self, node_id: &str, config: &Map<String, Value>) -> Result<BoxNode, ConfigError>;

    /// [`validate`](Self::validate) with the whole [`KindContext`]; kinds that need more than
    /// the document (the registry, the file it came from) override this one instead.
    fn validate_in(&self, config: &Map<String, Value>, cx: &KindContext<'_>) -> Vec<ConfigError> {
        self.validate(config, cx.spec)
    }

    /// [`build`](Self::build) with the whole [`KindContext`].
    fn build_in(
        &self,
        node_id: &str,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<BoxNode, ConfigError> {
        let _ = cx;
        self.build(node_id, config)
    }

    /// The body of a Python function `def node(state):` doing what this node does, for the
    /// LangGraph export (lines without indentation; `state` is the state dict). `None` (the
    /// default) = the kind cannot be expressed in Python, and the export writes a marked stub.
    fn python(&self, node_id: &str, config: &Map<String, Value>) -> Option<Vec<String>> {
        let _ = (node_id, config);
        None
    }

    /// The nodes a node of this config may go to with a `Command` (LangGraph's `destinations`),
    /// declared to the engine for its checks and drawings. Default: none.
    fn destinations(&self, config: &Map<String, Value>) -> Vec<String> {
        let _ = config;
        Vec::new()
    }

    /// How the studio presents the kind: title, description and the JSON Schema of its config
    /// (the inspector's form). `None` (the default): the kind's name as title and an open
    /// object schema, see [`NodeKindRegistry::kind_infos`].
    fn info(&self) -> Option<KindInfo> {
        None
    }
}

/// How a node kind presents itself (in the studio's palette and inspector).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KindInfo {
    /// A short name for people, e.g. `"HTTP request"`.
    pub title: String,
    /// One sentence on what the node does.
    pub description: String,
    /// The JSON Schema (draft 2020-12) of the node's `config`. Fields may carry
    /// `"x-stategraph": "state-key" | "state-key-map" | "template" | "rhai"` as an editor hint.
    pub config_schema: Value,
}

/// Node kinds by name, the script sandbox they share, and the chat models and tools the host
/// provides to `llm` and `tools` nodes.
#[derive(Clone)]
pub struct NodeKindRegistry {
    kinds: BTreeMap<String, Arc<dyn NodeKind>>,
    sandbox: Arc<Sandbox>,
    models: BTreeMap<String, Arc<dyn ChatModel>>,
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl Default for NodeKindRegistry {
    fn default() -> Self {
        NodeKindRegistry {
            kinds: BTreeMap::new(),
            sandbox: Arc::new(Sandbox::new(ScriptLimits::default())),
            models: BTreeMap::new(),
            tools: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for NodeKindRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKindRegistry")
            .field("kinds", &self.kinds.keys().collect::<Vec<_>>())
            .field("models", &self.models.keys().collect::<Vec<_>>())
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl NodeKindRegistry {
    /// A registry with no kinds.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry with the built-in kinds: `passthrough`, `set`, `script`, `transform`,
    /// `template`, `http` (allowing no host: register [`Http`](crate::Http) with an allow-list to
    /// reach any), `subgraph` (references are file paths, see [`FileLoader`](crate::FileLoader)),
    /// `human` (an Agent Inbox interrupt), `llm` (a chat model from `stategraph-prebuilt`; models
    /// named in specs come from [`register_model`](Self::register_model)) and `tools` (runs the
    /// tools of [`register_tool`](Self::register_tool) that the last AI message calls).
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        registry
            .register("passthrough", Passthrough)
            .register("set", Set)
            .register("script", crate::kinds::Script)
            .register("transform", crate::kinds::Transform)
            .register("template", crate::kinds::Template)
            .register("http", crate::kinds::Http::deny_all())
            .register("subgraph", crate::kinds::Subgraph::new(crate::kinds::FileLoader))
            .register("human", crate::kinds::Human)
            .register("llm", crate::kinds::Llm)
            .register("tools", crate::kinds::Tools);
        registry
    }

    /// Makes a chat model available to `llm` nodes as `{model: NAME}` (the host decides which
    /// providers and keys a spec may use; a spec can also describe an OpenAI-compatible endpoint
    /// or a scripted model itself).
    ///
    /// ```
    /// use stategraph_prebuilt::{Message, ScriptedModel};
    /// use stategraph_spec::NodeKindRegistry;
    /// let mut registry = NodeKindRegistry::with_builtins();
    /// registry.register_model("default", ScriptedModel::new([Message::ai("hi")]));
    /// assert!(registry.model("default").is_some());
    /// ```
    pub fn register_model(&mut self, name: impl Into<String>, model: impl ChatModel) -> &mut Self {
        self.models.insert(name.into(), Arc::new(model));
        self
    }

    /// The model registered as `name`.
    pub fn model(&self, name: &str) -> Option<&Arc<dyn ChatModel>> {
        self.models.get(name)
    }

    /// Makes a tool available, by its name, to `llm` nodes (`tools: [NAME]`, offered to the
    /// model) and `tools` nodes (which run the calls).
    ///
    /// ```
    /// use stategraph_prebuilt::{ToolError, tool_fn};
    /// use stategraph_spec::NodeKindRegistry;
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Id { id: String }
    /// let lookup = tool_fn("lookup", "Finds a ticket.", |a: Id| async move { Ok::<_, ToolError>(a.id) });
    /// let mut registry = NodeKindRegistry::with_builtins();
    /// registry.register_tool(lookup);
    /// assert!(registry.tool("lookup").is_some());
    /// ```
    pub fn register_tool(&mut self, tool: impl Tool) -> &mut Self {
        self.tools.insert(tool.name().to_owned(), Arc::new(tool));
        self
    }

    /// The tool called `name`.
    pub fn tool(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name)
    }

    /// The names of the registered tools, sorted.
    pub fn tool_names(&self) -> impl Iterator<Item = &str> {
        self.tools.keys().map(String::as_str)
    }

    /// The same registry with a sandbox of other limits, for every script, transform and
    /// condition expression compiled with it.
    pub fn with_script_limits(mut self, limits: ScriptLimits) -> Self {
        self.sandbox = Arc::new(Sandbox::new(limits));
        self
    }

    /// The limits of the script sandbox.
    pub fn script_limits(&self) -> &ScriptLimits {
        self.sandbox.limits()
    }

    /// The shared script sandbox.
    pub(crate) fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Adds (or replaces) a kind.
    pub fn register(&mut self, name: impl Into<String>, kind: impl NodeKind) -> &mut Self {
        self.kinds.insert(name.into(), Arc::new(kind));
        self
    }

    /// The kind called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn NodeKind> {
        self.kinds.get(name).map(|k| &**k)
    }

    /// The names of the kinds, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }

    /// Every kind with its [`KindInfo`], sorted by name; a kind without one gets its name as
    /// title and `{"type": "object"}` as config schema.
    ///
    /// ```
    /// let registry = stategraph_spec::NodeKindRegistry::with_builtins();
    /// let (name, script) = registry.kind_infos().find(|(n, _)| *n == "script").unwrap();
    /// assert_eq!(script.config_schema["required"][0], "code");
    /// # let _ = name;
    /// ```
    pub fn kind_infos(&self) -> impl Iterator<Item = (&str, KindInfo)> {
        self.kinds.iter().map(|(name, kind)| {
            let info = kind.info().unwrap_or_else(|| KindInfo {
                title: name.clone(),
                description: String::new(),
                config_schema: serde_json::json!({"type": "object"}),
            });
            (name.as_str(), info)
        })
    }
}

/// `passthrough`: does nothing and returns no update (a junction point). Takes no config.
struct Passthrough;

impl NodeKind for Passthrough {
    fn info(&self) -> Option<KindInfo> {
        Some(crate::kinds::info::passthrough())
    }

    fn validate(&self, config: &Map<String, Value>, _spec: &GraphSpec) -> Vec<ConfigError> {
        config
            .keys()
            .map(|k| ConfigError::new(join("", k), format!("unknown field `{k}`: `passthrough` takes no config")))
            .collect()
    }

    fn build(&self, _node_id: &str, _config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        Ok(Arc::new(sync_node(|_state, _ctx| Ok::<_, NodeError>(()))))
    }

    fn python(&self, _node_id: &str, _config: &Map<String, Value>) -> Option<Vec<String>> {
        Some(vec!["return None".into()])
    }
}

/// `set`: `{"update": {"key": value, ...}}` returns that update every time it runs. Every key must
/// be a declared state key (the engine would silently drop the others).
struct Set;

impl NodeKind for Set {
    fn info(&self) -> Option<KindInfo> {
        Some(crate::kinds::info::set())
    }

    fn validate(&self, config: &Map<String, Value>, spec: &GraphSpec) -> Vec<ConfigError> {
        let mut errors: Vec<ConfigError> = config
            .keys()
            .filter(|k| *k != "update")
            .map(|k| ConfigError::new(join("", k), format!("unknown field `{k}`, expected `update`")))
            .collect();
        match config.get("update") {
            None => errors.push(ConfigError::new("", "missing field `update` (an object of state key → value)")),
            Some(Value::Object(update)) => {
                for key in update.keys().filter(|k| !spec.state.contains_key(*k)) {
                    errors.push(ConfigError::new(
                        join("/update", key),
                        format!("`{key}` is not a state key; declare it under `state`"),
                    ));
                }
            }
            Some(_) => errors.push(ConfigError::new("/update", "`update` must be an object of state key → value")),
        }
        errors
    }

    fn build(&self, _node_id: &str, config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        let update = match config.get("update") {
            Some(v @ Value::Object(_)) => stategraph_core::Value::from(v),
            _ => return Err(ConfigError::new("/update", "`update` must be an object")),
        };
        // The update is built once; each run hands out a reference-counted copy.
        Ok(Arc::new(sync_node(move |_state, _ctx| Ok::<_, NodeError>(update.clone()))))
    }

    fn python(&self, _node_id: &str, config: &Map<String, Value>) -> Option<Vec<String>> {
        // A fresh copy per call, as the Rust node hands out its own (reducers may not mutate it).
        Some(vec![format!("return copy.deepcopy({})", crate::python::literal(config.get("update")?))])
    }
}
