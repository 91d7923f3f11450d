//! The Rhai sandbox that runs every expression of a spec: `script` nodes, `transform` updates and
//! conditional-edge expressions. One engine, one set of limits (see `docs/architecture.md` for why
//! Rhai rather than CEL).
//!
//! What a script cannot do: read or write files, open sockets, import modules (there is no module
//! resolver and `import` is not a keyword here), `eval` text, or print to the host's stdout. What
//! bounds it: operations, call depth, expression depth, string/array/map sizes, and a wall-clock
//! timeout checked from Rhai's progress callback.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{AST, Dynamic, Engine, EvalAltResult, ImmutableString, ParseError, Position, Scope};
use stategraph_core::{END, State, Value};

/// Limits of every script and expression run by a registry's sandbox.
///
/// A node may ask for a shorter timeout (`timeout_ms` in its config), never a longer one.
///
/// ```
/// use std::time::Duration;
/// use stategraph_spec::{NodeKindRegistry, ScriptLimits};
/// let limits = ScriptLimits { timeout: Duration::from_millis(200), ..Default::default() };
/// let registry = NodeKindRegistry::with_builtins().with_script_limits(limits);
/// assert_eq!(registry.script_limits().max_operations, 1_000_000);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptLimits {
    /// Most operations one run may perform (default 1,000,000).
    pub max_operations: u64,
    /// Deepest function-call nesting (default 16).
    pub max_call_levels: usize,
    /// Deepest expression nesting, at top level and inside functions (default 64, 32).
    pub max_expr_depths: (usize, usize),
    /// Longest string, in bytes (default 1 MiB).
    pub max_string_size: usize,
    /// Most items in an array (default 100,000).
    pub max_array_size: usize,
    /// Most entries in a map (default 100,000).
    pub max_map_size: usize,
    /// Wall-clock time one run may take (default 1 s).
    pub timeout: Duration,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        ScriptLimits {
            max_operations: 1_000_000,
            max_call_levels: 16,
            max_expr_depths: (64, 32),
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 100_000,
            timeout: Duration::from_secs(1),
        }
    }
}

thread_local! {
    /// When the script running on this thread must stop. Rhai evaluates on the calling thread, so
    /// a thread-local deadline lets one shared engine give each run its own clock.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// How often (in operations) the progress callback looks at the clock: often enough that a
/// timeout is overshot by microseconds, rarely enough that reading the clock costs nothing.
const CLOCK_EVERY: u64 = 256;

/// A compiled script or expression, ready to run.
pub(crate) type Program = Arc<AST>;

/// The sandboxed engine. Cheap to share: runs take `&self`.
pub(crate) struct Sandbox {
    engine: Engine,
    limits: ScriptLimits,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("limits", &self.limits).finish()
    }
}

/// Why a script failed to compile: message and 1-based position in the script.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) message: String,
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
}

impl SyntaxError {
    /// `"syntax error at line 2, column 7: ..."`.
    pub(crate) fn describe(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("syntax error at line {l}, column {c}: {}", self.message),
            (Some(l), None) => format!("syntax error at line {l}: {}", self.message),
            _ => format!("syntax error: {}", self.message),
        }
    }
}

impl Sandbox {
    /// An engine configured with `limits`.
    pub(crate) fn new(limits: ScriptLimits) -> Self {
        let mut engine = Engine::new();
        engine
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depths.0, limits.max_expr_depths.1)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_max_modules(0)
            .set_max_variables(10_000)
            .set_max_functions(1_000)
            // Nothing outside the script: no module files, no `eval` of built strings.
            .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new())
            .disable_symbol("import")
            .disable_symbol("export")
            .disable_symbol("eval")
            // Undeclared variables are compile errors, so typos show up when the spec is checked.
            .set_strict_variables(true)
            // A server must not print whatever a spec says to its stdout.
            .on_print(|_| {})
            .on_debug(|_, _, _| {})
            .on_progress(|ops| {
                if ops % CLOCK_EVERY != 0 {
                    return None;
                }
                let late = DEADLINE.with(Cell::get).is_some_and(|d| Instant::now() >= d);
                late.then(|| Dynamic::from("timeout"))
            });
        Sandbox { engine, limits }
    }

    /// The limits the engine was built with.
    pub(crate) fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// The scope every program sees: `state` (a map) and the constant `END`.
    fn scope(state: Dynamic) -> Scope<'static> {
        let mut scope = Scope::new();
        scope.push_constant("END", END);
        scope.push("state", state);
        scope
    }

    /// Compiles a script (statements; its value is the last expression's).
    pub(crate) fn compile(&self, code: &str) -> Result<Program, SyntaxError> {
        self.engine.compile_with_scope(&Self::scope(Dynamic::UNIT), code).map(Arc::new).map_err(syntax_error)
    }

    /// Runs `program` with `state`, for at most `timeout` (capped at the sandbox's own).
    pub(crate) fn run(&self, program: &AST, state: &State, timeout: Duration) -> Result<Dynamic, RunError> {
        let timeout = timeout.min(self.limits.timeout);
        let mut scope = Self::scope(state_to_dynamic(state));
        let previous = DEADLINE.with(|d| d.replace(Some(Instant::now() + timeout)));
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, program);
        DEADLINE.with(|d| d.set(previous));
        result.map_err(|e| RunError::from_rhai(*e, timeout, &self.limits))
    }
}

impl Sandbox {
    /// Runs `program` with `state` given as a value (an object; anything else is an empty state).
    pub(crate) fn run_on_value(&self, program: &AST, state: &Value, timeout: Duration) -> Result<Dynamic, RunError> {
        let timeout = timeout.min(self.limits.timeout);
        let state =
            if matches!(state, Value::Object(_)) { to_dynamic(state) } else { Dynamic::from_map(rhai::Map::new()) };
        let mut scope = Self::scope(state);
        let previous = DEADLINE.with(|d| d.replace(Some(Instant::now() + timeout)));
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, program);
        DEADLINE.with(|d| d.set(previous));
        result.map_err(|e| RunError::from_rhai(*e, timeout, &self.limits))
    }
}

fn syntax_error(e: ParseError) -> SyntaxError {
    let (line, column) = position(e.position());
    SyntaxError { message: e.err_type().to_string(), line, column }
}

fn position(p: Position) -> (Option<usize>, Option<usize>) {
    (p.line(), p.position())
}

/// Why a run failed, already worded for people (the caller adds the node).
#[derive(Debug)]
pub(crate) struct RunError {
    /// What went wrong, with the limit that stopped it if one did.
    pub(crate) message: String,
    /// 1-based line and column in the script, when Rhai knows them.
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
}

impl RunError {
    fn from_rhai(e: EvalAltResult, timeout: Duration, limits: &ScriptLimits) -> Self {
        let (line, column) = position(e.position());
        let message = match &e {
            EvalAltResult::ErrorTerminated(..) => format!("timed out after {} ms", timeout.as_millis()),
            EvalAltResult::ErrorTooManyOperations(..) => {
                format!("stopped after the limit of {} operations", limits.max_operations)
            }
            EvalAltResult::ErrorStackOverflow(..) => {
                format!("calls nested deeper than the limit of {}", limits.max_call_levels)
            }
            EvalAltResult::ErrorDataTooLarge(what, ..) => format!(
                "{what} over its limit (strings {} bytes, arrays {} items, maps {} entries)",
                limits.max_string_size, limits.max_array_size, limits.max_map_size
            ),
            other => strip_position(&other.to_string()),
        };
        RunError { message, line, column }
    }

    /// `" at line 3, column 5: ..."`, or `": ..."` when the position is unknown (written right
    /// after "failed").
    pub(crate) fn describe(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!(" at line {l}, column {c}: {}", self.message),
            (Some(l), None) => format!(" at line {l}: {}", self.message),
            _ => format!(": {}", self.message),
        }
    }
}

/// Rhai appends ` (line L, position C)` to its messages; we report the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

/// The state as a Rhai map.
fn state_to_dynamic(state: &State) -> Dynamic {
    let mut map = rhai::Map::new();
    for key in state.keys() {
        if let Some(v) = state.get(key) {
            map.insert(key.into(), to_dynamic(v));
        }
    }
    Dynamic::from_map(map)
}

/// A stategraph value as a Rhai value (objects become maps, numbers `i64` or `f64`).
pub(crate) fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(a) => Dynamic::from_array(a.iter().map(to_dynamic).collect()),
        Value::Object(o) => Dynamic::from_map(o.iter().map(|(k, v)| (k.as_ref().into(), to_dynamic(v))).collect()),
        // A host object: scripts see its plain-data rendering.
        Value::Foreign(f) => to_dynamic(&Value::from(f.get().to_json())),
    }
}

/// A Rhai value as a stategraph value; `()` is `null`. Fails on values JSON cannot hold
/// (functions, non-finite floats, custom types), naming the type.
pub(crate) fn from_dynamic(value: Dynamic) -> Result<Value, String> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::from(serde_json::Number::from(i)));
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f).map(Value::from).ok_or_else(|| format!("{f} is not a finite number"));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::from(c.to_string()));
    }
    if value.is_string() {
        return Ok(Value::from(value.into_string().unwrap_or_default()));
    }
    if value.is_array() {
        let items = value.into_array().unwrap_or_default();
        return items.into_iter().map(from_dynamic).collect::<Result<Vec<_>, _>>().map(Value::from);
    }
    if value.is_map() {
        let map = value.try_cast::<rhai::Map>().unwrap_or_default();
        let mut out = stategraph_core::Map::new();
        for (k, v) in map {
            out.insert(Arc::from(k.as_str()), from_dynamic(v)?);
        }
        return Ok(Value::from(out));
    }
    Err(format!("a value of type `{}` cannot be stored in the state", value.type_name()))
}

/// The labels a condition expression yields: a string, or an array of strings. `END` (or
/// `"__end__"`) ends the branch.
pub(crate) fn labels(value: Dynamic) -> Result<Vec<String>, String> {
    if value.is_string() {
        return Ok(vec![value.into_string().unwrap_or_default()]);
    }
    if value.is_array() {
        return value
            .into_array()
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let t = v.type_name();
                v.into_string().map_err(|_| format!("expected branch labels (strings), got an array holding `{t}`"))
            })
            .collect();
    }
    Err(format!("expected a branch label (a string) or an array of labels, got `{}`", value.type_name()))
}
