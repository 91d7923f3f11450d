//! `GET /openapi.json`: an OpenAPI 3.0 document generated from the route table the router is
//! built from ([`crate::api::route_table`]), with a description, parameters and request/response
//! schemas per operation. A unit test checks every mounted route has its entry here and no entry
//! describes a route that is not mounted.

use axum::http::Method;
use serde_json::{Map, Value as Json, json};

/// How an operation answers when it succeeds.
#[derive(Clone, Copy)]
pub(crate) enum Ok_ {
    /// 200 with a JSON body of this schema.
    Json(&'static str),
    /// 200 with an array of this component.
    List(&'static str),
    /// 200 with a bare integer (the `count` routes).
    Count,
    /// 200 with any JSON (a run's final values, a wait body).
    Any,
    /// 200 with a `text/event-stream` body.
    Sse,
    /// 204 without body.
    NoContent,
    /// 202 without body (cancel without `wait`), or 200 with the final values (with `wait`).
    Cancel,
    /// 200 with an HTML page.
    Html,
}

/// One documented operation.
pub(crate) struct Op {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) tag: &'static str,
    pub(crate) summary: &'static str,
    /// A request body: a component schema name.
    pub(crate) body: Option<&'static str>,
    /// Query parameters: `(name, JSON Schema type)`.
    pub(crate) query: &'static [(&'static str, &'static str)],
    pub(crate) ok: Ok_,
    /// Error statuses beyond 422 (which every operation that reads input can answer).
    pub(crate) errors: &'static [u16],
}

macro_rules! op {
    ($m:ident $path:literal, $tag:literal, $summary:literal, body = $body:expr, query = $query:expr, ok = $ok:expr, errors = $errors:expr) => {
        Op {
            method: Method::$m,
            path: $path,
            tag: $tag,
            summary: $summary,
            body: $body,
            query: $query,
            ok: $ok,
            errors: $errors,
        }
    };
}

/// Every operation the API serves (the router's routes).
pub(crate) fn operations() -> Vec<Op> {
    use Ok_::*;
    const NF: &[u16] = &[404];
    const NF_C: &[u16] = &[404, 409];
    const NONE: &[(&str, &str)] = &[];
    vec![
        op!(GET "/ok", "System", "Health check", body = None, query = NONE, ok = Json("Ok"), errors = &[]),
        op!(GET "/info", "System", "Server information", body = None, query = NONE, ok = Json("Info"), errors = &[]),
        op!(GET "/openapi.json", "System", "This OpenAPI document", body = None, query = NONE, ok = Json("Object"), errors = &[]),
        op!(GET "/docs", "System", "A page listing the operations of this API", body = None, query = NONE, ok = Html, errors = &[]),
        op!(POST "/assistants", "Assistants", "Create an assistant for a graph", body = Some("AssistantCreate"), query = NONE, ok = Json("Assistant"), errors = NF_C),
        op!(PATCH "/assistants/{assistant_id}", "Assistants", "Update an assistant (a new version)", body = Some("AssistantPatch"), query = NONE, ok = Json("Assistant"), errors = &[404, 409]),
        op!(DELETE "/assistants/{assistant_id}", "Assistants", "Delete an assistant and its versions", body = None, query = &[("delete_threads", "boolean")], ok = NoContent, errors = &[404, 409]),
        op!(POST "/assistants/{assistant_id}/versions", "Assistants", "List an assistant's versions", body = Some("AssistantVersionsSearch"), query = NONE, ok = List("Assistant"), errors = &[404, 409]),
        op!(POST "/assistants/{assistant_id}/latest", "Assistants", "Make a version the assistant's current one", body = Some("AssistantLatest"), query = &[("version", "integer")], ok = Json("Assistant"), errors = &[404, 409]),
        op!(POST "/assistants/search", "Assistants", "Search assistants", body = Some("AssistantSearch"), query = NONE, ok = List("Assistant"), errors = NF),
        op!(POST "/assistants/count", "Assistants", "Count assistants", body = Some("AssistantSearch"), query = NONE, ok = Count, errors = NF),
        op!(GET "/assistants/{assistant_id}", "Assistants", "Get an assistant", body = None, query = NONE, ok = Json("Assistant"), errors = NF),
        op!(GET "/assistants/{assistant_id}/graph", "Assistants", "The graph's drawing", body = None, query = &[("xray", "string")], ok = Json("GraphDrawing"), errors = NF),
        op!(GET "/assistants/{assistant_id}/schemas", "Assistants", "The graph's JSON schemas", body = None, query = NONE, ok = Json("GraphSchemas"), errors = NF),
        op!(GET "/assistants/{assistant_id}/subgraphs", "Assistants", "The graph's subgraphs", body = None, query = &[("recurse", "boolean")], ok = Json("Object"), errors = NF),
        op!(POST "/threads", "Threads", "Create a thread", body = Some("ThreadCreate"), query = NONE, ok = Json("Thread"), errors = &[409]),
        op!(POST "/threads/search", "Threads", "Search threads", body = Some("ThreadSearch"), query = NONE, ok = List("Thread"), errors = &[]),
        op!(POST "/threads/count", "Threads", "Count threads", body = Some("ThreadSearch"), query = NONE, ok = Count, errors = &[]),
        op!(GET "/threads/{thread_id}", "Threads", "Get a thread", body = None, query = NONE, ok = Json("Thread"), errors = NF),
        op!(PATCH "/threads/{thread_id}", "Threads", "Merge metadata into a thread", body = Some("ThreadPatch"), query = NONE, ok = Json("Thread"), errors = NF),
        op!(DELETE "/threads/{thread_id}", "Threads", "Delete a thread, its runs and its checkpoints", body = None, query = NONE, ok = NoContent, errors = NF),
        op!(POST "/threads/{thread_id}/copy", "Threads", "Copy a thread with its checkpoints", body = None, query = NONE, ok = Json("Thread"), errors = NF),
        op!(GET "/threads/{thread_id}/state", "Threads", "A thread's latest state", body = None, query = &[("subgraphs", "boolean")], ok = Json("ThreadState"), errors = NF),
        op!(POST "/threads/{thread_id}/state", "Threads", "Update a thread's state (a new checkpoint)", body = Some("ThreadStateUpdate"), query = NONE, ok = Json("ThreadStateUpdateResponse"), errors = &[400, 404, 409]),
        op!(POST "/threads/{thread_id}/state/checkpoint", "Threads", "A thread's state at a checkpoint", body = Some("ThreadStateCheckpoint"), query = NONE, ok = Json("ThreadState"), errors = NF),
        op!(GET "/threads/{thread_id}/state/{checkpoint_id}", "Threads", "A thread's state at a checkpoint", body = None, query = &[("subgraphs", "boolean")], ok = Json("ThreadState"), errors = NF),
        op!(POST "/threads/{thread_id}/history", "Threads", "A thread's checkpoints, newest first", body = Some("ThreadHistory"), query = NONE, ok = List("ThreadState"), errors = NF),
        op!(GET "/threads/{thread_id}/history", "Threads", "A thread's checkpoints, newest first", body = None, query = &[("limit", "integer"), ("before", "string")], ok = List("ThreadState"), errors = NF),
        op!(POST "/threads/{thread_id}/runs", "Thread Runs", "Start a run in the background", body = Some("RunCreate"), query = NONE, ok = Json("Run"), errors = NF_C),
        op!(GET "/threads/{thread_id}/runs", "Thread Runs", "A thread's runs, newest first", body = None, query = &[("limit", "integer"), ("offset", "integer"), ("status", "string"), ("select", "string")], ok = List("Run"), errors = NF),
        op!(POST "/threads/{thread_id}/runs/stream", "Thread Runs", "Start a run and stream its events", body = Some("RunCreate"), query = NONE, ok = Sse, errors = NF_C),
        op!(POST "/threads/{thread_id}/runs/wait", "Thread Runs", "Start a run and wait for its final values", body = Some("RunCreate"), query = NONE, ok = Any, errors = NF_C),
        op!(GET "/threads/{thread_id}/runs/{run_id}", "Thread Runs", "Get a run", body = None, query = NONE, ok = Json("Run"), errors = NF),
        op!(DELETE "/threads/{thread_id}/runs/{run_id}", "Thread Runs", "Delete a run", body = None, query = NONE, ok = NoContent, errors = NF),
        op!(GET "/threads/{thread_id}/runs/{run_id}/join", "Thread Runs", "Wait for a run's final values", body = None, query = &[("cancel_on_disconnect", "boolean")], ok = Any, errors = NF),
        op!(GET "/threads/{thread_id}/runs/{run_id}/stream", "Thread Runs", "Stream a run's events (join)", body = None, query = &[("stream_mode", "string"), ("cancel_on_disconnect", "boolean")], ok = Sse, errors = NF),
        op!(POST "/threads/{thread_id}/runs/{run_id}/cancel", "Thread Runs", "Cancel a run", body = None, query = &[("wait", "boolean"), ("action", "string")], ok = Cancel, errors = NF),
        op!(POST "/runs/stream", "Stateless Runs", "Run on a temporary thread and stream its events", body = Some("RunCreate"), query = NONE, ok = Sse, errors = NF),
        op!(POST "/runs/wait", "Stateless Runs", "Run on a temporary thread and wait for its final values", body = Some("RunCreate"), query = NONE, ok = Any, errors = NF),
    ]
}

fn schema_of(ok: Ok_) -> Option<(&'static str, Json)> {
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    Some(match ok {
        Ok_::Json(name) => ("application/json", r(name)),
        Ok_::List(name) => ("application/json", json!({"type": "array", "items": r(name)})),
        Ok_::Count => ("application/json", json!({"type": "integer", "minimum": 0})),
        Ok_::Any => ("application/json", json!({})),
        Ok_::Sse => ("text/event-stream", json!({"type": "string"})),
        Ok_::Html => ("text/html", json!({"type": "string"})),
        Ok_::NoContent | Ok_::Cancel => return None,
    })
}

fn error_text(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Missing or invalid token",
        404 => "Not found",
        409 => "Conflict (exists already, or the thread is busy)",
        413 => "Request body too large",
        _ => "Validation error",
    }
}

fn path_params(path: &str) -> Vec<Json> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = if name == "checkpoint_id" {
                json!({"type": "string"})
            } else {
                json!({"type": "string", "format": "uuid"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

fn operation_id(method: &Method, path: &str) -> String {
    let mut id = method.as_str().to_ascii_lowercase();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.extend(seg.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').map(|c| c.to_ascii_lowercase()));
    }
    id
}

/// The OpenAPI document of `ops`.
pub(crate) fn document(ops: &[Op]) -> Json {
    let mut paths = Map::new();
    for op in ops {
        let mut responses = Map::new();
        match op.ok {
            Ok_::NoContent => {
                responses.insert("204".into(), json!({"description": "Done"}));
            }
            Ok_::Cancel => {
                responses.insert("202".into(), json!({"description": "Cancellation requested (without `wait`)"}));
                responses.insert(
                    "200".into(),
                    json!({"description": "The run's final values (with `wait=true`)", "content": {"application/json": {"schema": {}}}}),
                );
            }
            ok => {
                let (mime, schema) = schema_of(ok).unwrap_or(("application/json", json!({})));
                responses
                    .insert("200".into(), json!({"description": "Success", "content": {mime: {"schema": schema}}}));
            }
        }
        let takes_input = op.body.is_some() || !op.query.is_empty() || op.path.contains('{');
        let mut errors: Vec<u16> = op.errors.to_vec();
        if takes_input {
            errors.push(422);
        }
        if op.body.is_some() {
            errors.push(413);
        }
        if op.path != "/ok" {
            errors.push(401);
        }
        errors.sort_unstable();
        errors.dedup();
        for status in errors {
            responses.insert(
                status.to_string(),
                json!({"description": error_text(status), "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}),
            );
        }
        let mut parameters = path_params(op.path);
        for (name, ty) in op.query {
            parameters.push(json!({"name": name, "in": "query", "required": false, "schema": {"type": ty}}));
        }
        let mut operation = json!({
            "tags": [op.tag],
            "summary": op.summary,
            "operationId": operation_id(&op.method, op.path),
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = op.body {
            operation["requestBody"] = json!({
                "required": false,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}},
            });
        }
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Stategraph Server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A LangGraph-Server-compatible API over Stategraph graphs. Errors are `{\"detail\": ...}`.",
        },
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    })
}

/// The component schemas: what the handlers read and write (unknown request fields are ignored,
/// so request schemas allow additional properties).
fn components() -> Json {
    let obj = json!({"type": "object"});
    let any = json!({});
    let nullable_str = json!({"type": "string", "nullable": true});
    let strs = json!({"type": "array", "items": {"type": "string"}});
    let node_list =
        json!({"oneOf": [{"type": "string", "enum": ["*"]}, {"type": "array", "items": {"type": "string"}}]});
    let stream_mode_enum =
        json!(["values", "updates", "messages", "messages-tuple", "custom", "debug", "events", "tasks", "checkpoints"]);
    let uint = json!({"type": "integer", "minimum": 0});
    let mut m = Map::new();
    m.insert("Object".into(), json!(obj));
    m.insert(
        "ErrorResponse".into(),
        json!({"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}),
    );
    m.insert(
        "Ok".into(),
        json!({"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}, "services": obj}}),
    );
    m.insert("Info".into(), json!({"type": "object", "required": ["version", "flags"], "properties": {"version": {"type": "string"}, "flags": obj, "host": obj}}));
    m.insert("Assistant".into(), json!({
            "type": "object",
            "required": ["assistant_id", "graph_id", "config", "metadata", "name", "created_at", "updated_at", "version"],
            "properties": {
                "assistant_id": {"type": "string", "format": "uuid"}, "graph_id": {"type": "string"},
                "config": obj, "context": obj, "metadata": obj, "name": {"type": "string"},
                "created_at": {"type": "string"}, "updated_at": {"type": "string"},
                "version": {"type": "integer"}, "description": nullable_str,
            },
        }));
    m.insert(
        "AssistantCreate".into(),
        json!({
            "type": "object", "required": ["graph_id"],
            "properties": {
                "assistant_id": {"type": "string", "format": "uuid"}, "graph_id": {"type": "string"},
                "config": obj, "context": obj, "metadata": obj, "name": {"type": "string"},
                "description": nullable_str, "if_exists": {"type": "string", "enum": ["raise", "do_nothing"]},
            },
        }),
    );
    m.insert(
        "AssistantPatch".into(),
        json!({
            "type": "object",
            "properties": {
                "graph_id": {"type": "string"}, "config": obj, "context": obj, "metadata": obj,
                "name": {"type": "string"}, "description": nullable_str,
            },
        }),
    );
    m.insert(
        "AssistantSearch".into(),
        json!({
            "type": "object",
            "properties": {
                "graph_id": {"type": "string"}, "name": {"type": "string"}, "metadata": obj,
                "limit": uint, "offset": uint,
            },
        }),
    );
    m.insert(
        "AssistantVersionsSearch".into(),
        json!({"type": "object", "properties": {"metadata": obj, "limit": uint, "offset": uint}}),
    );
    m.insert(
        "AssistantLatest".into(),
        json!({"type": "object", "properties": {"version": {"type": "integer", "minimum": 1}}}),
    );
    m.insert("GraphDrawing".into(), json!({"type": "object", "required": ["nodes", "edges"], "properties": {"nodes": {"type": "array", "items": obj}, "edges": {"type": "array", "items": obj}}}));
    m.insert(
        "GraphSchemas".into(),
        json!({
            "type": "object", "required": ["graph_id"],
            "properties": {
                "graph_id": {"type": "string"}, "input_schema": any, "output_schema": any, "state_schema": any,
                "config_schema": any, "context_schema": any,
            },
        }),
    );
    m.insert(
        "Thread".into(),
        json!({
            "type": "object",
            "required": ["thread_id", "created_at", "updated_at", "metadata", "status", "config"],
            "properties": {
                "thread_id": {"type": "string", "format": "uuid"}, "created_at": {"type": "string"},
                "updated_at": {"type": "string"}, "state_updated_at": {"type": "string"}, "metadata": obj,
                "status": {"type": "string", "enum": ["idle", "busy", "interrupted", "error"]},
                "config": obj, "values": any, "error": any, "interrupts": obj,
            },
        }),
    );
    m.insert(
        "ThreadCreate".into(),
        json!({
            "type": "object",
            "properties": {
                "thread_id": {"type": "string", "format": "uuid"}, "metadata": obj,
                "if_exists": {"type": "string", "enum": ["raise", "do_nothing"]},
            },
        }),
    );
    m.insert("ThreadPatch".into(), json!({"type": "object", "properties": {"metadata": obj}}));
    m.insert("ThreadSearch".into(), json!({
            "type": "object",
            "properties": {
                "metadata": obj, "values": obj, "status": {"type": "string", "enum": ["idle", "busy", "interrupted", "error"]},
                "ids": strs, "limit": uint, "offset": uint,
                "sort_by": {"type": "string", "enum": ["thread_id", "status", "created_at", "updated_at"]},
                "sort_order": {"type": "string", "enum": ["asc", "desc"]}, "select": strs,
            },
        }));
    m.insert("Checkpoint".into(), json!({
            "type": "object",
            "properties": {"checkpoint_id": nullable_str, "thread_id": {"type": "string"}, "checkpoint_ns": {"type": "string"}},
        }));
    m.insert("ThreadState".into(), json!({
            "type": "object",
            "required": ["values", "next", "tasks"],
            "properties": {
                "values": any, "next": strs, "tasks": {"type": "array", "items": obj},
                "metadata": {"type": "object", "nullable": true}, "created_at": nullable_str,
                "checkpoint": {"type": "object", "nullable": true}, "parent_checkpoint": {"type": "object", "nullable": true},
                "interrupts": {"type": "array", "items": obj}, "checkpoint_id": nullable_str, "parent_checkpoint_id": nullable_str,
            },
        }));
    m.insert("ThreadStateUpdate".into(), json!({
            "type": "object",
            "properties": {"values": any, "as_node": {"type": "string"}, "checkpoint_id": {"type": "string"}, "checkpoint": obj},
        }));
    m.insert("ThreadStateUpdateResponse".into(), json!({"type": "object", "required": ["checkpoint"], "properties": {"checkpoint": obj, "configurable": obj, "checkpoint_id": nullable_str}}));
    m.insert("ThreadStateCheckpoint".into(), json!({"type": "object", "required": ["checkpoint"], "properties": {"checkpoint": obj, "subgraphs": {"type": "boolean"}}}));
    m.insert(
        "ThreadHistory".into(),
        json!({"type": "object", "properties": {"limit": uint, "before": any, "metadata": obj}}),
    );
    m.insert("Run".into(), json!({
            "type": "object",
            "required": ["run_id", "thread_id", "assistant_id", "status", "created_at", "updated_at"],
            "properties": {
                "run_id": {"type": "string", "format": "uuid"}, "thread_id": {"type": "string", "format": "uuid"},
                "assistant_id": {"type": "string", "format": "uuid"}, "metadata": obj,
                "status": {"type": "string", "enum": ["pending", "running", "success", "error", "timeout", "interrupted"]},
                "kwargs": obj, "multitask_strategy": {"type": "string"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"},
            },
        }));
    m.insert("RunCreate".into(), json!({
            "type": "object",
            "required": ["assistant_id"],
            "properties": {
                "assistant_id": {"type": "string", "description": "An assistant id, or a graph id"},
                "input": any, "command": {"type": "object", "nullable": true, "properties": {"resume": any, "update": any, "goto": any}},
                "stream_mode": {"oneOf": [{"type": "string", "enum": stream_mode_enum}, {"type": "array", "items": {"type": "string", "enum": stream_mode_enum}}]},
                "stream_subgraphs": {"type": "boolean"}, "stream_resumable": {"type": "boolean"},
                "config": obj, "context": obj, "metadata": obj, "checkpoint_id": {"type": "string"}, "checkpoint": obj,
                "interrupt_before": node_list, "interrupt_after": node_list,
                "multitask_strategy": {"type": "string", "enum": ["reject", "interrupt", "rollback", "enqueue"]},
                "if_not_exists": {"type": "string", "enum": ["reject", "create"]},
                "on_disconnect": {"type": "string", "enum": ["cancel", "continue"]},
                "durability": {"type": "string", "enum": ["sync", "async", "exit"]},
            },
        }));
    Json::Object(m)
}

/// `GET /docs`: a plain page listing the operations (no script, nothing fetched from elsewhere).
pub(crate) fn docs_page(ops: &[Op]) -> String {
    let mut rows = String::new();
    for op in ops {
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>\n",
            op.method,
            op.path.replace('<', "&lt;"),
            op.tag,
            op.summary
        ));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Stategraph Server API</title></head><body>\
         <h1>Stategraph Server API</h1><p>The machine-readable description is <a href=\"/openapi.json\">/openapi.json</a>.</p>\
         <table><thead><tr><th>Method</th><th>Path</th><th>Group</th><th>What</th></tr></thead><tbody>\n{rows}</tbody></table></body></html>"
    )
}
