//! The HTTP routes: LangGraph Server's Tier-1 API (and a few cheap Tier-2 routes).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use serde_json::{Value as Json, json};
use stategraph_core::checkpoint::{CheckpointConfig, ListFilter};
use stategraph_core::{StateSnapshot, TaskSnapshot, Value};
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

use crate::error::{ApiResult, ServerError, detail};
use crate::graphs::GraphEntry;
use crate::runs::{self, RunRequest, parse_checkpoint_id};
use crate::sse::{self, SseOptions};
use crate::state::AppState;
use crate::store::Thread;

type Shared = State<Arc<AppState>>;

/// Builds the router over a shared state; `extra` routes (the studio's) get the same auth and CORS.
pub(crate) fn router(state: Arc<AppState>, extra: Router<Arc<AppState>>) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::DELETE,
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PATCH,
            Method::POST,
            Method::PUT,
        ])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            header::HeaderName::from_static("x-pagination-total"),
            header::HeaderName::from_static("x-pagination-next"),
            header::CONTENT_LOCATION,
        ])
        .allow_private_network(true)
        .max_age(std::time::Duration::from_secs(600));
    let mut router = Router::new();
    for (_, path, method_router) in route_table() {
        router = router.route(path, method_router);
    }
    router
        .merge(extra)
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async { detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed") })
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn(request_span))
        .layer(cors)
        .layer(middleware::from_fn(private_network))
        .with_state(state)
}

/// Every error is answered as `{"detail": ...}`, as LangGraph's server does. axum's extractors
/// reject some requests with plain text (a path segment that is not UTF-8 once decoded, say): such
/// answers are rewritten here, keeping their status and other headers.
async fn json_errors(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let status = res.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body was never read, so the connection cannot carry another request
        // and is closed after this answer. Saying so keeps a client that pools connections (the
        // SDKs do) from sending its next request into the closing one.
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("Error").to_owned(),
        t => t.to_owned(),
    };
    let rewritten = detail(status, message);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, rewritten.into_body())
}

type Route = (Method, &'static str, MethodRouter<Arc<AppState>>);

/// Every route, one method each (routes on the same path merge). The router and
/// `/openapi.json` are both built from this table.
pub(crate) fn route_table() -> Vec<Route> {
    use Method as M;
    vec![
        (M::GET, "/ok", get(ok)),
        (M::GET, "/info", get(info)),
        (M::GET, "/openapi.json", get(openapi_json)),
        (M::GET, "/docs", get(docs)),
        (M::POST, "/assistants", post(assistants_create)),
        (M::POST, "/assistants/search", post(assistants_search)),
        (M::POST, "/assistants/count", post(assistants_count)),
        (M::GET, "/assistants/{assistant_id}", get(assistant_get)),
        (M::PATCH, "/assistants/{assistant_id}", patch(assistant_patch)),
        (M::DELETE, "/assistants/{assistant_id}", delete(assistant_delete)),
        (M::POST, "/assistants/{assistant_id}/versions", post(assistant_versions)),
        (M::POST, "/assistants/{assistant_id}/latest", post(assistant_latest)),
        (M::GET, "/assistants/{assistant_id}/graph", get(assistant_graph)),
        (M::GET, "/assistants/{assistant_id}/schemas", get(assistant_schemas)),
        (M::GET, "/assistants/{assistant_id}/subgraphs", get(assistant_subgraphs)),
        (M::POST, "/threads", post(threads_create)),
        (M::POST, "/threads/search", post(threads_search)),
        (M::POST, "/threads/count", post(threads_count)),
        (M::GET, "/threads/{thread_id}", get(thread_get)),
        (M::PATCH, "/threads/{thread_id}", patch(thread_patch)),
        (M::DELETE, "/threads/{thread_id}", delete(thread_delete)),
        (M::POST, "/threads/{thread_id}/copy", post(thread_copy)),
        (M::GET, "/threads/{thread_id}/state", get(thread_state)),
        (M::POST, "/threads/{thread_id}/state", post(thread_update_state)),
        (M::POST, "/threads/{thread_id}/state/checkpoint", post(thread_state_checkpoint)),
        (M::GET, "/threads/{thread_id}/state/{checkpoint_id}", get(thread_state_at)),
        (M::POST, "/threads/{thread_id}/history", post(thread_history_post)),
        (M::GET, "/threads/{thread_id}/history", get(thread_history_get)),
        (M::POST, "/threads/{thread_id}/runs", post(runs_create)),
        (M::GET, "/threads/{thread_id}/runs", get(runs_list)),
        (M::POST, "/threads/{thread_id}/runs/stream", post(runs_stream)),
        (M::POST, "/threads/{thread_id}/runs/wait", post(runs_wait)),
        (M::GET, "/threads/{thread_id}/runs/{run_id}", get(run_get)),
        (M::DELETE, "/threads/{thread_id}/runs/{run_id}", delete(run_delete)),
        (M::GET, "/threads/{thread_id}/runs/{run_id}/join", get(run_join)),
        (M::GET, "/threads/{thread_id}/runs/{run_id}/stream", get(run_join_stream)),
        (M::POST, "/threads/{thread_id}/runs/{run_id}/cancel", post(run_cancel)),
        (M::POST, "/runs/stream", post(stateless_stream)),
        (M::POST, "/runs/wait", post(stateless_wait)),
    ]
}

/// Every request runs in a `http.request` span (method, path); runs started by it are its
/// children, so a run's log lines carry the request that started it.
async fn request_span(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let span = tracing::info_span!("http.request", method = %req.method(), path = %req.uri().path());
    let res = next.run(req).instrument(span.clone()).await;
    let status = res.status();
    if status.is_server_error() {
        span.in_scope(|| tracing::warn!(status = status.as_u16(), "request failed"));
    } else {
        span.in_scope(|| tracing::debug!(status = status.as_u16(), "request done"));
    }
    res
}

/// Preflights allow private-network access whether or not the browser asked (as `langgraph dev`
/// does), so a page on a public origin can reach a server on the user's machine.
async fn private_network(req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS;
    let mut res = next.run(req).await;
    if preflight {
        res.headers_mut().insert("access-control-allow-private-network", HeaderValue::from_static("true"));
    }
    res
}

/// Token check (only when a token is configured). Preflights pass: browsers send them without
/// credentials, and the CORS layer answers them before this runs.
async fn auth(State(state): Shared, req: Request, next: Next) -> Response {
    if let Some(token) = &state.auth_token
        && req.method() != Method::OPTIONS
        && req.uri().path() != "/ok"
    {
        let headers = req.headers();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let api_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        if !(constant_time_eq(bearer, token) || constant_time_eq(api_key, token)) {
            return ServerError::Unauthorized("Missing or invalid authentication token".into()).into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(given: Option<&str>, want: &str) -> bool {
    let Some(given) = given else { return false };
    let (a, b) = (given.as_bytes(), want.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------------------------
// Request helpers

/// A JSON request body: at most `max_body_bytes` (413), at most `max_json_depth` deep (422),
/// empty = `null`, not JSON = 422 `Invalid JSON in request body`.
struct Body_(Json);

impl FromRequest<Arc<AppState>> for Body_ {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let limit = state.limits.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ServerError::TooLarge(format!("Request body is larger than {limit} bytes")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body_(Json::Null));
        }
        if json_depth(&bytes) > state.limits.max_json_depth {
            return Err(ServerError::Unprocessable(format!(
                "Request body is nested deeper than {} levels",
                state.limits.max_json_depth
            )));
        }
        serde_json::from_slice(&bytes)
            .map(Body_)
            .map_err(|_| ServerError::Unprocessable("Invalid JSON in request body".into()))
    }
}

/// The deepest nesting of arrays and objects in JSON text (strings skipped), without parsing.
fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Query parameters (repeated keys kept).
struct Query(Vec<(String, String)>);

impl Query {
    fn from(raw: Option<String>) -> Query {
        Query(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }
    fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "1"))
    }
    fn number(&self, key: &str, default: usize) -> ApiResult<usize> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => {
                v.parse().map_err(|_| ServerError::Unprocessable(format!("`{key}` must be a non-negative integer")))
            }
        }
    }
}

fn uuid_id(kind: &str, id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ServerError::Unprocessable(format!("Invalid {kind} ID: must be a UUID")))
}

fn body_usize(body: &Json, key: &str, default: usize) -> ApiResult<usize> {
    match body.get(key) {
        None | Some(Json::Null) => Ok(default),
        Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
            ServerError::Unprocessable(format!("{v} is not valid for `{key}`: expected an integer >= 0"))
        }),
    }
}

fn body_object(body: &Json, key: &str) -> ApiResult<Option<serde_json::Map<String, Json>>> {
    match body.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(o)) => Ok(Some(o.clone())),
        Some(v) => Err(ServerError::Unprocessable(format!("{v} is not valid for `{key}`: expected an object"))),
    }
}

fn require_object(body: &Json) -> ApiResult<()> {
    if body.is_null() || body.is_object() {
        Ok(())
    } else {
        Err(ServerError::Unprocessable("the request body must be a JSON object".into()))
    }
}

/// Whether `have` contains `want` (objects by key, recursively; anything else by equality).
fn contains(have: &Json, want: &Json) -> bool {
    match (have, want) {
        (Json::Object(h), Json::Object(w)) => w.iter().all(|(k, v)| h.get(k).is_some_and(|hv| contains(hv, v))),
        _ => have == want,
    }
}

fn json_response(status: StatusCode, body: &Json) -> Response {
    let mut res = Response::new(Body::from(sse::json_text(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

fn paginated(items: Vec<Json>, total: usize, offset: usize, limit: usize) -> Response {
    let mut res = json_response(StatusCode::OK, &Json::Array(items));
    res.headers_mut().insert("x-pagination-total", HeaderValue::from(total));
    if offset + limit < total {
        res.headers_mut().insert("x-pagination-next", HeaderValue::from(offset + limit));
    }
    res
}

fn with_header(mut res: Response, name: &'static str, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().insert(name, v);
    }
    res
}

// ---------------------------------------------------------------------------------------------
// System

async fn ok() -> Response {
    json_response(StatusCode::OK, &json!({"ok": true, "services": {}}))
}

/// The OpenAPI document (built once: the routes never change while serving).
async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = DOC.get_or_init(|| sse::json_text(&crate::openapi::document(&crate::openapi::operations())));
    let mut res = Response::new(Body::from(text.as_str()));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

async fn docs() -> Response {
    let mut res = Response::new(Body::from(crate::openapi::docs_page(&crate::openapi::operations())));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    res
}

async fn info() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "version": env!("CARGO_PKG_VERSION"),
            "langgraph_py_version": null,
            "stategraph_version": env!("CARGO_PKG_VERSION"),
            "flags": {"assistants": true, "crons": false, "langsmith": false},
            "host": {"kind": "self-hosted", "project_id": null, "host_revision_id": null, "revision_id": null, "tenant_id": null},
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Assistants

fn unknown_graph(state: &AppState, g: &str) -> ServerError {
    ServerError::NotFound(format!("Graph '{g}' not found. Expected one of: {:?}", state.graphs.ids()))
}

async fn matching_assistants(state: &AppState, body: &Json) -> ApiResult<Vec<Json>> {
    require_object(body)?;
    if let Some(g) = body.get("graph_id").and_then(Json::as_str)
        && state.graphs.by_graph_id(g).is_none()
    {
        return Err(unknown_graph(state, g));
    }
    let metadata = body_object(body, "metadata")?.map(Json::Object);
    let name = body.get("name").and_then(Json::as_str);
    // Assistants created through the API (newest first), then the system ones.
    let mut all: Vec<Json> =
        state.store.list_assistants().await?.iter().map(crate::store::Assistant::to_json).collect();
    all.extend(state.graphs.all().iter().map(|e| e.assistant_json()));
    Ok(all
        .into_iter()
        .filter(|a| body.get("graph_id").and_then(Json::as_str).is_none_or(|g| a["graph_id"] == g))
        .filter(|a| name.is_none_or(|n| a["name"].as_str().is_some_and(|an| an.contains(n))))
        .filter(|a| metadata.as_ref().is_none_or(|m| contains(&a["metadata"], m)))
        .collect())
}

async fn assistants_search(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    let all = matching_assistants(&state, &body).await?;
    let limit = body_usize(&body, "limit", 10)?;
    let offset = body_usize(&body, "offset", 0)?;
    let total = all.len();
    let page = all.into_iter().skip(offset).take(limit).collect();
    Ok(paginated(page, total, offset, limit))
}

async fn assistants_count(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &json!(matching_assistants(&state, &body).await?.len())))
}

/// The graph of an assistant (system or stored) and, for a stored one, its record.
async fn assistant(state: &AppState, id: &str) -> ApiResult<(Arc<GraphEntry>, Option<crate::store::Assistant>)> {
    let id = uuid_id("assistant", id)?;
    runs::resolve_assistant(state, &id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("Assistant with ID {id} not found")))
}

/// A stored assistant (system assistants cannot be changed: they follow their graph).
async fn stored_assistant(state: &AppState, id: &str) -> ApiResult<crate::store::Assistant> {
    let id = uuid_id("assistant", id)?;
    if let Ok(u) = uuid::Uuid::parse_str(&id)
        && state.graphs.all().iter().any(|e| e.assistant_id == u)
    {
        return Err(ServerError::Conflict(format!(
            "Assistant {id} is the system assistant of its graph: create an assistant to configure it"
        )));
    }
    state
        .store
        .get_assistant(&id)
        .await?
        .ok_or_else(|| ServerError::NotFound(format!("Assistant with ID {id} not found")))
}

fn opt_string(body: &Json, key: &str) -> ApiResult<Option<String>> {
    match body.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(ServerError::Unprocessable(format!("{v} is not valid for `{key}`: expected a string"))),
    }
}

async fn assistants_create(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    require_object(&body)?;
    let graph_id = opt_string(&body, "graph_id")?
        .ok_or_else(|| ServerError::Unprocessable("'graph_id' is a required property".into()))?;
    if state.graphs.by_graph_id(&graph_id).is_none() {
        return Err(unknown_graph(&state, &graph_id));
    }
    let assistant_id = match opt_string(&body, "assistant_id")? {
        Some(id) => uuid_id("assistant", &id)?,
        None => uuid::Uuid::new_v4().to_string(),
    };
    let if_exists = opt_string(&body, "if_exists")?.unwrap_or_else(|| "raise".into());
    if !matches!(if_exists.as_str(), "raise" | "do_nothing") {
        return Err(ServerError::Unprocessable(format!(
            "\"{if_exists}\" is not valid for `if_exists`: expected \"raise\" or \"do_nothing\""
        )));
    }
    let now = crate::time::now();
    let a = crate::store::Assistant {
        assistant_id: assistant_id.clone(),
        graph_id,
        config: Json::Object(body_object(&body, "config")?.unwrap_or_default()),
        context: Json::Object(body_object(&body, "context")?.unwrap_or_default()),
        metadata: Json::Object(body_object(&body, "metadata")?.unwrap_or_default()),
        name: opt_string(&body, "name")?.unwrap_or_else(|| "Untitled".into()),
        description: opt_string(&body, "description")?,
        version: 1,
        created_at: now.clone(),
        updated_at: now,
    };
    let system = state.graphs.all().iter().any(|e| e.assistant_id.to_string() == assistant_id);
    if !system && state.store.insert_assistant(&a).await? {
        return Ok(json_response(StatusCode::OK, &a.to_json()));
    }
    if if_exists == "do_nothing" {
        let (entry, stored) = assistant(&state, &assistant_id).await?;
        return Ok(json_response(
            StatusCode::OK,
            &stored.map(|a| a.to_json()).unwrap_or_else(|| entry.assistant_json()),
        ));
    }
    Err(ServerError::Conflict(format!("Assistant with ID {assistant_id} already exists")))
}

async fn assistant_get(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    let (entry, stored) = assistant(&state, &id).await?;
    Ok(json_response(StatusCode::OK, &stored.map(|a| a.to_json()).unwrap_or_else(|| entry.assistant_json())))
}

async fn assistant_patch(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    require_object(&body)?;
    let current = stored_assistant(&state, &id).await?;
    let mut next = current.clone();
    if let Some(g) = opt_string(&body, "graph_id")? {
        if state.graphs.by_graph_id(&g).is_none() {
            return Err(unknown_graph(&state, &g));
        }
        next.graph_id = g;
    }
    if let Some(c) = body_object(&body, "config")? {
        next.config = Json::Object(c);
    }
    if let Some(c) = body_object(&body, "context")? {
        next.context = Json::Object(c);
    }
    if let Some(m) = body_object(&body, "metadata")? {
        let mut merged = current.metadata.as_object().cloned().unwrap_or_default();
        merged.extend(m);
        next.metadata = Json::Object(merged);
    }
    if let Some(n) = opt_string(&body, "name")? {
        next.name = n;
    }
    if body.get("description").is_some() {
        next.description = opt_string(&body, "description")?;
    }
    let versions = state.store.assistant_versions(&current.assistant_id).await?;
    next.version = versions.iter().map(|v| v.version).max().unwrap_or(current.version) + 1;
    next.updated_at = crate::time::now();
    state.store.add_version(&next).await?;
    Ok(json_response(StatusCode::OK, &next.to_json()))
}

async fn assistant_delete(State(state): Shared, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let a = stored_assistant(&state, &id).await?;
    if Query::from(q).flag("delete_threads") {
        for t in state.store.list_threads().await? {
            if t.metadata.get("assistant_id").and_then(Json::as_str) == Some(a.assistant_id.as_str()) {
                runs::cancel_thread_runs(&state, &t.thread_id).await;
                state.saver.delete_thread(&t.thread_id).await.map_err(stategraph_core::Error::from)?;
                state.store.delete_thread(&t.thread_id).await?;
            }
        }
    }
    state.store.delete_assistant(&a.assistant_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn assistant_versions(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    require_object(&body)?;
    let a = stored_assistant(&state, &id).await?;
    let metadata = body_object(&body, "metadata")?.map(Json::Object);
    let limit = body_usize(&body, "limit", 10)?;
    let offset = body_usize(&body, "offset", 0)?;
    let list: Vec<Json> = state
        .store
        .assistant_versions(&a.assistant_id)
        .await?
        .iter()
        .filter(|v| metadata.as_ref().is_none_or(|m| contains(&v.metadata, m)))
        .skip(offset)
        .take(limit)
        .map(crate::store::Assistant::to_json)
        .collect();
    Ok(json_response(StatusCode::OK, &Json::Array(list)))
}

async fn assistant_latest(
    State(state): Shared,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    Body_(body): Body_,
) -> ApiResult<Response> {
    require_object(&body)?;
    let q = Query::from(q);
    let version = match body.get("version") {
        Some(v) if !v.is_null() => v.as_i64().ok_or_else(|| {
            ServerError::Unprocessable(format!("{v} is not valid for `version`: expected an integer"))
        })?,
        _ => q
            .get("version")
            .ok_or_else(|| ServerError::Unprocessable("'version' is a required property".into()))?
            .parse()
            .map_err(|_| ServerError::Unprocessable("`version` must be an integer".into()))?,
    };
    let a = stored_assistant(&state, &id).await?;
    let mut v = state
        .store
        .assistant_versions(&a.assistant_id)
        .await?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| ServerError::NotFound(format!("Assistant {} has no version {version}", a.assistant_id)))?;
    v.created_at = a.created_at.clone();
    v.updated_at = crate::time::now();
    state.store.set_current(&v).await?;
    Ok(json_response(StatusCode::OK, &v.to_json()))
}

async fn assistant_graph(State(state): Shared, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let (entry, _) = assistant(&state, &id).await?;
    let q = Query::from(q);
    let xray = q.flag("xray") || q.get("xray").and_then(|v| v.parse::<u32>().ok()).is_some_and(|n| n > 0);
    Ok(json_response(StatusCode::OK, &entry.drawing_json(xray)))
}

async fn assistant_schemas(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &assistant(&state, &id).await?.0.schemas_json()))
}

async fn assistant_subgraphs(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    assistant(&state, &id).await?;
    Ok(json_response(StatusCode::OK, &json!({})))
}

// ---------------------------------------------------------------------------------------------
// Threads

async fn load_thread(state: &AppState, id: &str) -> ApiResult<Thread> {
    let id = uuid_id("thread", id)?;
    state.store.get_thread(&id).await?.ok_or_else(|| ServerError::NotFound(format!("Thread with ID {id} not found")))
}

async fn threads_create(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    require_object(&body)?;
    let thread_id = match body.get("thread_id") {
        None | Some(Json::Null) => uuid::Uuid::now_v7().to_string(),
        Some(Json::String(s)) => uuid_id("thread", s)?,
        Some(v) => {
            return Err(ServerError::Unprocessable(format!("{v} is not valid for `thread_id`: expected a UUID")));
        }
    };
    let metadata = body_object(&body, "metadata")?.map(Json::Object).unwrap_or_else(|| json!({}));
    let if_exists = body.get("if_exists").and_then(Json::as_str).unwrap_or("raise");
    let thread = Thread::new(thread_id.clone(), metadata);
    if state.store.insert_thread(&thread).await? {
        return Ok(json_response(StatusCode::OK, &thread.to_json()));
    }
    if if_exists == "do_nothing" {
        let existing = load_thread(&state, &thread_id).await?;
        return Ok(json_response(StatusCode::OK, &existing.to_json()));
    }
    Err(ServerError::Conflict(format!("Thread with ID {thread_id} already exists")))
}

async fn matching_threads(state: &AppState, body: &Json) -> ApiResult<Vec<Json>> {
    require_object(body)?;
    let metadata = body_object(body, "metadata")?.map(Json::Object);
    let values = body_object(body, "values")?.map(Json::Object);
    let status = body.get("status").and_then(Json::as_str);
    let ids: Option<Vec<String>> = body
        .get("ids")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect());
    let mut threads: Vec<Thread> = state
        .store
        .list_threads()
        .await?
        .into_iter()
        .filter(|t| metadata.as_ref().is_none_or(|m| contains(&t.metadata, m)))
        .filter(|t| values.as_ref().is_none_or(|v| contains(&t.values, v)))
        .filter(|t| status.is_none_or(|s| t.status == s))
        .filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.thread_id)))
        .collect();
    let sort_by = body.get("sort_by").and_then(Json::as_str).unwrap_or("created_at");
    let desc = body.get("sort_order").and_then(Json::as_str).unwrap_or("desc") != "asc";
    // The store lists newest first; a stable sort keeps that order among equal keys.
    threads.sort_by(|a, b| {
        let key = |t: &Thread| match sort_by {
            "thread_id" => t.thread_id.clone(),
            "status" => t.status.clone(),
            "updated_at" => t.updated_at.clone(),
            _ => t.created_at.clone(),
        };
        let ord = key(a).cmp(&key(b));
        if desc { ord.reverse() } else { ord }
    });
    let select: Option<Vec<String>> = body
        .get("select")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect());
    Ok(threads
        .iter()
        .map(|t| {
            let j = t.to_json();
            match &select {
                Some(keys) => Json::Object(
                    j.as_object()
                        .map(|o| {
                            o.iter().filter(|(k, _)| keys.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
                        })
                        .unwrap_or_default(),
                ),
                None => j,
            }
        })
        .collect())
}

async fn threads_search(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    let all = matching_threads(&state, &body).await?;
    let limit = body_usize(&body, "limit", 10)?;
    let offset = body_usize(&body, "offset", 0)?;
    let total = all.len();
    Ok(paginated(all.into_iter().skip(offset).take(limit).collect(), total, offset, limit))
}

async fn threads_count(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &json!(matching_threads(&state, &body).await?.len())))
}

async fn thread_get(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &load_thread(&state, &id).await?.to_json()))
}

async fn thread_patch(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    require_object(&body)?;
    let mut thread = load_thread(&state, &id).await?;
    if let Some(extra) = body_object(&body, "metadata")? {
        if !thread.metadata.is_object() {
            thread.metadata = json!({});
        }
        if let Some(m) = thread.metadata.as_object_mut() {
            m.extend(extra);
        }
    }
    thread.updated_at = crate::time::now();
    state.store.update_thread(&thread).await?;
    Ok(json_response(StatusCode::OK, &thread.to_json()))
}

async fn thread_delete(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    let thread = load_thread(&state, &id).await?;
    runs::cancel_thread_runs(&state, &thread.thread_id).await;
    state.saver.delete_thread(&thread.thread_id).await.map_err(stategraph_core::Error::from)?;
    state.store.delete_thread(&thread.thread_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn thread_copy(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    let source = load_thread(&state, &id).await?;
    let new_id = uuid::Uuid::now_v7().to_string();
    state.saver.copy_thread(&source.thread_id, &new_id).await.map_err(stategraph_core::Error::from)?;
    let mut copy = Thread::new(new_id, source.metadata.clone());
    copy.values = source.values.clone();
    copy.config = source.config.clone();
    copy.interrupts = source.interrupts.clone();
    copy.error = source.error.clone();
    if source.status == "interrupted" {
        copy.status = source.status.clone();
    }
    state.store.insert_thread(&copy).await?;
    Ok(json_response(StatusCode::OK, &copy.to_json()))
}

/// The graph a thread's runs used (its metadata names it).
fn thread_graph(state: &AppState, thread: &Thread) -> Option<Arc<GraphEntry>> {
    thread.metadata.get("graph_id").and_then(Json::as_str).and_then(|g| state.graphs.by_graph_id(g))
}

fn checkpoint_json(c: &CheckpointConfig) -> Json {
    json!({
        "checkpoint_id": c.checkpoint_id.map(|i| i.to_string()),
        "thread_id": c.thread_id,
        "checkpoint_ns": c.checkpoint_ns,
    })
}

fn task_json(t: &TaskSnapshot) -> Json {
    let error = t.error.as_ref().map(|e| {
        let kind = e.get("type").and_then(Value::as_str).unwrap_or("Error");
        let message = e.get("message").and_then(Value::as_str).unwrap_or("");
        format!("{kind}({message:?})")
    });
    json!({
        "id": t.id,
        "name": t.name,
        "path": ["__pregel_pull", t.name],
        "error": error,
        "interrupts": t.interrupts.iter().map(|i| json!({"id": i.id, "value": i.value.to_json()})).collect::<Vec<_>>(),
        "checkpoint": t.state.as_ref().map(|s| checkpoint_json(&s.config)),
        "state": t.state.as_ref().map(|s| snapshot_json(s)),
        "result": t.result.as_ref().map(Value::to_json),
    })
}

/// A `ThreadState`.
fn snapshot_json(s: &StateSnapshot) -> Json {
    let has_checkpoint = s.config.checkpoint_id.is_some();
    json!({
        "values": s.values.to_json(),
        "next": s.next,
        "tasks": s.tasks.iter().map(task_json).collect::<Vec<_>>(),
        "metadata": s.metadata.as_ref().and_then(|m| m.to_value().ok()).map(|v| v.to_json()),
        "created_at": s.created_at,
        "checkpoint": has_checkpoint.then(|| checkpoint_json(&s.config)),
        "parent_checkpoint": s.parent_config.as_ref().map(checkpoint_json),
        "interrupts": s.interrupts.iter().map(|i| json!({"id": i.id, "value": i.value.to_json()})).collect::<Vec<_>>(),
        "checkpoint_id": s.config.checkpoint_id.map(|i| i.to_string()),
        "parent_checkpoint_id": s.parent_config.as_ref().and_then(|c| c.checkpoint_id).map(|i| i.to_string()),
    })
}

fn empty_state() -> Json {
    json!({
        "values": {}, "next": [], "tasks": [], "metadata": null, "created_at": null, "checkpoint": null,
        "parent_checkpoint": null, "interrupts": [], "checkpoint_id": null, "parent_checkpoint_id": null,
    })
}

async fn state_of(state: &AppState, id: &str, checkpoint: Option<&str>, subgraphs: bool) -> ApiResult<Json> {
    let thread = load_thread(state, id).await?;
    let Some(entry) = thread_graph(state, &thread) else { return Ok(empty_state()) };
    let mut config = CheckpointConfig::thread(&thread.thread_id);
    if let Some(c) = checkpoint {
        config = config.with_id(parse_checkpoint_id(c)?);
    }
    let snap = if subgraphs {
        entry.graph.get_state_with_subgraphs(&config).await?
    } else {
        entry.graph.get_state(&config).await?
    };
    if checkpoint.is_some() && snap.metadata.is_none() {
        return Err(ServerError::NotFound(format!("Checkpoint {} not found", checkpoint.unwrap_or_default())));
    }
    Ok(if snap.metadata.is_none() { empty_state() } else { snapshot_json(&snap) })
}

async fn thread_state(State(state): Shared, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::from(q);
    Ok(json_response(StatusCode::OK, &state_of(&state, &id, None, q.flag("subgraphs")).await?))
}

async fn thread_state_at(
    State(state): Shared,
    Path((id, checkpoint)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::from(q);
    Ok(json_response(StatusCode::OK, &state_of(&state, &id, Some(&checkpoint), q.flag("subgraphs")).await?))
}

/// A checkpoint id from `{"checkpoint_id": ...}`, `{"configurable": {"checkpoint_id": ...}}` or a
/// bare string.
fn checkpoint_id_in(v: Option<&Json>) -> Option<String> {
    let v = v?;
    v.as_str()
        .or_else(|| v.get("checkpoint_id").and_then(Json::as_str))
        .or_else(|| v.get("configurable").and_then(|c| c.get("checkpoint_id")).and_then(Json::as_str))
        .map(str::to_owned)
}

async fn thread_state_checkpoint(
    State(state): Shared,
    Path(id): Path<String>,
    Body_(body): Body_,
) -> ApiResult<Response> {
    require_object(&body)?;
    let checkpoint = checkpoint_id_in(body.get("checkpoint"))
        .ok_or_else(|| ServerError::Unprocessable("'checkpoint' with a 'checkpoint_id' is required".into()))?;
    let subgraphs = body.get("subgraphs").and_then(Json::as_bool).unwrap_or(false);
    Ok(json_response(StatusCode::OK, &state_of(&state, &id, Some(&checkpoint), subgraphs).await?))
}

async fn thread_update_state(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    require_object(&body)?;
    let thread = load_thread(&state, &id).await?;
    let entry = thread_graph(&state, &thread).ok_or_else(|| {
        ServerError::BadRequest(format!("Thread {} has no graph yet: start a run on it first", thread.thread_id))
    })?;
    if !state.store.active_runs(&thread.thread_id).await?.is_empty() {
        return Err(ServerError::Conflict("Thread is busy: a run is in progress".into()));
    }
    let mut config = CheckpointConfig::thread(&thread.thread_id);
    if let Some(c) = checkpoint_id_in(body.get("checkpoint_id")).or_else(|| checkpoint_id_in(body.get("checkpoint"))) {
        config = config.with_id(parse_checkpoint_id(&c)?);
    }
    let values = Value::from(body.get("values").cloned().unwrap_or(Json::Null));
    let as_node = body.get("as_node").and_then(Json::as_str);
    let saved = entry.graph.update_state(&config, values, as_node).await?;
    refresh_thread_values(&state, &entry, thread).await?;
    let cp = checkpoint_json(&saved);
    Ok(json_response(
        StatusCode::OK,
        &json!({"checkpoint": cp, "configurable": cp, "checkpoint_id": cp["checkpoint_id"]}),
    ))
}

/// After a state edit: the thread's values and status follow its latest checkpoint.
async fn refresh_thread_values(state: &AppState, entry: &GraphEntry, mut thread: Thread) -> ApiResult<()> {
    let snap = entry.graph.get_state(&CheckpointConfig::thread(&thread.thread_id)).await?;
    thread.values = snap.values.to_json();
    thread.status = if snap.next.is_empty() || snap.interrupts.is_empty() && thread.status == "idle" {
        "idle".into()
    } else {
        "interrupted".into()
    };
    let now = crate::time::now();
    thread.updated_at = now.clone();
    thread.state_updated_at = now;
    state.store.update_thread(&thread).await
}

async fn history(
    state: &AppState,
    id: &str,
    limit: usize,
    before: Option<String>,
    metadata: Option<Json>,
) -> ApiResult<Response> {
    let thread = load_thread(state, id).await?;
    let Some(entry) = thread_graph(state, &thread) else { return Ok(json_response(StatusCode::OK, &json!([]))) };
    let mut filter = ListFilter::default().limit(limit);
    if let Some(b) = before {
        filter = filter.before(parse_checkpoint_id(&b)?);
    }
    if let Some(m) = metadata.map(Value::from).and_then(|v| v.as_object().cloned()) {
        filter = filter.metadata(m);
    }
    let snaps = entry.graph.get_state_history(&CheckpointConfig::thread(&thread.thread_id), filter).await?;
    Ok(json_response(StatusCode::OK, &Json::Array(snaps.iter().map(snapshot_json).collect())))
}

async fn thread_history_post(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    require_object(&body)?;
    let limit = body_usize(&body, "limit", 10)?;
    let metadata = body_object(&body, "metadata")?.map(Json::Object);
    history(&state, &id, limit, checkpoint_id_in(body.get("before")), metadata).await
}

async fn thread_history_get(
    State(state): Shared,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::from(q);
    history(&state, &id, q.number("limit", 10)?, q.get("before").map(str::to_owned), None).await
}

// ---------------------------------------------------------------------------------------------
// Runs

fn run_urls(thread_id: &str, run_id: &str) -> (String, String) {
    (format!("/threads/{thread_id}/runs/{run_id}"), format!("/threads/{thread_id}/runs/{run_id}/stream"))
}

async fn runs_create(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    let thread_id = uuid_id("thread", &id)?;
    let req = RunRequest::parse(&body)?;
    let started = runs::start_run(&state, Some(&thread_id), req).await?;
    let (location, _) = run_urls(&thread_id, &started.run.run_id);
    Ok(with_header(json_response(StatusCode::OK, &started.run.to_json()), "content-location", &location))
}

fn sse_response(started: runs::Started, location: String, content_location: String, opts: SseOptions) -> Response {
    let body = sse::run_stream(started.handle, started.events, opts);
    sse_headers(Response::new(body), &location, &content_location)
}

fn sse_headers(mut res: Response, location: &str, content_location: &str) -> Response {
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    let res = with_header(res, "location", location);
    with_header(res, "content-location", content_location)
}

fn metadata_event(run_id: &str) -> bytes::Bytes {
    sse::frame("metadata", &json!({"run_id": run_id, "attempt": 1}).to_string(), None)
}

async fn runs_stream(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    let thread_id = uuid_id("thread", &id)?;
    let req = RunRequest::parse(&body)?;
    let cancel = req.on_disconnect_cancel;
    let started = runs::start_run(&state, Some(&thread_id), req).await?;
    let run_id = started.run.run_id.clone();
    let (content_location, location) = run_urls(&thread_id, &run_id);
    let opts = SseOptions {
        prelude: vec![metadata_first(&started, &run_id)],
        filter: None,
        cancel_on_disconnect: cancel,
        heartbeat: state.limits.heartbeat,
        last_seq: 0,
    };
    Ok(sse_response(started, location, content_location, opts))
}

fn metadata_first(started: &runs::Started, run_id: &str) -> bytes::Bytes {
    if started.handle.resumable {
        sse::frame(
            "metadata",
            &json!({"run_id": run_id, "attempt": 1}).to_string(),
            Some(&format!("{}-0", crate::time::now_millis())),
        )
    } else {
        metadata_event(run_id)
    }
}

async fn runs_wait(State(state): Shared, Path(id): Path<String>, Body_(body): Body_) -> ApiResult<Response> {
    let thread_id = uuid_id("thread", &id)?;
    let req = RunRequest::parse(&body)?;
    let cancel = req.on_disconnect_cancel;
    let started = runs::start_run(&state, Some(&thread_id), req).await?;
    let (content_location, _) = run_urls(&thread_id, &started.run.run_id);
    Ok(wait_response(&state, started.handle, &content_location, cancel))
}

fn wait_response(state: &AppState, handle: Arc<runs::RunHandle>, content_location: &str, cancel: bool) -> Response {
    let mut res = Response::new(sse::wait_body(handle, state.limits.heartbeat, cancel));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let res = with_header(res, "location", &format!("{content_location}/join"));
    with_header(res, "content-location", content_location)
}

async fn stateless_stream(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    let req = RunRequest::parse(&body)?;
    let cancel = req.on_disconnect_cancel;
    let started = runs::start_run(&state, None, req).await?;
    let run_id = started.run.run_id.clone();
    let opts = SseOptions {
        prelude: vec![metadata_first(&started, &run_id)],
        filter: None,
        cancel_on_disconnect: cancel,
        heartbeat: state.limits.heartbeat,
        last_seq: 0,
    };
    Ok(sse_response(started, format!("/runs/{run_id}/stream"), format!("/runs/{run_id}"), opts))
}

async fn stateless_wait(State(state): Shared, Body_(body): Body_) -> ApiResult<Response> {
    let req = RunRequest::parse(&body)?;
    let cancel = req.on_disconnect_cancel;
    let started = runs::start_run(&state, None, req).await?;
    let (content_location, _) = run_urls(&started.run.thread_id, &started.run.run_id);
    Ok(wait_response(&state, started.handle, &content_location, cancel))
}

async fn runs_list(State(state): Shared, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let thread = load_thread(&state, &id).await?;
    let q = Query::from(q);
    let limit = q.number("limit", 10)?;
    let offset = q.number("offset", 0)?;
    let status = q.get("status");
    let select = q.all("select");
    let runs: Vec<Json> = state
        .store
        .list_runs(&thread.thread_id)
        .await?
        .into_iter()
        .filter(|r| status.is_none_or(|s| r.status == s))
        .skip(offset)
        .take(limit)
        .map(|r| {
            let j = r.to_json();
            if select.is_empty() {
                return j;
            }
            Json::Object(
                j.as_object()
                    .map(|o| {
                        o.iter().filter(|(k, _)| select.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Json::Array(runs)))
}

async fn load_run(state: &AppState, thread_id: &str, run_id: &str) -> ApiResult<crate::store::Run> {
    let thread_id = uuid_id("thread", thread_id)?;
    let run_id = uuid_id("run", run_id)?;
    state.store.get_run(&thread_id, &run_id).await?.ok_or_else(|| ServerError::NotFound("Not Found".into()))
}

async fn run_get(State(state): Shared, Path((t, r)): Path<(String, String)>) -> ApiResult<Response> {
    Ok(json_response(StatusCode::OK, &load_run(&state, &t, &r).await?.to_json()))
}

async fn run_delete(State(state): Shared, Path((t, r)): Path<(String, String)>) -> ApiResult<Response> {
    let run = load_run(&state, &t, &r).await?;
    if let Some(h) = state.runs.get(&run.run_id) {
        h.cancel(runs::CancelAction::Interrupt);
        h.wait().await;
    } else if matches!(run.status.as_str(), "pending" | "running") {
        // Another server process runs it.
        runs::cancel_anywhere(&state, &run.run_id, runs::CancelAction::Interrupt).await;
        runs::wait_elsewhere(&state, &run.thread_id, &run.run_id).await?;
    }
    state.store.delete_run(&run.run_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The final body of a run that is no longer active: the thread's values, or its error.
async fn finished_body(state: &AppState, run: &crate::store::Run) -> ApiResult<Json> {
    let thread = load_thread(state, &run.thread_id).await?;
    if run.status == "error"
        && let Some(err) = thread.error.as_ref().filter(|e| !e.is_null())
    {
        return Ok(json!({"__error__": err}));
    }
    Ok(if thread.values.is_null() { json!({}) } else { thread.values })
}

async fn run_join(
    State(state): Shared,
    Path((t, r)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let run = load_run(&state, &t, &r).await?;
    let (content_location, _) = run_urls(&run.thread_id, &run.run_id);
    let cancel = Query::from(q).flag("cancel_on_disconnect");
    match state.runs.get(&run.run_id) {
        Some(h) => Ok(wait_response(&state, h, &content_location, cancel)),
        None => {
            // Finished, or running in another server process: wait for its final status.
            let run = runs::wait_elsewhere(&state, &run.thread_id, &run.run_id).await?.unwrap_or(run);
            let body = finished_body(&state, &run).await?;
            let res =
                with_header(json_response(StatusCode::OK, &body), "location", &format!("{content_location}/join"));
            Ok(with_header(res, "content-location", &content_location))
        }
    }
}

async fn run_join_stream(
    State(state): Shared,
    Path((t, r)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let run = load_run(&state, &t, &r).await?;
    let q = Query::from(q);
    let mut modes = q.all("stream_mode");
    if modes.len() == 1 && modes[0].starts_with('[') {
        modes = serde_json::from_str(&modes[0]).unwrap_or_default();
    }
    let (content_location, location) = run_urls(&run.thread_id, &run.run_id);
    let Some(handle) = state.runs.get(&run.run_id) else {
        // The run ended: nothing more will come.
        return Ok(sse_headers(Response::new(Body::empty()), &location, &content_location));
    };
    let rx = handle.events.subscribe();
    let last_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let filter = (!modes.is_empty()).then_some(modes);
    let mut prelude = Vec::new();
    if filter.is_none() && last_id.is_none() {
        prelude.push(metadata_event(&run.run_id));
    }
    let mut last_seq = 0;
    for f in handle.replay_after(last_id) {
        if let runs::Frame::Event { seq, id, name, mode, data } = f {
            last_seq = seq;
            if filter.as_ref().is_none_or(|m| m.contains(&mode)) {
                prelude.push(sse::frame(&name, &data, Some(&id)));
            }
        }
    }
    let opts = SseOptions {
        prelude,
        filter,
        cancel_on_disconnect: q.flag("cancel_on_disconnect"),
        heartbeat: state.limits.heartbeat,
        last_seq,
    };
    let body = sse::run_stream(handle, rx, opts);
    Ok(sse_headers(Response::new(body), &location, &content_location))
}

async fn run_cancel(
    State(state): Shared,
    Path((t, r)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let run = load_run(&state, &t, &r).await?;
    let q = Query::from(q);
    let action = runs::parse_action(q.get("action"))?;
    let wait = q.flag("wait");
    let handle = state.runs.get(&run.run_id);
    match &handle {
        Some(h) => h.cancel(action),
        None if matches!(run.status.as_str(), "pending" | "running") => {
            runs::cancel_anywhere(&state, &run.run_id, action).await;
        }
        None => {}
    }
    if !wait {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let (content_location, _) = run_urls(&run.thread_id, &run.run_id);
    let body = match handle {
        Some(h) => h.wait().await,
        None => {
            let run = runs::wait_elsewhere(&state, &run.thread_id, &run.run_id).await?.unwrap_or(run);
            finished_body(&state, &run).await?
        }
    };
    let res = with_header(json_response(StatusCode::OK, &body), "location", &format!("{content_location}/join"));
    Ok(with_header(res, "content-location", &content_location))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_in_the_openapi_document_and_nothing_else_is() {
        let mut mounted: Vec<(String, String)> =
            super::route_table().iter().map(|(m, p, _)| (m.to_string(), (*p).to_owned())).collect();
        let mut documented: Vec<(String, String)> =
            crate::openapi::operations().iter().map(|o| (o.method.to_string(), o.path.to_owned())).collect();
        mounted.sort();
        documented.sort();
        let missing: Vec<_> = mounted.iter().filter(|r| !documented.contains(r)).collect();
        let extra: Vec<_> = documented.iter().filter(|r| !mounted.contains(r)).collect();
        assert!(missing.is_empty(), "mounted routes missing from /openapi.json: {missing:?}");
        assert!(extra.is_empty(), "documented routes that are not mounted: {extra:?}");
        let doc = crate::openapi::document(&crate::openapi::operations());
        let ops: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(ops, mounted.len());
    }

    #[test]
    fn json_depth_counts_nesting_outside_strings() {
        assert_eq!(super::json_depth(b"{\"a\": [1, {\"b\": \"[[[\"}]}"), 3);
        assert_eq!(super::json_depth(b"\"\\\"[\""), 0);
        assert_eq!(super::json_depth(b"1"), 0);
    }
}
