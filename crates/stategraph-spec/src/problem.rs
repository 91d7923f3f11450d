//! Problems: what is wrong with a spec, where, and its stable code.

use std::fmt;

use serde::Serialize;

/// The stable code of a problem (`SPxxx`), shown the same by the CLI, the server and the studio.
/// Codes are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Code {
    /// SP001: the text is not valid JSON or YAML (the problem has a line and column).
    #[serde(rename = "SP001")]
    Syntax,
    /// SP002: a field is unknown, missing or of the wrong type.
    #[serde(rename = "SP002")]
    Shape,
    /// SP003: the `version` is missing, not a version of this format, or newer than this build.
    #[serde(rename = "SP003")]
    Version,
    /// SP010: two nodes have the same id.
    #[serde(rename = "SP010")]
    DuplicateNode,
    /// SP011: a node id is reserved (`__start__`, `__end__`), empty, or contains `:` or `|`.
    #[serde(rename = "SP011")]
    ReservedId,
    /// SP012: an edge, the entry, an interrupt or a retry policy names a node that does not exist.
    #[serde(rename = "SP012")]
    UnknownNode,
    /// SP013: nothing leaves `__start__`: no `entry` and no edge from `__start__`.
    #[serde(rename = "SP013")]
    MissingEntry,
    /// SP014: an edge is malformed (into `__start__`, out of `__end__`, a join with no sources,
    /// a conditional edge with no branches or a repeated label).
    #[serde(rename = "SP014")]
    InvalidEdge,
    /// SP015: a conditional edge's condition reads a state key that is not declared.
    #[serde(rename = "SP015")]
    UnknownStateKey,
    /// SP020: a node's kind is not in the registry.
    #[serde(rename = "SP020")]
    UnknownKind,
    /// SP021: a node's config is rejected by its kind.
    #[serde(rename = "SP021")]
    InvalidConfig,
    /// SP022: a script, expression or template does not compile (the message has its line and
    /// column inside the code).
    #[serde(rename = "SP022")]
    Script,
    /// SP023: a subgraph reference cannot be loaded, or the spec it names is invalid.
    #[serde(rename = "SP023")]
    Subgraph,
    /// SP024: subgraph references form a cycle (a spec includes itself, directly or not).
    #[serde(rename = "SP024")]
    ReferenceCycle,
    /// SP030: a state key names a reducer that does not exist.
    #[serde(rename = "SP030")]
    UnknownReducer,
    /// SP031: a state key's `type` is not a usable JSON Schema fragment.
    #[serde(rename = "SP031")]
    InvalidType,
    /// SP032: a state key's default does not match its declared type.
    #[serde(rename = "SP032")]
    DefaultTypeMismatch,
    /// SP040: a retry policy has an impossible value (zero attempts, negative or non-finite time).
    #[serde(rename = "SP040")]
    InvalidRetry,
    /// SP050: the document is larger than [`Limits::max_document_bytes`](crate::Limits).
    #[serde(rename = "SP050")]
    DocumentTooLarge,
    /// SP051: more nodes than [`Limits::max_nodes`](crate::Limits).
    #[serde(rename = "SP051")]
    TooManyNodes,
    /// SP052: more edges than [`Limits::max_edges`](crate::Limits).
    #[serde(rename = "SP052")]
    TooManyEdges,
    /// SP053: values nested deeper than [`Limits::max_depth`](crate::Limits).
    #[serde(rename = "SP053")]
    TooDeep,
    /// SP060: the engine rejected the graph when compiling it (the message has its `SGxxx` code).
    #[serde(rename = "SP060")]
    Engine,
}

impl Code {
    /// The code as shown, e.g. `"SP012"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "SP001",
            Code::Shape => "SP002",
            Code::Version => "SP003",
            Code::DuplicateNode => "SP010",
            Code::ReservedId => "SP011",
            Code::UnknownNode => "SP012",
            Code::MissingEntry => "SP013",
            Code::InvalidEdge => "SP014",
            Code::UnknownStateKey => "SP015",
            Code::UnknownKind => "SP020",
            Code::InvalidConfig => "SP021",
            Code::Script => "SP022",
            Code::Subgraph => "SP023",
            Code::ReferenceCycle => "SP024",
            Code::UnknownReducer => "SP030",
            Code::InvalidType => "SP031",
            Code::DefaultTypeMismatch => "SP032",
            Code::InvalidRetry => "SP040",
            Code::DocumentTooLarge => "SP050",
            Code::TooManyNodes => "SP051",
            Code::TooManyEdges => "SP052",
            Code::TooDeep => "SP053",
            Code::Engine => "SP060",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong with a spec.
///
/// ```
/// use stategraph_spec::{Code, Problem};
/// let p = Problem::new(Code::UnknownNode, "/edges/0/target", "unknown node `x`");
/// assert_eq!(p.to_string(), "SP012 at /edges/0/target: unknown node `x`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Problem {
    /// The stable code.
    pub code: Code,
    /// A JSON pointer (RFC 6901) to the offending place; `""` is the whole document.
    pub pointer: String,
    /// What is wrong, for people.
    pub message: String,
    /// For syntax errors: the 1-based line in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// For syntax errors: the 1-based column in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
}

impl Problem {
    /// A problem at `pointer`.
    pub fn new(code: Code, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { code, pointer: pointer.into(), message: message.into(), line: None, column: None }
    }

    /// Adds a line and column.
    pub fn at(mut self, line: u64, column: u64) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " at line {line}, column {column}")?;
        } else {
            let pointer = if self.pointer.is_empty() { "the document root" } else { &self.pointer };
            write!(f, " at {pointer}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Appends `token` to a JSON pointer, escaping `~` and `/` (RFC 6901).
pub(crate) fn join(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// Size limits of a spec. Exceeding one is a problem, not a crash, so a server can accept specs
/// from anyone.
///
/// ```
/// let limits = stategraph_spec::Limits { max_nodes: 10, ..Default::default() };
/// assert_eq!(limits.max_edges, 5000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest document, in bytes of text (default 4 MiB).
    pub max_document_bytes: usize,
    /// Most nodes (default 1000).
    pub max_nodes: usize,
    /// Most edges (default 5000).
    pub max_edges: usize,
    /// Deepest nesting of arrays and objects, the document itself being level 1 (default 64).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_document_bytes: 4 << 20, max_nodes: 1000, max_edges: 5000, max_depth: 64 }
    }
}
