//! Reading specs: text → generic value (with size, syntax and depth checks) → version upgrade →
//! typed [`GraphSpec`], every failure a [`Problem`] with a pointer or a line and column.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::problem::{Code, Limits, Problem, join};
use crate::spec::{CURRENT_VERSION, ConditionalEdge, EdgeSpec, EdgeVariant, GraphSpec, JoinEdge, NodeSpec, PlainEdge};
use crate::spec::{ExprSend, ForEachSend, SendEdge};
use crate::spec::{StateKeySpec, kind_name};

/// Upgrades from each older version to the next: `MIGRATIONS[i]` turns version `i + 1` into
/// `i + 2`. Empty while version 1 is the only one; a new version adds its step here, and
/// [`migrate`] runs the steps a document needs in order.
const MIGRATIONS: &[Migration] = &[];

/// Upgrades a document, in place, from one version to the next.
type Migration = fn(&mut Map<String, Value>) -> Result<(), Problem>;

impl GraphSpec {
    /// Parses a JSON spec with the default [`Limits`].
    pub fn from_json(text: &str) -> Result<GraphSpec, Vec<Problem>> {
        Self::from_json_with(text, &Limits::default())
    }

    /// Parses a JSON spec.
    pub fn from_json_with(text: &str, limits: &Limits) -> Result<GraphSpec, Vec<Problem>> {
        check_size(text, limits)?;
        let value: Value = serde_json::from_str(text).map_err(|e| {
            // serde_json stops at 128 levels by itself, before our own depth check can run.
            let code = if e.to_string().contains("recursion limit exceeded") { Code::TooDeep } else { Code::Syntax };
            vec![Problem::new(code, "", format!("invalid JSON: {e}")).at(e.line() as u64, e.column() as u64)]
        })?;
        Self::from_value_with(value, limits)
    }

    /// Parses a YAML spec with the default [`Limits`].
    pub fn from_yaml(text: &str) -> Result<GraphSpec, Vec<Problem>> {
        Self::from_yaml_with(text, &Limits::default())
    }

    /// Parses a YAML spec. YAML is read into the same data model as JSON first, so the two formats
    /// accept the same documents and report the same pointers.
    pub fn from_yaml_with(text: &str, limits: &Limits) -> Result<GraphSpec, Vec<Problem>> {
        check_size(text, limits)?;
        let value: Value = serde_saphyr::from_str(text).map_err(|e| {
            let problem = Problem::new(Code::Syntax, "", format!("invalid YAML: {e}"));
            vec![match e.location() {
                Some(l) if l.line() > 0 => problem.at(l.line(), l.column()),
                _ => problem,
            }]
        })?;
        Self::from_value_with(value, limits)
    }

    /// Reads a spec file: JSON when the name ends in `.json`, else YAML. An unreadable file is a
    /// [`Code::Syntax`] problem naming it.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<GraphSpec, Vec<Problem>> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| vec![Problem::new(Code::Syntax, "", format!("cannot read {}: {e}", path.display()))])?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            Self::from_json(&text)
        } else {
            Self::from_yaml(&text)
        }
    }

    /// Reads a spec from a JSON value (checks depth, upgrades the version, then the shape).
    pub fn from_value_with(value: Value, limits: &Limits) -> Result<GraphSpec, Vec<Problem>> {
        if let Some(pointer) = too_deep(&value, limits.max_depth) {
            return Err(vec![Problem::new(
                Code::TooDeep,
                pointer,
                format!("values are nested deeper than the limit of {} levels", limits.max_depth),
            )]);
        }
        migrate(value)
    }
}

fn check_size(text: &str, limits: &Limits) -> Result<(), Vec<Problem>> {
    if text.len() > limits.max_document_bytes {
        return Err(vec![Problem::new(
            Code::DocumentTooLarge,
            "",
            format!("the document is {} bytes; the limit is {}", text.len(), limits.max_document_bytes),
        )]);
    }
    Ok(())
}

/// The pointer of the first value deeper than `max` levels (the document is level 1). Iterative,
/// so that a hostile document cannot overflow the stack here.
fn too_deep(value: &Value, max: usize) -> Option<String> {
    let mut stack: Vec<(&Value, usize, String)> = vec![(value, 1, String::new())];
    while let Some((v, depth, pointer)) = stack.pop() {
        let children: Vec<(String, &Value)> = match v {
            Value::Array(a) => a.iter().enumerate().map(|(i, c)| (join(&pointer, &i.to_string()), c)).collect(),
            Value::Object(o) => o.iter().map(|(k, c)| (join(&pointer, k), c)).collect(),
            _ => continue,
        };
        if depth > max {
            return Some(pointer);
        }
        stack.extend(children.into_iter().rev().map(|(p, c)| (c, depth + 1, p)));
    }
    None
}

/// Upgrades a document of any supported version to the current one and reads it.
///
/// Rejects a missing `version`, version 0, and versions newer than [`CURRENT_VERSION`] (written by
/// a newer Stategraph) with [`Code::Version`].
///
/// ```
/// use serde_json::json;
/// let spec = stategraph_spec::migrate(json!({"version": 1, "name": "g"})).unwrap();
/// assert_eq!(spec.name, "g");
/// let err = stategraph_spec::migrate(json!({"version": 99, "name": "g"})).unwrap_err();
/// assert_eq!(err[0].code.as_str(), "SP003");
/// ```
pub fn migrate(value: Value) -> Result<GraphSpec, Vec<Problem>> {
    let Value::Object(mut object) = value else {
        return Err(vec![Problem::new(
            Code::Shape,
            "",
            format!("a spec must be an object, got {}", kind_name(&value)),
        )]);
    };
    let version = match object.get("version") {
        None => {
            return Err(vec![Problem::new(
                Code::Version,
                "/version",
                format!("missing `version`; this build reads versions 1 to {CURRENT_VERSION}"),
            )]);
        }
        Some(v) => v.as_u64().filter(|v| *v >= 1).ok_or_else(|| {
            vec![Problem::new(Code::Version, "/version", format!("`version` must be a positive integer, got {v}"))]
        })?,
    };
    if version > u64::from(CURRENT_VERSION) {
        return Err(vec![Problem::new(
            Code::Version,
            "/version",
            format!(
                "spec version {version} is newer than this build supports ({CURRENT_VERSION}); upgrade Stategraph to read it"
            ),
        )]);
    }
    for step in &MIGRATIONS[(version as usize - 1)..] {
        step(&mut object).map_err(|p| vec![p])?;
    }
    object.insert("version".into(), Value::from(CURRENT_VERSION));
    read_typed(object)
}

/// Reads the typed spec. Nodes, edges and state keys are read one by one first, so that every
/// malformed one is reported (serde stops at the first error) with a pointer inside it.
fn read_typed(object: Map<String, Value>) -> Result<GraphSpec, Vec<Problem>> {
    let mut problems = Vec::new();
    if let Some(Value::Array(nodes)) = object.get("nodes") {
        for (i, node) in nodes.iter().enumerate() {
            check_part::<NodeSpec>(node, &format!("/nodes/{i}"), &mut problems);
        }
    }
    if let Some(Value::Array(edges)) = object.get("edges") {
        for (i, edge) in edges.iter().enumerate() {
            let pointer = format!("/edges/{i}");
            match edge {
                Value::Object(o) => match EdgeSpec::variant_of(o) {
                    EdgeVariant::Plain => check_part::<PlainEdge>(edge, &pointer, &mut problems),
                    EdgeVariant::Join => check_part::<JoinEdge>(edge, &pointer, &mut problems),
                    EdgeVariant::Conditional => check_part::<ConditionalEdge>(edge, &pointer, &mut problems),
                    EdgeVariant::Send => check_send(o, &pointer, &mut problems),
                },
                other => problems.push(Problem::new(
                    Code::Shape,
                    pointer,
                    format!("an edge must be an object, got {}", kind_name(other)),
                )),
            }
        }
    }
    if let Some(Value::Object(state)) = object.get("state") {
        for (key, spec) in state {
            check_part::<StateKeySpec>(spec, &join("/state", key), &mut problems);
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    from_value_at::<GraphSpec>(Value::Object(object), "").map_err(|p| vec![p])
}

/// A fan-out edge, its `send` read as the variant its fields pick, so that a problem inside it
/// points at the field.
fn check_send(edge: &Map<String, Value>, pointer: &str, problems: &mut Vec<Problem>) {
    let send_at = join(pointer, "send");
    match edge.get("send") {
        Some(send @ Value::Object(o)) if o.contains_key("expr") => check_part::<ExprSend>(send, &send_at, problems),
        Some(send @ Value::Object(_)) => check_part::<ForEachSend>(send, &send_at, problems),
        Some(other) => {
            problems.push(Problem::new(
                Code::Shape,
                send_at,
                format!("`send` must be an object, got {}", kind_name(other)),
            ));
            return;
        }
        None => {}
    }
    let mut rest = edge.clone();
    rest.insert("send".into(), serde_json::json!({"expr": "", "targets": []}));
    check_part::<SendEdge>(&Value::Object(rest), pointer, problems);
}

fn check_part<T: DeserializeOwned>(value: &Value, pointer: &str, problems: &mut Vec<Problem>) {
    if let Err(p) = from_value_at::<T>(value.clone(), pointer) {
        problems.push(p);
    }
}

/// Deserializes `value` (found at `base`), turning an error into a problem at the exact place.
fn from_value_at<T: DeserializeOwned>(value: Value, base: &str) -> Result<T, Problem> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let mut pointer = base.to_owned();
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => pointer = join(&pointer, &index.to_string()),
                serde_path_to_error::Segment::Map { key } => pointer = join(&pointer, key),
                serde_path_to_error::Segment::Enum { variant } => pointer = join(&pointer, variant),
                serde_path_to_error::Segment::Unknown => {}
            }
        }
        // For an unknown field the path ends at the field itself.
        let message = e.into_inner().to_string();
        Problem::new(Code::Shape, pointer, message)
    })
}
