//! `http`: one HTTP request with templated URL, headers and body; the JSON response goes to a
//! state key. Hosts are denied unless the host application allows them ([`HttpPolicy`]): a spec
//! cannot widen its own reach.
//!
//! ```yaml
//! - id: lookup
//!   kind: http
//!   config:
//!     method: POST                     # GET (default), POST, PUT, PATCH or DELETE
//!     url: "https://api.example.com/tickets/{{ ticket_id }}"
//!     headers: {x-request-id: "{{ request_id }}"}
//!     body: '{"query": {{ question | tojson }}}'   # sent as is; JSON content type unless set
//!     timeout_ms: 5000                 # at most the policy's max_timeout
//!     key: ticket                      # state key receiving the parsed JSON response
//! ```

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::{Map, Value};
use stategraph_core::{BoxNode, NodeContext, NodeError, State};

use super::template::Templates;
use super::{collect, optional_str, required_str, state_key, timeout_ms, unknown_fields};
use crate::problem::{Code, join};
use crate::registry::{ConfigError, NodeKind};
use crate::spec::GraphSpec;

pub(crate) const FIELDS: &[&str] = &["method", "url", "headers", "body", "timeout_ms", "key"];
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What `http` nodes may do, decided by the host application.
///
/// ```
/// use stategraph_spec::{Http, HttpPolicy, NodeKindRegistry};
/// let policy = HttpPolicy::default().allow_host("api.example.com").allow_host("*.internal.example");
/// assert!(policy.allows("api.example.com") && policy.allows("a.internal.example"));
/// assert!(!policy.allows("example.com"));
/// let mut registry = NodeKindRegistry::with_builtins();
/// registry.register("http", Http::new(policy));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Host names (or IP addresses) requests may go to; `*.example.com` allows every subdomain
    /// of `example.com`. Empty (the default) = no request is allowed.
    pub allowed_hosts: Vec<String>,
    /// Longest a request may take; a node's `timeout_ms` cannot exceed it (default 30 s).
    pub max_timeout: Duration,
    /// Largest response body read, in bytes (default 10 MiB).
    pub max_response_bytes: usize,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy { allowed_hosts: Vec::new(), max_timeout: Duration::from_secs(30), max_response_bytes: 10 << 20 }
    }
}

impl HttpPolicy {
    /// Also allows `host`.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// Whether requests to `host` are allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed_hosts.iter().any(|allowed| match allowed.strip_prefix("*.") {
            Some(domain) => {
                host.len() > domain.len() + 1
                    && host.to_ascii_lowercase().ends_with(&format!(".{}", domain.to_ascii_lowercase()))
            }
            None => allowed.eq_ignore_ascii_case(host),
        })
    }

    /// Why `url` may not be requested, if it may not.
    fn check(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("only http and https URLs are allowed, not `{}`", url.scheme()));
        }
        let host = url.host_str().unwrap_or_default();
        if self.allows(host) {
            Ok(())
        } else if self.allowed_hosts.is_empty() {
            Err(format!("host `{host}` is not allowed: no host is allowed (the host application lists them)"))
        } else {
            Err(format!("host `{host}` is not allowed; allowed hosts: {}", self.allowed_hosts.join(", ")))
        }
    }
}

/// The `http` kind, with the policy its requests obey.
#[derive(Clone, Debug)]
pub struct Http {
    policy: Arc<HttpPolicy>,
}

impl Http {
    /// Requests obey `policy`.
    pub fn new(policy: HttpPolicy) -> Self {
        Http { policy: Arc::new(policy) }
    }

    /// Allows no host: the kind [`NodeKindRegistry::with_builtins`](crate::NodeKindRegistry)
    /// registers, so that specs validate but reach nothing until the host allows it.
    pub fn deny_all() -> Self {
        Self::new(HttpPolicy::default())
    }
}

/// Everything a request needs, read from a validated config.
struct Request {
    method: Method,
    headers: Vec<String>,
    has_body: bool,
    json_content: bool,
    timeout: Duration,
    key: Arc<str>,
}

impl NodeKind for Http {
    fn info(&self) -> Option<crate::registry::KindInfo> {
        Some(super::info::http())
    }

    fn validate(&self, config: &Map<String, Value>, spec: &GraphSpec) -> Vec<ConfigError> {
        let mut errors = unknown_fields("http", config, FIELDS);
        if let Some(Some(m)) = collect(optional_str(config, "method"), &mut errors)
            && !METHODS.contains(&m.to_ascii_uppercase().as_str())
        {
            errors.push(ConfigError::new("/method", format!("unknown method `{m}`; expected {}", METHODS.join(", "))));
        }
        if let Some(url) = collect(required_str(config, "url", "the URL, a template"), &mut errors) {
            template_error(url, "/url", &mut errors);
        }
        match config.get("headers") {
            None => {}
            Some(Value::Object(headers)) => {
                for (name, value) in headers {
                    let at = join("/headers", name);
                    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        errors.push(ConfigError::new(&at, format!("`{name}` is not a valid header name")));
                    }
                    match value {
                        Value::String(v) => template_error(v, &at, &mut errors),
                        _ => errors.push(ConfigError::new(at, "a header value must be a string (a template)")),
                    }
                }
            }
            Some(_) => errors.push(ConfigError::new("/headers", "`headers` must be an object of name → template")),
        }
        if let Some(Some(body)) = collect(optional_str(config, "body"), &mut errors) {
            template_error(body, "/body", &mut errors);
        }
        if let Some(Some(t)) = collect(timeout_ms(config), &mut errors)
            && t > self.policy.max_timeout
        {
            errors.push(ConfigError::new(
                "/timeout_ms",
                format!("`timeout_ms` is over the host's limit of {} ms", self.policy.max_timeout.as_millis()),
            ));
        }
        if let Some(key) = collect(required_str(config, "key", "the state key the response is written to"), &mut errors)
        {
            errors.extend(state_key(spec, "/key", key));
        }
        errors
    }

    fn build(&self, node_id: &str, config: &Map<String, Value>) -> Result<BoxNode, ConfigError> {
        let url = required_str(config, "url", "")?;
        let mut sources: Vec<(String, &str)> = vec![("url".into(), url)];
        let mut header_names = Vec::new();
        if let Some(Value::Object(headers)) = config.get("headers") {
            for (name, value) in headers {
                sources.push((format!("header:{name}"), value.as_str().unwrap_or_default()));
                header_names.push(name.clone());
            }
        }
        let body = optional_str(config, "body")?;
        if let Some(body) = body {
            sources.push(("body".into(), body));
        }
        let templates = Templates::new(sources.iter().map(|(n, s)| (n.as_str(), *s)))
            .map_err(|(name, m)| ConfigError::new(pointer_of(&name), m).with_code(Code::Script))?;
        let method = optional_str(config, "method")?.unwrap_or("GET").to_ascii_uppercase();
        let request = Arc::new(Request {
            method: Method::from_bytes(method.as_bytes()).map_err(|e| ConfigError::new("/method", e.to_string()))?,
            json_content: !header_names.iter().any(|h| h.eq_ignore_ascii_case("content-type")),
            headers: header_names,
            has_body: body.is_some(),
            timeout: timeout_ms(config)?.unwrap_or(self.policy.max_timeout).min(self.policy.max_timeout),
            key: Arc::from(required_str(config, "key", "")?),
        });
        let policy = self.policy.clone();
        let redirect_policy = policy.clone();
        let client = reqwest::Client::builder()
            // A redirect must not lead out of the allow-list.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    attempt.error("more than 5 redirects")
                } else if let Err(e) = redirect_policy.check(attempt.url()) {
                    attempt.error(format!("redirected to a URL that is not allowed: {e}"))
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| ConfigError::new("", format!("cannot create the HTTP client: {e}")))?;
        let node: Arc<str> = Arc::from(node_id);
        Ok(Arc::new(move |state: State, _ctx: NodeContext| {
            let prepared = prepare(&templates, &request, &policy, &client, &state);
            let (node, request, max_bytes) = (node.clone(), request.clone(), policy.max_response_bytes);
            async move {
                let (url, builder) = prepared.map_err(|m| fail(&node, &m).with_retryable(false))?;
                let what = format!("{} {url}", request.method);
                let response = builder.send().await.map_err(|e| send_error(&node, &what, &request, e))?;
                let status = response.status();
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("no content type")
                    .to_owned();
                let bytes =
                    read_limited(response, max_bytes).await.map_err(|m| fail(&node, &format!("{what}: {m}")))?;
                if !status.is_success() {
                    let retryable = status.is_server_error() || status.as_u16() == 429;
                    return Err(fail(&node, &format!("{what} answered {status}: {}", excerpt(&bytes)))
                        .with_retryable(retryable));
                }
                let json: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    fail(
                        &node,
                        &format!(
                            "the response to {what} is not JSON ({content_type}): {e}; it starts {}",
                            excerpt(&bytes)
                        ),
                    )
                    .with_retryable(false)
                })?;
                let mut update = stategraph_core::Map::new();
                update.insert(request.key.clone(), stategraph_core::Value::from(json));
                Ok::<_, NodeError>(stategraph_core::Value::from(update))
            }
        }))
    }
}

/// The pointer of a template by its name in [`Templates`].
fn pointer_of(name: &str) -> String {
    match name.strip_prefix("header:") {
        Some(h) => join("/headers", h),
        None => format!("/{name}"),
    }
}

fn template_error(source: &str, at: &str, errors: &mut Vec<ConfigError>) {
    if let Err(m) = Templates::check(source) {
        errors.push(ConfigError::new(at, m).with_code(Code::Script));
    }
}

fn fail(node: &str, message: &str) -> NodeError {
    NodeError::new(format!("http node `{node}`: {message}")).with_kind("HTTPError")
}

/// Renders the request and checks its URL against the policy (before anything is sent).
fn prepare(
    templates: &Templates,
    request: &Request,
    policy: &HttpPolicy,
    client: &reqwest::Client,
    state: &State,
) -> Result<(Url, reqwest::RequestBuilder), String> {
    let render = |name: &str| templates.render(name, state).map_err(|m| format!("rendering `{name}` failed{m}"));
    let text = render("url")?;
    let url = Url::parse(text.trim()).map_err(|e| format!("`{}` is not a valid URL: {e}", text.trim()))?;
    policy.check(&url)?;
    let mut builder = client.request(request.method.clone(), url.clone()).timeout(request.timeout);
    for name in &request.headers {
        builder = builder.header(name.as_str(), render(&format!("header:{name}"))?);
    }
    if request.has_body {
        if request.json_content {
            builder = builder.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        builder = builder.body(render("body")?);
    }
    Ok((url, builder))
}

fn send_error(node: &str, what: &str, request: &Request, e: reqwest::Error) -> NodeError {
    if e.is_timeout() {
        fail(node, &format!("{what} timed out after {} ms", request.timeout.as_millis())).with_retryable(true)
    } else if e.is_redirect() {
        // The redirect policy's own message says why.
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        let mut message = e.to_string();
        while let Some(s) = source {
            message = s.to_string();
            source = s.source();
        }
        fail(node, &format!("{what}: {message}")).with_retryable(false)
    } else {
        fail(node, &format!("{what} failed: {e}")).with_retryable(true)
    }
}

/// The body, failing once it is longer than `max` bytes.
async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("reading the response failed: {e}"))? {
        if body.len() + chunk.len() > max {
            return Err(format!("the response is larger than the limit of {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The first 80 characters of a body, quoted, for messages.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() { format!("{cut:?}…") } else { format!("{cut:?}") }
}
