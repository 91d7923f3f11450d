//! `human`: pauses the run with a typed question for a person — LangGraph's Agent Inbox pattern
//! (`HumanInterrupt` in, `HumanResponse` back) — and checks the answer before using it.
//!
//! ```yaml
//! - id: review
//!   kind: human
//!   config:
//!     action: approve_refund                       # what is asked (a template)
//!     description: "Refund {{ amount }} EUR to {{ customer }}?"   # a template, optional
//!     allow: {accept: true, edit: true, respond: true, ignore: true}   # absent = false
//!     args: refund                                 # a state key holding the args object, or
//!                                                  # {name: template or literal}
//!     args_schema: {type: object, required: [amount], properties: {amount: {type: number}}}
//!     response_schema: {type: string}              # for `response` answers (the default)
//!     output: review                               # receives {type, args} of the answer
//!     edit_key: refund                             # edited args replace it (default: `args` when a key)
//!     routes: {accept: pay, edit: pay, respond: revise, ignore: __end__}   # optional
//! ```
//!
//! The interrupt's value is LangGraph's `HumanInterrupt`:
//! `{"action_request": {"action", "args"}, "config": {"allow_ignore", "allow_respond", "allow_edit",
//! "allow_accept"}, "description"}`, and its `response_schema` describes the answers allowed.
//! Resume with a `HumanResponse` `{"type": "accept" | "edit" | "response" | "ignore", "args": ...}`
//! or a one-element list of it (what the Agent Inbox sends): `edit` carries an action request
//! `{"action", "args"}` whose `args` must match `args_schema`; `response` carries the reply, which
//! must match `response_schema`.
//!
//! An answer that is not allowed or does not match its schema does not fail the run and does not
//! lose the pause: the node asks again, with the same payload plus an `error` field naming the node
//! and what was wrong, and the run pauses there until a valid answer comes.
//!
//! With `routes`, the node goes on with a `Command` to the route of the answer's type (`__end__`
//! ends the branch) and must have no other edges out; every allowed type needs a route. Without
//! it, the node's edges apply, and conditions can read `output`'s `type`.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use stategraph_core::{BoxNode, Command, END, NodeContext, NodeError, NodeOutput, State, sync_node};

use super::template::Templates;
use super::{collect, optional_str, required_str, state_key, unknown_fields};
use crate::problem::{Code, join};
use crate::registry::{ConfigError, KindContext, NodeKind};
use crate::schema_check::{check_schema, violations};
use crate::spec::GraphSpec;

pub(crate) const FIELDS: &[&str] =
    &["action", "description", "allow", "args", "args_schema", "response_schema", "output", "edit_key", "routes"];
/// `allow` keys, with the `HumanResponse` type each permits and LangGraph's config flag.
const ALLOW: &[(&str, &str, &str)] = &[
    ("accept", "accept", "allow_accept"),
    ("edit", "edit", "allow_edit"),
    ("respond", "response", "allow_respond"),
    ("ignore", "ignore", "allow_ignore"),
];

/// The `human` kind.
pub(crate) struct Human;

/// Where the action request's args come from.
enum Args {
    None,
    /// The value of a state key.
    Key(String),
    /// Each entry a template (strings) or a literal.
    Object(Map<String, Value>),
}

/// A validated config.
struct Config {
    allowed: [bool; 4],
    args: Args,
    args_schema: Option<Value>,
    response_schema: Value,
    output: Option<String>,
    edit_key: Option<String>,
    routes: Map<String, Value>,
}

fn allow_flags(config: &Map<String, Value>, errors: &mut Vec<ConfigError>) -> [bool; 4] {
    let mut allowed = [false; 4];
    match config.get("allow") {
        None => errors.push(ConfigError::new(
            "",
            "missing field `allow`: which answers are allowed, e.g. {accept: true, respond: true}",
        )),
        Some(Value::Object(flags)) => {
            for (name, flag) in flags {
                let at = join("/allow", name);
                match (ALLOW.iter().position(|(k, _, _)| k == name), flag) {
                    (None, _) => errors.push(ConfigError::new(
                        at,
                        format!("unknown answer type `{name}`; expected accept, edit, respond or ignore"),
                    )),
                    (Some(i), Value::Bool(b)) => allowed[i] = *b,
                    (Some(_), _) => errors.push(ConfigError::new(at, format!("`{name}` must be true or false"))),
                }
            }
            if allowed.iter().all(|a| !a) && errors.is_empty() {
                errors.push(ConfigError::new("/allow", "no answer is allowed: set at least one of the flags to true"));
            }
        }
        Some(_) => errors.push(ConfigError::new("/allow", "`allow` must be an object of answer type → true/false")),
    }
    allowed
}

fn schema_field(config: &Map<String, Value>, field: &str, errors: &mut Vec<ConfigError>) -> Option<Value> {
    let schema = config.get(field)?;
    let mut problems = Vec::new();
    check_schema(schema, &format!("/{field}"), &mut problems);
    errors.extend(problems.into_iter().map(|(at, m)| ConfigError::new(at, format!("invalid JSON Schema: {m}"))));
    Some(schema.clone())
}

fn read_config(config: &Map<String, Value>, spec: &GraphSpec, errors: &mut Vec<ConfigError>) -> Config {
    errors.extend(unknown_fields("human", config, FIELDS));
    if let Some(action) = collect(required_str(config, "action", "what is asked (a template)"), errors) {
        template_error(action, "/action", errors);
    }
    if let Some(Some(d)) = collect(optional_str(config, "description"), errors) {
        template_error(d, "/description", errors);
    }
    let allowed = allow_flags(config, errors);
    let args = match config.get("args") {
        None => Args::None,
        Some(Value::String(key)) => {
            errors.extend(state_key(spec, "/args", key));
            Args::Key(key.clone())
        }
        Some(Value::Object(m)) => {
            for (name, v) in m {
                if let Value::String(t) = v {
                    template_error(t, &join("/args", name), errors);
                }
            }
            Args::Object(m.clone())
        }
        Some(_) => {
            errors.push(ConfigError::new(
                "/args",
                "`args` must be a state key (a string) or an object of name → template or value",
            ));
            Args::None
        }
    };
    let args_schema = schema_field(config, "args_schema", errors);
    let response_schema = schema_field(config, "response_schema", errors).unwrap_or_else(|| json!({"type": "string"}));
    let mut key_field = |field: &str| {
        let key = collect(optional_str(config, field), errors).flatten()?;
        errors.extend(state_key(spec, &format!("/{field}"), key));
        Some(key.to_owned())
    };
    let output = key_field("output");
    let edit_key = key_field("edit_key").or_else(|| match &args {
        Args::Key(k) => Some(k.clone()),
        _ => None,
    });
    if allowed[1] && edit_key.is_none() && output.is_none() {
        errors.push(ConfigError::new(
            "",
            "`edit` is allowed but the edited args go nowhere: set `edit_key` or `output` (or take `args` from a state key)",
        ));
    }
    let routes = match config.get("routes") {
        None => Map::new(),
        Some(Value::Object(routes)) => {
            for (name, target) in routes {
                let at = join("/routes", name);
                match ALLOW.iter().position(|(k, _, _)| k == name) {
                    None => errors.push(ConfigError::new(
                        &at,
                        format!("unknown answer type `{name}`; expected accept, edit, respond or ignore"),
                    )),
                    Some(i) if !allowed[i] => errors
                        .push(ConfigError::new(&at, format!("a route for `{name}`, which `allow` does not allow"))),
                    Some(_) => {}
                }
                match target.as_str() {
                    Some(t) if t == END || spec.nodes.iter().any(|n| n.id == t) => {}
                    Some(t) => errors.push(ConfigError::new(at, format!("unknown node `{t}`").as_str())),
                    None => errors.push(ConfigError::new(at, "a route must be a node id or `__end__`")),
                }
            }
            for (i, (name, _, _)) in ALLOW.iter().enumerate() {
                if allowed[i] && !routes.contains_key(*name) {
                    errors.push(ConfigError::new(
                        "/routes",
                        format!("`{name}` is allowed but has no route (with `routes`, every allowed answer needs one)"),
                    ));
                }
            }
            routes.clone()
        }
        Some(_) => {
            errors.push(ConfigError::new("/routes", "`routes` must be an object of answer type → node id"));
            Map::new()
        }
    };
    Config { allowed, args, args_schema, response_schema, output, edit_key, routes }
}

fn template_error(source: &str, at: &str, errors: &mut Vec<ConfigError>) {
    if let Err(m) = Templates::check(source) {
        errors.push(ConfigError::new(at, m).with_code(Code::Script));
    }
}

/// The `response_schema` shown with the interrupt: the `HumanResponse`s this node accepts.
fn published_schema(config: &Config) -> Value {
    let mut types = Vec::new();
    let mut variants = Vec::new();
    for (i, (_, kind, _)) in ALLOW.iter().enumerate() {
        if !config.allowed[i] {
            continue;
        }
        types.push(json!(kind));
        let args = match *kind {
            "edit" => json!({
                "type": "object",
                "required": ["action", "args"],
                "properties": {
                    "action": {"type": "string"},
                    "args": config.args_schema.clone().unwrap_or_else(|| json!({"type": "object"})),
                },
            }),
            "response" => config.response_schema.clone(),
            _ => json!({"type": "null"}),
        };
        variants.push(json!({"properties": {"type": {"const": kind}, "args": args}}));
    }
    json!({
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": types}},
        "oneOf": variants,
    })
}

impl NodeKind for Human {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::human())
    }

    fn validate(&self, config: &Map<String, Value>, spec: &GraphSpec) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        read_config(config, spec, &mut errors);
        errors
    }

    fn build(&self, _node_id: &str, _config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        Err(ConfigError::new("", "a `human` node is built with its document (build_in)"))
    }

    fn build_in(
        &self,
        node_id: &str,
        config: &Map<String, Value>,
        cx: &KindContext<'_>,
    ) -> Result<BoxNode, ConfigError> {
        let mut errors = Vec::new();
        let parsed = read_config(config, cx.spec, &mut errors);
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        let mut sources: Vec<(String, String)> = vec![("action".into(), required_str(config, "action", "")?.into())];
        if let Some(d) = optional_str(config, "description")? {
            sources.push(("description".into(), d.into()));
        }
        if let Args::Object(m) = &parsed.args {
            for (name, v) in m {
                if let Value::String(t) = v {
                    sources.push((format!("arg:{name}"), t.clone()));
                }
            }
        }
        let templates = Templates::new(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())))
            .map_err(|(name, m)| ConfigError::new(format!("/{}", name.replace("arg:", "args/")), m))?;
        let schema = published_schema(&parsed);
        let node: Arc<str> = Arc::from(node_id);
        let parsed = Arc::new(parsed);
        Ok(Arc::new(sync_node(move |state: State, ctx: NodeContext| {
            let payload = payload(&node, &parsed, &templates, &state)?;
            let mut request = payload.clone();
            loop {
                let answer = ctx.interrupt_with(stategraph_core::Value::from(&request), Some(schema.clone().into()))?;
                match check_answer(&parsed, &answer.to_json()) {
                    Ok((kind, args)) => return Ok::<_, NodeError>(output(&parsed, &kind, args)),
                    // Ask again: the run pauses at this second question with the reason, and the
                    // answers given so far stay in the task's resume list.
                    Err(m) => {
                        let mut again = payload.clone();
                        again["error"] = Value::from(format!("human node `{node}`: {m}; answer again"));
                        request = again;
                    }
                }
            }
        })))
    }

    fn python(&self, _node_id: &str, config: &Map<String, Value>) -> Option<Vec<String>> {
        python(config)
    }

    fn destinations(&self, config: &Map<String, Value>) -> Vec<String> {
        let mut targets: Vec<String> = match config.get("routes") {
            Some(Value::Object(r)) => {
                r.values().filter_map(Value::as_str).filter(|t| *t != END).map(String::from).collect()
            }
            _ => Vec::new(),
        };
        targets.sort();
        targets.dedup();
        targets
    }
}

/// The `HumanInterrupt` for this state.
fn payload(node: &str, config: &Config, templates: &Templates, state: &State) -> Result<Value, NodeError> {
    let render = |name: &str| {
        templates.render(name, state).map_err(|m| {
            NodeError::permanent(format!(
                "human node `{node}`: rendering `{}` failed{m}",
                name.replace("arg:", "args.")
            ))
            .with_kind("ValueError")
        })
    };
    let args = match &config.args {
        Args::None => json!({}),
        Args::Key(key) => state.get(key).map(|v| v.to_json()).unwrap_or(Value::Null),
        Args::Object(m) => {
            let mut out = Map::new();
            for (name, v) in m {
                let value = match v {
                    Value::String(_) => Value::from(render(&format!("arg:{name}"))?),
                    other => other.clone(),
                };
                out.insert(name.clone(), value);
            }
            Value::Object(out)
        }
    };
    let description =
        if templates_has(templates, "description") { Value::from(render("description")?) } else { Value::Null };
    let mut flags = Map::new();
    for (i, (_, _, flag)) in ALLOW.iter().enumerate().rev() {
        flags.insert((*flag).into(), Value::Bool(config.allowed[i]));
    }
    Ok(json!({
        "action_request": {"action": render("action")?, "args": args},
        "config": flags,
        "description": description,
    }))
}

fn templates_has(templates: &Templates, name: &str) -> bool {
    templates.has(name)
}

/// The answer's type and args, or why it cannot be used.
fn check_answer(config: &Config, answer: &Value) -> Result<(String, Value), String> {
    let answer = match answer {
        Value::Array(list) if list.len() == 1 => &list[0],
        Value::Array(list) => return Err(format!("expected one HumanResponse, got a list of {}", list.len())),
        other => other,
    };
    let Some(object) = answer.as_object() else {
        return Err(format!("expected a HumanResponse object {{\"type\": ..., \"args\": ...}}, got {answer}"));
    };
    let allowed: Vec<&str> = ALLOW.iter().enumerate().filter(|(i, _)| config.allowed[*i]).map(|(_, a)| a.1).collect();
    let kind = match object.get("type").and_then(Value::as_str) {
        Some(k) if allowed.contains(&k) => k,
        Some(k) if ALLOW.iter().any(|a| a.1 == k) => {
            return Err(format!("answer type `{k}` is not allowed here; allowed: {}", allowed.join(", ")));
        }
        Some(k) => return Err(format!("unknown answer type `{k}`; allowed: {}", allowed.join(", "))),
        None => return Err(format!("the answer has no string `type`; allowed: {}", allowed.join(", "))),
    };
    let args = object.get("args").cloned().unwrap_or(Value::Null);
    let mut problems = Vec::new();
    match kind {
        "edit" => {
            let Some(edited) = args.as_object().and_then(|a| a.get("args")) else {
                return Err(
                    "an `edit` answer's args must be an action request {\"action\": ..., \"args\": {...}}".into()
                );
            };
            if let Some(schema) = &config.args_schema {
                violations(schema, edited, "/args/args", &mut problems);
            }
        }
        "response" => violations(&config.response_schema, &args, "/args", &mut problems),
        _ => {}
    }
    if problems.is_empty() {
        Ok((kind.to_owned(), args))
    } else {
        Err(format!("the `{kind}` answer does not match its schema: {}", problems.join("; ")))
    }
}

/// The node's update (and route) for a valid answer.
fn output(config: &Config, kind: &str, args: Value) -> NodeOutput {
    let mut update = Map::new();
    if kind == "edit"
        && let Some(key) = &config.edit_key
    {
        update.insert(key.clone(), args.get("args").cloned().unwrap_or(Value::Null));
    }
    if let Some(key) = &config.output {
        update.insert(key.clone(), json!({"type": kind, "args": args}));
    }
    let name = ALLOW.iter().find(|a| a.1 == kind).map_or(kind, |a| a.0);
    match config.routes.get(name).and_then(Value::as_str) {
        Some(target) if target != END => Command::new().update(Value::Object(update)).goto(target).into(),
        _ => NodeOutput::from(Value::Object(update)),
    }
}

/// LangGraph code doing the same: `interrupt()` with the same payload (no answer checking: the
/// export trusts the inbox).
fn python(config: &Map<String, Value>) -> Option<Vec<String>> {
    let s = crate::python::string;
    let action = config.get("action")?.as_str()?;
    let mut lines = vec![
        "from langgraph.types import Command, interrupt".to_owned(),
        format!(
            "args = {}",
            match config.get("args") {
                None => "{}".to_owned(),
                Some(Value::String(key)) => format!("state.get({})", s(key)),
                Some(Value::Object(m)) => {
                    let items: Vec<String> = m
                        .iter()
                        .map(|(k, v)| match v {
                            Value::String(t) => format!("{}: _template({}).render(**state)", s(k), s(t)),
                            other => format!("{}: {}", s(k), crate::python::literal(other)),
                        })
                        .collect();
                    format!("{{{}}}", items.join(", "))
                }
                Some(_) => return None,
            }
        ),
    ];
    let flag = |name: &str| config.get("allow").and_then(|a| a.get(name)).and_then(Value::as_bool).unwrap_or(false);
    let py = |b: bool| if b { "True" } else { "False" };
    let description = match config.get("description").and_then(Value::as_str) {
        Some(d) => format!("_template({}).render(**state)", s(d)),
        None => "None".into(),
    };
    lines.push(format!(
        "answer = interrupt({{\"action_request\": {{\"action\": _template({}).render(**state), \"args\": args}}, \
         \"config\": {{\"allow_ignore\": {}, \"allow_respond\": {}, \"allow_edit\": {}, \"allow_accept\": {}}}, \
         \"description\": {description}}})",
        s(action),
        py(flag("ignore")),
        py(flag("respond")),
        py(flag("edit")),
        py(flag("accept")),
    ));
    lines.push("if isinstance(answer, list):".into());
    lines.push("    answer = answer[0]".into());
    lines.push("update = {}".into());
    let edit_key = config.get("edit_key").or_else(|| config.get("args").filter(|a| a.is_string()));
    if let Some(key) = edit_key.and_then(Value::as_str) {
        lines.push("if answer[\"type\"] == \"edit\":".into());
        lines.push(format!("    update[{}] = answer[\"args\"][\"args\"]", s(key)));
    }
    if let Some(key) = config.get("output").and_then(Value::as_str) {
        lines.push(format!("update[{}] = {{\"type\": answer[\"type\"], \"args\": answer.get(\"args\")}}", s(key)));
    }
    if let Some(Value::Object(routes)) = config.get("routes") {
        let map: Vec<String> = routes
            .iter()
            .map(|(k, v)| {
                let kind = ALLOW.iter().find(|a| a.0 == k).map_or(k.as_str(), |a| a.1);
                let target = v.as_str().unwrap_or(END);
                format!("{}: {}", s(kind), if target == END { "END".to_owned() } else { s(target) })
            })
            .collect();
        lines.push(format!("return Command(update=update, goto={{{}}}[answer[\"type\"]])", map.join(", ")));
    } else {
        lines.push("return update".into());
    }
    Some(lines)
}
