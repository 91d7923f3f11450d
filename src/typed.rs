//! Typed state: a Rust struct as the state schema.
//!
//! `#[derive(State)]` turns each field of a struct into a state key (a channel), with
//! `#[reducer(...)]`, `#[state(...)]` and `#[validate(...)]` attributes per field, and generates a
//! partial-update struct `<Name>Update` whose fields are all `Option`s. [`TypedGraph`] is a thin
//! layer over [`StateGraph`] whose nodes take the struct and return the update struct.
//!
//! Nothing here changes how the engine runs: the state still lives in channels as JSON values.
//! A typed node reads it as the struct (one conversion per node call); validators run on the
//! JSON values after every step and on the input, and name the field and the node that wrote it.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use stategraph::prelude::*;
//! use stategraph::typed::TypedGraph;
//!
//! #[derive(State, Serialize, Deserialize, Debug, Clone)]
//! struct Review {
//!     #[validate(length(min = 1, max = 200))]
//!     text: String,
//!     #[validate(range(min = 0, max = 10))]
//!     score: Option<i64>,
//!     #[reducer(add)]
//!     notes: Vec<String>,
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut graph = TypedGraph::<Review>::new();
//! graph
//!     .add_node("score", |r: Review, _ctx| async move {
//!         let score = r.text.split_whitespace().count() as i64;
//!         Ok::<_, NodeError>(ReviewUpdate {
//!             score: Some(score),
//!             notes: Some(vec![format!("{score} words")]),
//!             ..Default::default()
//!         })
//!     })
//!     .add_edge(START, "score")
//!     .add_edge("score", END);
//! let app = graph.compile().unwrap();
//!
//! let out = app
//!     .invoke(ReviewUpdate { text: Some("short and sweet".into()), ..Default::default() }, RunConfig::default())
//!     .await
//!     .unwrap();
//! assert_eq!(out.score, Some(3));
//! assert_eq!(out.notes, ["3 words"]);
//!
//! // A twelve-word text gets a score of 12, above the maximum of 10.
//! let long = "one two three four five six seven eight nine ten eleven twelve";
//! let err = app
//!     .invoke(ReviewUpdate { text: Some(long.into()), ..Default::default() }, RunConfig::default())
//!     .await
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "SG040 invalid value for field `score` written by `score`: value 12 is above the maximum 10"
//! );
//! # });
//! ```
//!
//! Routers of a typed graph read the struct too ([`TypedGraph::add_conditional_edges`]); for
//! anything the typed layer does not cover (nodes fed by `Send`, which read the sent value rather
//! than the state, or routers over the raw [`State`]) use [`TypedGraph::graph_mut`].

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use stategraph_core::{
    ChannelKind, CompileOptions, CompiledGraph, EdgeSource, Error, IntoNodeOutput, Node, NodeContext, NodeError,
    NodeOptions, NodeOutput, NodeResult, Overwrite, PathMap, Result, Route, RouterFn, RunConfig, Schema, State,
    StateGraph,
};
use stategraph_core::{Map, Value};

/// A struct that describes a state schema. Implemented by `#[derive(State)]`; implement it by
/// hand for a schema the derive cannot express.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use stategraph::prelude::*;
/// use stategraph::typed::StateSchema;
///
/// #[derive(State, Serialize, Deserialize)]
/// struct Counter {
///     #[reducer(add)]
///     total: i64,
///     label: Option<String>,
/// }
///
/// let schema = Counter::schema();
/// let keys: Vec<&str> = schema.keys().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["total", "label"]);
/// ```
pub trait StateSchema: Serialize + DeserializeOwned + Send + 'static {
    /// The partial update a node returns (`<Name>Update` for derived schemas).
    type Update: Into<NodeOutput> + StateInput<Self> + Default + Send + 'static;

    /// The channels and managed values of the state.
    fn schema() -> Schema;
}

/// What a typed run accepts as input: the partial update `S::Update` (written like a node's
/// update, through the reducers), or a whole `S`, which sets the state to exactly that value
/// (reducer keys are overwritten, not reduced; managed values are left out).
///
/// `#[derive(State)]` implements it for the update struct.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use stategraph::prelude::*;
/// use stategraph::typed::StateInput;
///
/// #[derive(State, Serialize, Deserialize)]
/// struct Log {
///     #[reducer(append)]
///     lines: Vec<String>,
/// }
///
/// let update = LogUpdate { lines: Some("one line".into()) };
/// assert_eq!(update.into_input().unwrap(), serde_json::json!({"lines": "one line"}));
/// let state = Log { lines: vec!["a".into(), "b".into()] };
/// assert_eq!(state.into_input().unwrap(), serde_json::json!({"lines": {"__overwrite__": ["a", "b"]}}));
/// ```
pub trait StateInput<S> {
    /// The input as JSON: an object of the keys to write.
    fn into_input(self) -> Result<Value>;
}

impl<S: StateSchema> StateInput<S> for S {
    fn into_input(self) -> Result<Value> {
        let value = Value::from_serialize(&self)
            .map_err(|e| Error::Conversion(format!("input of `{}`: {e}", std::any::type_name::<S>())))?;
        let Value::Object(fields) = value else {
            return Err(Error::Conversion(format!("`{}` does not serialize to an object", std::any::type_name::<S>())));
        };
        let mut input = Map::new();
        for (key, spec) in S::schema().keys() {
            let Some(value) = fields.get(key).cloned() else { continue };
            match spec.kind() {
                // The state as given, not the reducer applied to the default and the given value
                // (`append` would nest the list, `max` would keep a default above it).
                ChannelKind::Reducer(_) => {
                    input.insert(key.into(), Value::from(Overwrite(value)));
                }
                // Nothing to say about an empty step-scoped key; writing it would only wake readers.
                ChannelKind::Ephemeral | ChannelKind::Topic { .. }
                    if value.is_null() || value.as_array().is_some_and(Vec::is_empty) => {}
                _ => {
                    input.insert(key.into(), value);
                }
            }
        }
        Ok(Value::from(input))
    }
}

/// A [`StateGraph`] over the schema of `S`, whose nodes read `S` and routers read `&S`.
///
/// Builder methods return `&mut Self` and never fail, like [`StateGraph`]'s; mistakes are reported
/// by [`compile`](TypedGraph::compile).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use stategraph::prelude::*;
/// use stategraph::typed::TypedGraph;
///
/// #[derive(State, Serialize, Deserialize, Debug)]
/// struct Loop {
///     #[reducer(add)]
///     count: i64,
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut graph = TypedGraph::<Loop>::new();
/// graph
///     .add_node("tick", |_s: Loop, _ctx| async { Ok::<_, NodeError>(LoopUpdate { count: Some(1) }) })
///     .add_edge(START, "tick")
///     .add_conditional_edges("tick", |s: &Loop| if s.count < 3 { "tick" } else { END }, ["tick", END]);
/// let out = graph.compile().unwrap().invoke(LoopUpdate::default(), RunConfig::default()).await.unwrap();
/// assert_eq!(out.count, 3);
/// # });
/// ```
pub struct TypedGraph<S> {
    graph: StateGraph,
    _state: PhantomData<fn() -> S>,
}

impl<S: StateSchema> Default for TypedGraph<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Clone for TypedGraph<S> {
    fn clone(&self) -> Self {
        TypedGraph { graph: self.graph.clone(), _state: PhantomData }
    }
}

impl<S: StateSchema> TypedGraph<S> {
    /// An empty graph over `S::schema()`.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// assert!(graph.graph().schema().contains("title"));
    /// ```
    pub fn new() -> Self {
        TypedGraph { graph: StateGraph::new(S::schema()), _state: PhantomData }
    }

    /// Adds a node: an async function of the state as `S` and the node's context, returning an
    /// update (`S::Update`, or anything else a node may return: a `Command`, `()`, ...).
    ///
    /// When the state cannot be read as `S` (a key has the wrong type, or a required field has
    /// no value yet) the node fails with a `ValidationError` before it is called.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph.add_node("shout", |d: Doc, _ctx| async move {
    ///     Ok::<_, NodeError>(DocUpdate { title: d.title.map(|t| t.to_uppercase()) })
    /// });
    /// ```
    pub fn add_node<F, Fut, O, E>(&mut self, name: impl Into<String>, node: F) -> &mut Self
    where
        F: Fn(S, NodeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<O, E>> + Send + 'static,
        O: IntoNodeOutput,
        E: Into<NodeError>,
    {
        self.add_node_with(name, node, NodeOptions::default())
    }

    /// Adds a node with options (defer, retry, metadata, destinations).
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph.add_node_with("fetch", |_d: Doc, _ctx| async { Ok::<_, NodeError>(()) }, NodeOptions::new().defer());
    /// ```
    pub fn add_node_with<F, Fut, O, E>(&mut self, name: impl Into<String>, node: F, options: NodeOptions) -> &mut Self
    where
        F: Fn(S, NodeContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<O, E>> + Send + 'static,
        O: IntoNodeOutput,
        E: Into<NodeError>,
    {
        self.graph.add_node_with(name, TypedNode { node, _state: PhantomData::<fn() -> S> }, options);
        self
    }

    /// Adds an edge; with several sources (`add_edge(["a", "b"], "c")`), `c` waits for all of them.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph.add_node("a", |_d: Doc, _ctx| async { Ok::<_, NodeError>(()) }).add_edge(START, "a").add_edge("a", END);
    /// assert!(graph.compile().is_ok());
    /// ```
    pub fn add_edge(&mut self, from: impl Into<EdgeSource>, to: &str) -> &mut Self {
        self.graph.add_edge(from, to);
        self
    }

    /// Adds a conditional edge whose router reads the state as `&S` (with `source`'s own writes
    /// applied) and returns where to go: node names, labels of `path_map`, `END`, or `Send`s.
    ///
    /// The router reads a fresh `S` built from the state, one conversion per routing; when the
    /// state cannot be read as `S` the run fails with a `ValidationError`.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph
    ///     .add_node("draft", |_d: Doc, _ctx| async { Ok::<_, NodeError>(()) })
    ///     .add_edge(START, "draft")
    ///     .add_conditional_edges("draft", |d: &Doc| if d.title.is_some() { END } else { "draft" }, ["draft", END]);
    /// assert!(graph.compile().is_ok());
    /// ```
    pub fn add_conditional_edges<F, R>(&mut self, source: &str, router: F, path_map: impl Into<PathMap>) -> &mut Self
    where
        F: Fn(&S) -> R + Send + Sync + 'static,
        R: Into<Route>,
    {
        let router: RouterFn = Arc::new(move |state: &State| {
            let typed = read_state::<S>(state)?;
            Ok(router(&typed).into())
        });
        self.graph.add_router(source, router, path_map.into());
        self
    }

    /// The untyped graph being built (to inspect it).
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// assert_eq!(graph.graph().schema().keys().count(), 1);
    /// ```
    pub fn graph(&self) -> &StateGraph {
        &self.graph
    }

    /// The untyped graph being built, to add what the typed layer does not cover: nodes that read
    /// the raw [`State`] (e.g. `Send` targets, whose input is the sent value), routers over the raw
    /// state, sequences.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph.graph_mut().add_node("raw", |s: State, _ctx| async move {
    ///     Ok::<_, NodeError>(serde_json::json!({ "title": s.get_str("title").unwrap_or("untitled") }))
    /// });
    /// ```
    pub fn graph_mut(&mut self) -> &mut StateGraph {
        &mut self.graph
    }

    /// Validates and compiles the graph.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// let err = graph.compile().unwrap_err();
    /// assert_eq!(err.code(), "SG002"); // no entry point
    /// ```
    pub fn compile(&self) -> Result<TypedCompiledGraph<S>> {
        self.compile_with(CompileOptions::default())
    }

    /// Validates and compiles the graph with options.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph.add_node("a", |_d: Doc, _ctx| async { Ok::<_, NodeError>(()) }).add_edge(START, "a");
    /// let options = stategraph::CompileOptions { name: Some("docs".into()), ..Default::default() };
    /// assert_eq!(graph.compile_with(options).unwrap().graph().name(), "docs");
    /// ```
    pub fn compile_with(&self, options: CompileOptions) -> Result<TypedCompiledGraph<S>> {
        Ok(TypedCompiledGraph { graph: self.graph.compile_with(options)?, _state: PhantomData })
    }
}

/// A compiled graph whose input is `S::Update` (or `S`) and whose output is read as `S`.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use stategraph::prelude::*;
/// use stategraph::typed::TypedGraph;
///
/// #[derive(State, Serialize, Deserialize, Debug, PartialEq)]
/// struct Greeting {
///     name: String,
///     text: Option<String>,
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut graph = TypedGraph::<Greeting>::new();
/// graph
///     .add_node("greet", |g: Greeting, _ctx| async move {
///         Ok::<_, NodeError>(GreetingUpdate { text: Some(format!("hello, {}", g.name)), ..Default::default() })
///     })
///     .add_edge(START, "greet");
/// let app = graph.compile().unwrap();
/// // The whole state works as input too.
/// let out = app.invoke(Greeting { name: "Ada".into(), text: None }, RunConfig::default()).await.unwrap();
/// assert_eq!(out.text.as_deref(), Some("hello, Ada"));
/// # });
/// ```
pub struct TypedCompiledGraph<S> {
    graph: CompiledGraph,
    _state: PhantomData<fn() -> S>,
}

impl<S> Clone for TypedCompiledGraph<S> {
    fn clone(&self) -> Self {
        TypedCompiledGraph { graph: self.graph.clone(), _state: PhantomData }
    }
}

impl<S> std::fmt::Debug for TypedCompiledGraph<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypedCompiledGraph").field(&self.graph).finish()
    }
}

impl<S: StateSchema> TypedCompiledGraph<S> {
    /// Runs the graph to completion and reads its output as `S`.
    ///
    /// The input (see [`StateInput`]) is written like any update, through the channels and their
    /// validators; a validation failure is `SG040` with writer `input`. Reading the output fails with `SG041` when a field that
    /// cannot be missing has no value (make such fields `Option`s or `#[serde(default)]`).
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize, Debug)]
    /// # struct Doc { #[validate(length(min = 1))] title: Option<String> }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph.add_node("a", |_d: Doc, _ctx| async { Ok::<_, NodeError>(()) }).add_edge(START, "a");
    /// let app = graph.compile().unwrap();
    /// let err = app.invoke(DocUpdate { title: Some(String::new()) }, RunConfig::default()).await.unwrap_err();
    /// assert_eq!(err.to_string(), "SG040 invalid value for field `title` written by `input`: length 0 is below the minimum 1");
    /// # });
    /// ```
    pub async fn invoke(&self, input: impl StateInput<S>, config: RunConfig) -> Result<S> {
        let input = input.into_input()?;
        let output = self.graph.invoke(input, config).await?;
        output
            .deserialize_into()
            .map_err(|e| Error::Conversion(format!("output as `{}`: {e}", std::any::type_name::<S>())))
    }

    /// The untyped compiled graph: to stream a run, use the graph as a subgraph, or invoke it
    /// with a `Command`.
    ///
    /// ```
    /// # use serde::{Deserialize, Serialize};
    /// # use stategraph::prelude::*;
    /// # #[derive(State, Serialize, Deserialize)]
    /// # struct Doc { title: Option<String> }
    /// let mut graph = stategraph::typed::TypedGraph::<Doc>::new();
    /// graph.add_node("a", |_d: Doc, _ctx| async { Ok::<_, NodeError>(()) }).add_edge(START, "a");
    /// let app = graph.compile().unwrap();
    /// assert_eq!(app.graph().node_names(), ["a"]);
    /// ```
    pub fn graph(&self) -> &CompiledGraph {
        &self.graph
    }
}

/// A node over `S`: reads the state as `S`, then calls the user's function.
struct TypedNode<S, F> {
    node: F,
    _state: PhantomData<fn() -> S>,
}

impl<S, F, Fut, O, E> Node for TypedNode<S, F>
where
    S: StateSchema,
    F: Fn(S, NodeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<O, E>> + Send + 'static,
    O: IntoNodeOutput,
    E: Into<NodeError>,
{
    fn call(&self, input: State, ctx: NodeContext) -> Pin<Box<dyn Future<Output = NodeResult> + Send + 'static>> {
        match read_state::<S>(&input) {
            Ok(state) => {
                let fut = (self.node)(state, ctx);
                Box::pin(async move { fut.await.map(IntoNodeOutput::into_node_output).map_err(Into::into) })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// Reads the state as `S`; a mismatch is a permanent `ValidationError` (retrying cannot fix it).
fn read_state<S: StateSchema>(state: &State) -> std::result::Result<S, NodeError> {
    state.to_typed::<S>().map_err(|e| {
        let message = match e {
            Error::Conversion(m) => m,
            other => other.to_string(),
        };
        NodeError::permanent(format!("state is not a valid `{}`: {message}", std::any::type_name::<S>()))
            .with_kind("ValidationError")
    })
}

/// Support for the code `#[derive(State)]` generates. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    use std::borrow::Borrow;
    use std::sync::OnceLock;

    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use stategraph_core::{NodeOutput, Reducer, Value};

    pub use regex;
    pub use serde;
    pub use serde_json;

    /// The signature of `#[reducer(fn = ...)]` functions.
    pub type ReducerFn = fn(Value, Value) -> Result<Value, String>;

    /// A numeric bound of `#[validate(range(...))]`.
    #[derive(Clone, Copy, Debug)]
    pub enum Bound {
        /// An integer bound.
        Int(i128),
        /// A float bound.
        Float(f64),
    }

    impl std::fmt::Display for Bound {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Bound::Int(i) => write!(f, "{i}"),
                Bound::Float(x) => write!(f, "{x}"),
            }
        }
    }

    /// The initial value of a reducer key: the type's default, serialized.
    pub fn default_value<T: Default + Serialize>() -> Value {
        Value::from_serialize(&T::default()).unwrap_or_else(|e| {
            panic!("#[derive(State)]: the default value of `{}` cannot be serialized: {e}", std::any::type_name::<T>())
        })
    }

    /// A reducer from a user function.
    pub fn reducer_fn(name: &str, f: ReducerFn) -> Reducer {
        Reducer::from_fn(name, f)
    }

    /// The node output of a partial update.
    pub fn update_output<U: Serialize>(type_name: &str, update: &U) -> NodeOutput {
        match Value::from_serialize(update) {
            Ok(v) => NodeOutput::from(v),
            // Reported by the engine as SG012, naming the node that returned it.
            Err(e) => NodeOutput::Invalid(Value::from(format!("{type_name} that cannot be serialized: {e}"))),
        }
    }

    /// The run input of a partial update.
    pub fn update_input<U: Serialize>(type_name: &str, update: &U) -> stategraph_core::Result<Value> {
        Value::from_serialize(update)
            .map_err(|e| stategraph_core::Error::Conversion(format!("{type_name} cannot be serialized: {e}")))
    }

    /// `length(min, max)`: characters of a string, items of a list, entries of an object.
    pub fn check_length(v: &Value, min: Option<usize>, max: Option<usize>) -> Result<(), String> {
        let len = match v {
            Value::Null => return Ok(()),
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(m) => m.len(),
            other => return Err(format!("length applies to strings, lists and objects, got {}", other.kind())),
        };
        if let Some(min) = min.filter(|&m| len < m) {
            return Err(format!("length {len} is below the minimum {min}"));
        }
        if let Some(max) = max.filter(|&m| len > m) {
            return Err(format!("length {len} is above the maximum {max}"));
        }
        Ok(())
    }

    /// Compares a JSON number with a bound, exactly for integers.
    fn compare(n: &serde_json::Number, bound: Bound) -> Option<std::cmp::Ordering> {
        let int = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
        match (int, bound) {
            (Some(i), Bound::Int(b)) => Some(i.cmp(&b)),
            (_, Bound::Int(b)) => n.as_f64()?.partial_cmp(&(b as f64)),
            (_, Bound::Float(b)) => n.as_f64()?.partial_cmp(&b),
        }
    }

    /// `range(min, max)`, both inclusive.
    pub fn check_range(v: &Value, min: Option<Bound>, max: Option<Bound>) -> Result<(), String> {
        let n = match v {
            Value::Null => return Ok(()),
            Value::Number(n) => n,
            other => return Err(format!("range applies to numbers, got {}", other.kind())),
        };
        if let Some(min) = min.filter(|&b| compare(n, b) == Some(std::cmp::Ordering::Less)) {
            return Err(format!("value {n} is below the minimum {min}"));
        }
        if let Some(max) = max.filter(|&b| compare(n, b) == Some(std::cmp::Ordering::Greater)) {
            return Err(format!("value {n} is above the maximum {max}"));
        }
        Ok(())
    }

    /// `pattern = "..."`; the regex is compiled into `cell` on first use.
    pub fn check_pattern(
        v: &Value,
        cell: &'static OnceLock<regex::Regex>,
        pattern: &'static str,
    ) -> Result<(), String> {
        let s = match v {
            Value::Null => return Ok(()),
            Value::String(s) => s,
            other => return Err(format!("pattern applies to strings, got {}", other.kind())),
        };
        // The derive checked the pattern when the user's crate compiled.
        let re = cell.get_or_init(|| regex::Regex::new(pattern).expect("pattern checked by #[derive(State)]"));
        if re.is_match(s) {
            return Ok(());
        }
        let mut shown: String = s.chars().take(40).collect();
        if shown.len() < s.len() {
            shown.push_str("...");
        }
        Err(format!("{shown:?} does not match pattern {pattern}"))
    }

    /// `custom = f`: reads the value as the field type `T`, then asks `f` about it, or about
    /// what it borrows as (`&str` for a `String`, `&[X]` for a `Vec<X>`).
    pub fn check_custom<T, U>(v: &Value, f: fn(&U) -> Result<(), String>) -> Result<(), String>
    where
        T: DeserializeOwned + Borrow<U>,
        U: ?Sized,
    {
        let typed: T = v.deserialize_into().map_err(|e| format!("expected `{}`: {e}", std::any::type_name::<T>()))?;
        f(typed.borrow())
    }

    /// `custom = f` on an `Option<T>` field: `null` passes, other values are read as `T`.
    pub fn check_custom_present<T, U>(v: &Value, f: fn(&U) -> Result<(), String>) -> Result<(), String>
    where
        T: DeserializeOwned + Borrow<U>,
        U: ?Sized,
    {
        if v.is_null() { Ok(()) } else { check_custom::<T, U>(v, f) }
    }

    #[cfg(test)]
    mod tests {
        /// JSON syntax for an engine value.
        macro_rules! json {
            ($($t:tt)+) => {
                Value::from(serde_json::json!($($t)+))
            };
        }

        use super::*;

        #[test]
        fn length_counts_chars_items_and_entries() {
            assert_eq!(check_length(&json!("héllo"), Some(5), Some(5)), Ok(()));
            assert_eq!(check_length(&json!([]), Some(1), None), Err("length 0 is below the minimum 1".into()));
            assert_eq!(
                check_length(&json!({"a": 1, "b": 2}), None, Some(1)),
                Err("length 2 is above the maximum 1".into())
            );
            assert_eq!(check_length(&json!(null), Some(1), None), Ok(()));
            assert!(check_length(&json!(3), Some(1), None).unwrap_err().contains("got a number"));
        }

        #[test]
        fn range_is_exact_for_integers_and_accepts_floats() {
            let max = Some(Bound::Int(i64::MAX as i128));
            assert_eq!(check_range(&json!(i64::MAX), None, max), Ok(()));
            assert_eq!(
                check_range(&json!(u64::MAX), None, max),
                Err(format!("value {} is above the maximum {}", u64::MAX, i64::MAX))
            );
            assert_eq!(check_range(&json!(0.5), Some(Bound::Float(0.25)), Some(Bound::Int(1))), Ok(()));
            assert_eq!(
                check_range(&json!(-1), Some(Bound::Int(0)), None),
                Err("value -1 is below the minimum 0".into())
            );
            assert_eq!(
                check_range(&json!(1.5), None, Some(Bound::Int(1))),
                Err("value 1.5 is above the maximum 1".into())
            );
        }

        #[test]
        fn pattern_truncates_long_values() {
            static RE: OnceLock<regex::Regex> = OnceLock::new();
            let long = "A".repeat(100);
            let err = check_pattern(&json!(long), &RE, "^[a-z]+$").unwrap_err();
            assert_eq!(err, format!("\"{}...\" does not match pattern ^[a-z]+$", "A".repeat(40)));
            assert_eq!(check_pattern(&json!("abc"), &RE, "^[a-z]+$"), Ok(()));
        }
    }
}
