//! A client for OpenAI-compatible chat completions (OpenAI, Ollama, vLLM, LM Studio, ...).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use stategraph_core::{Map, Value};

use super::sse::{SseData, SseDecoder};
use super::{ChatModel, ChatRequest, MessageChunk, ModelError, ToolCallChunk, ToolSpec};
use crate::message::{AiFields, Content, InvalidToolCall, Kind, Message, ToolCall, UsageMetadata};

/// Where and how [`OpenAiChat`] talks to the server.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL up to the API version, e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1` (Ollama). `/chat/completions` is appended.
    pub base_url: String,
    /// Sent as a bearer token when set (local servers often need none).
    pub api_key: Option<String>,
    /// The model name.
    pub model: String,
    /// How long to wait for the response headers, then for the body (or, when streaming, for
    /// each next piece of it).
    pub timeout: Duration,
    /// How long to wait for the connection.
    pub connect_timeout: Duration,
    /// Retries after a rate limit (429), a server error (5xx), a timeout or a lost connection.
    pub max_retries: u32,
    /// Wait before the first retry; doubled each time (with jitter), up to `max_backoff`. A
    /// server's `Retry-After` (or `retry-after-ms`) is honoured instead when it gives one.
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Extra fields of the request body (`temperature`, `max_tokens`, `seed`, ...).
    pub options: Map,
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

/// The default base URL.
const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

impl OpenAiConfig {
    /// OpenAI's endpoint for `model`, no key, 60 s timeout, 2 retries.
    pub fn new(model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: OPENAI_BASE_URL.into(),
            api_key: None,
            model: model.into(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            options: Map::new(),
        }
    }

    /// From the environment: `OPENAI_BASE_URL` (default OpenAI's), `OPENAI_API_KEY` (optional)
    /// and `OPENAI_MODEL` (default `gpt-4o-mini`).
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut config = OpenAiConfig::new(var("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()));
        if let Some(url) = var("OPENAI_BASE_URL") {
            config.base_url = url;
        }
        config.api_key = var("OPENAI_API_KEY");
        config
    }

    /// Sets the base URL.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }
    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets how many times to retry.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }
    /// Sets the backoff between retries.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
    /// Sets a request body field (`temperature`, `max_tokens`, ...).
    pub fn option(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.options.insert(key.into(), value.into());
        self
    }
}

/// A chat model behind an OpenAI-compatible `/chat/completions` endpoint: plain and streamed
/// (server-sent events) answers, parallel tool calls, usage, retries with backoff. Fields it does
/// not know in responses are ignored, so providers' extensions do no harm.
///
/// ```no_run
/// use stategraph_prebuilt::{ChatModel, Message, OpenAiChat, OpenAiConfig};
/// # async fn demo() -> Result<(), stategraph_prebuilt::ModelError> {
/// let model = OpenAiChat::new(OpenAiConfig::from_env())?;
/// let answer = model.invoke(vec![Message::human("Say hi")]).await?;
/// println!("{}", answer.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenAiChat {
    inner: Arc<Inner>,
}

struct Inner {
    config: OpenAiConfig,
    url: String,
    client: reqwest::Client,
}

impl fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiChat").field("config", &self.inner.config).finish()
    }
}

impl OpenAiChat {
    /// A client with this configuration.
    pub fn new(config: OpenAiConfig) -> Result<Self, ModelError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| ModelError::Config(e.to_string()))?;
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        reqwest::Url::parse(&url).map_err(|e| ModelError::Config(format!("base URL `{}`: {e}", config.base_url)))?;
        Ok(OpenAiChat { inner: Arc::new(Inner { config, url, client }) })
    }

    /// A client configured from the environment (see [`OpenAiConfig::from_env`]).
    pub fn from_env() -> Result<Self, ModelError> {
        OpenAiChat::new(OpenAiConfig::from_env())
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.inner.config
    }
}

impl Inner {
    fn body(&self, request: &ChatRequest, stream: bool) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), Value::from(self.config.model.as_str()));
        body.insert("messages".into(), request.messages.iter().filter_map(message_to_openai).collect());
        if !request.tools.is_empty() {
            body.insert("tools".into(), request.tools.iter().map(tool_to_openai).collect());
        }
        if let Some(choice) = &request.tool_choice {
            body.insert("tool_choice".into(), choice.clone());
        }
        if stream {
            body.insert("stream".into(), Value::Bool(true));
            let mut so = Map::new();
            so.insert("include_usage".into(), Value::Bool(true));
            body.insert("stream_options".into(), Value::from(so));
        }
        for (k, v) in self.config.options.iter().chain(request.options.iter()) {
            body.insert(k.clone(), v.clone());
        }
        Value::from(body)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base =
            self.config.initial_backoff.saturating_mul(2u32.saturating_pow(attempt)).min(self.config.max_backoff);
        // Up to a quarter less, so that clients rate-limited together do not retry together.
        base.mul_f64(1.0 - 0.25 * rand::random::<f64>())
    }

    /// Sends the request, retrying what is worth retrying; returns a response with a success status.
    async fn send(&self, body: &Value) -> Result<reqwest::Response, ModelError> {
        let timeout = self.config.timeout;
        let mut attempt = 0u32;
        loop {
            let mut req = self.client.post(&self.url).json(body);
            if let Some(key) = &self.config.api_key {
                req = req.bearer_auth(key);
            }
            let error = match tokio::time::timeout(timeout, req.send()).await {
                Err(_) => ModelError::Timeout(timeout),
                Ok(Err(e)) => transport_error(e, timeout),
                Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
                Ok(Ok(resp)) => {
                    let status = resp.status().as_u16();
                    let retry_after = retry_after(resp.headers());
                    let text = match tokio::time::timeout(timeout, resp.text()).await {
                        Ok(Ok(t)) => t,
                        _ => String::new(),
                    };
                    ModelError::Http { status, message: error_message(&text), retry_after }
                }
            };
            if !error.is_retryable() || attempt >= self.config.max_retries {
                return Err(error);
            }
            let wait = match &error {
                ModelError::Http { retry_after: Some(d), .. }
                    if *d <= self.config.max_backoff.max(Duration::from_secs(60)) =>
                {
                    *d
                }
                _ => self.backoff(attempt),
            };
            tracing::warn!(%error, attempt = attempt + 1, ?wait, "chat completion failed; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn complete(&self, request: ChatRequest) -> Result<Message, ModelError> {
        let body = self.body(&request, false);
        let resp = self.send(&body).await?;
        let timeout = self.config.timeout;
        let bytes = match tokio::time::timeout(timeout, resp.bytes()).await {
            Err(_) => return Err(ModelError::Timeout(timeout)),
            Ok(Err(e)) => return Err(transport_error(e, timeout)),
            Ok(Ok(b)) => b,
        };
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ModelError::InvalidResponse(format!("not JSON ({e}): {}", preview(&bytes))))?;
        parse_completion(&v)
    }
}

impl ChatModel for OpenAiChat {
    fn generate(&self, request: ChatRequest) -> BoxFuture<'static, Result<Message, ModelError>> {
        let inner = self.inner.clone();
        async move { inner.complete(request).await }.boxed()
    }

    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<MessageChunk, ModelError>> {
        let inner = self.inner.clone();
        let body = inner.body(&request, true);
        futures::stream::unfold(StreamState::Start(inner, body), next_chunk).boxed()
    }

    fn model_name(&self) -> &str {
        &self.inner.config.model
    }

    /// As LangChain's `ChatOpenAI` reports them: provider `openai`, the configured model, and
    /// `ls_temperature` always (`null` when not set).
    fn ls_params(&self, request: &ChatRequest) -> Map {
        let mut m = super::ls_params("openai", &self.inner.config.model, Some(&self.inner.config.options), request);
        m.entry("ls_temperature".into()).or_insert(Value::Null);
        m
    }
}

enum StreamState {
    Start(Arc<Inner>, Value),
    Reading {
        // Chunks are copied out of reqwest's buffers: they are small, and it spares a dependency.
        bytes: BoxStream<'static, reqwest::Result<Vec<u8>>>,
        decoder: SseDecoder,
        pending: VecDeque<MessageChunk>,
        finished: bool,
        timeout: Duration,
    },
    Done,
}

async fn next_chunk(state: StreamState) -> Option<(Result<MessageChunk, ModelError>, StreamState)> {
    let mut state = state;
    loop {
        match state {
            StreamState::Done => return None,
            StreamState::Start(inner, body) => match inner.send(&body).await {
                Err(e) => return Some((Err(e), StreamState::Done)),
                Ok(resp) => {
                    state = StreamState::Reading {
                        bytes: resp.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
                        decoder: SseDecoder::default(),
                        pending: VecDeque::new(),
                        finished: false,
                        timeout: inner.config.timeout,
                    }
                }
            },
            StreamState::Reading { mut bytes, mut decoder, mut pending, mut finished, timeout } => {
                if let Some(chunk) = pending.pop_front() {
                    return Some((Ok(chunk), StreamState::Reading { bytes, decoder, pending, finished, timeout }));
                }
                if finished {
                    return None;
                }
                let events = match tokio::time::timeout(timeout, bytes.next()).await {
                    Err(_) => return Some((Err(ModelError::Timeout(timeout)), StreamState::Done)),
                    Ok(Some(Err(e))) => return Some((Err(transport_error(e, timeout)), StreamState::Done)),
                    Ok(Some(Ok(b))) => decoder.push(&b),
                    Ok(None) => {
                        finished = true;
                        decoder.finish().map(|d| d.into_iter().collect())
                    }
                };
                let events = match events {
                    Ok(e) => e,
                    Err(e) => return Some((Err(e), StreamState::Done)),
                };
                for event in events {
                    match event {
                        SseData::Done => finished = true,
                        SseData::Data(text) => match parse_stream_event(&text) {
                            Ok(Some(chunk)) => pending.push_back(chunk),
                            Ok(None) => {}
                            Err(e) => return Some((Err(e), StreamState::Done)),
                        },
                    }
                }
                state = StreamState::Reading { bytes, decoder, pending, finished, timeout };
            }
        }
    }
}

fn transport_error(e: reqwest::Error, timeout: Duration) -> ModelError {
    if e.is_timeout() { ModelError::Timeout(timeout) } else { ModelError::Transport(format!("{e}")) }
}

fn preview(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(200).collect()
}

/// `Retry-After` in seconds, or OpenAI's `retry-after-ms`.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
    if let Some(ms) = get("retry-after-ms").filter(|ms| ms.is_finite() && *ms >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after").filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// The provider's `{"error": {"message": ...}}`, or the start of the body.
fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        if let Some(m) = v["error"]["message"].as_str() {
            return m.to_owned();
        }
        if let Some(m) = v["error"].as_str() {
            return m.to_owned();
        }
    }
    body.chars().take(500).collect()
}

fn tool_to_openai(tool: &ToolSpec) -> Value {
    let mut f = Map::new();
    f.insert("name".into(), Value::from(tool.name.as_str()));
    f.insert("description".into(), Value::from(tool.description.as_str()));
    f.insert("parameters".into(), tool.parameters.clone());
    let mut t = Map::new();
    t.insert("type".into(), Value::from("function"));
    t.insert("function".into(), Value::from(f));
    Value::from(t)
}

fn content_value(content: &Content) -> Value {
    content.to_value()
}

/// A message in the OpenAI chat format (`None` for remove markers, which are not sent).
fn message_to_openai(message: &Message) -> Option<Value> {
    let mut m = Map::new();
    let role = match &message.kind {
        Kind::System if message.additional_kwargs.get("__openai_role__") == Some(&Value::from("developer")) => {
            "developer"
        }
        Kind::System => "system",
        Kind::Human => "user",
        Kind::Ai(_) => "assistant",
        Kind::Tool(_) => "tool",
        Kind::Remove => return None,
    };
    m.insert("role".into(), Value::from(role));
    match &message.kind {
        Kind::Ai(ai) if !ai.tool_calls.is_empty() => {
            let content = if message.content.is_empty() { Value::Null } else { content_value(&message.content) };
            m.insert("content".into(), content);
            let calls = ai
                .tool_calls
                .iter()
                .map(|c| {
                    let mut f = Map::new();
                    f.insert("name".into(), Value::from(c.name.as_str()));
                    f.insert("arguments".into(), Value::from(c.args.to_string()));
                    let mut call = Map::new();
                    call.insert("id".into(), Value::from(c.id.clone()));
                    call.insert("type".into(), Value::from("function"));
                    call.insert("function".into(), Value::from(f));
                    Value::from(call)
                })
                .collect();
            m.insert("tool_calls".into(), calls);
        }
        Kind::Tool(t) => {
            m.insert("content".into(), content_value(&message.content));
            m.insert("tool_call_id".into(), Value::from(t.tool_call_id.as_str()));
        }
        _ => {
            m.insert("content".into(), content_value(&message.content));
        }
    }
    if let Some(name) = &message.name
        && !matches!(message.kind, Kind::Tool(_))
    {
        m.insert("name".into(), Value::from(name.as_str()));
    }
    Some(Value::from(m))
}

fn usage_from_openai(u: &Value) -> Option<UsageMetadata> {
    u.as_object()?;
    let n = |k: &str| u[k].as_u64().unwrap_or(0);
    let mut usage = UsageMetadata {
        input_tokens: n("prompt_tokens"),
        output_tokens: n("completion_tokens"),
        total_tokens: n("total_tokens"),
        details: Map::new(),
    };
    if usage.total_tokens == 0 {
        usage.total_tokens = usage.input_tokens + usage.output_tokens;
    }
    if let Some(cached) = u["prompt_tokens_details"]["cached_tokens"].as_u64() {
        let mut d = Map::new();
        d.insert("cache_read".into(), Value::from(cached));
        usage.details.insert("input_token_details".into(), Value::from(d));
    }
    if let Some(reasoning) = u["completion_tokens_details"]["reasoning_tokens"].as_u64() {
        let mut d = Map::new();
        d.insert("reasoning".into(), Value::from(reasoning));
        usage.details.insert("output_token_details".into(), Value::from(d));
    }
    Some(usage)
}

fn metadata_from(v: &Value, choice: &Value) -> Map {
    let mut md = Map::new();
    if let Some(model) = v["model"].as_str() {
        md.insert("model_name".into(), Value::from(model));
    }
    if let Some(reason) = choice["finish_reason"].as_str() {
        md.insert("finish_reason".into(), Value::from(reason));
    }
    if let Some(id) = v["id"].as_str() {
        md.insert("id".into(), Value::from(id));
    }
    if let Some(fp) = v["system_fingerprint"].as_str() {
        md.insert("system_fingerprint".into(), Value::from(fp));
    }
    md
}

/// A `chat.completion` object to an AI message.
fn parse_completion(v: &Value) -> Result<Message, ModelError> {
    if !v["error"].is_null() {
        return Err(ModelError::InvalidResponse(format!("error in response: {}", error_message(&v.to_string()))));
    }
    let choice = &v["choices"][0];
    let msg = &choice["message"];
    if !msg.is_object() {
        return Err(ModelError::InvalidResponse(format!(
            "no `choices[0].message` in {}",
            preview(v.to_string().as_bytes())
        )));
    }
    let content = match &msg["content"] {
        Value::String(s) => Content::Text(s.to_string()),
        Value::Array(parts) => Content::Parts(parts.to_vec()),
        _ => Content::Text(String::new()),
    };
    let mut ai = AiFields { usage_metadata: usage_from_openai(&v["usage"]), ..AiFields::default() };
    if let Some(calls) = msg["tool_calls"].as_array() {
        for call in calls {
            let f = &call["function"];
            let name = f["name"].as_str().map(str::to_owned);
            let id = call["id"].as_str().map(str::to_owned);
            let raw = match &f["arguments"] {
                Value::String(s) => s.to_string(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            let text = if raw.trim().is_empty() { "{}" } else { raw.as_str() };
            match serde_json::from_str::<Value>(text) {
                Ok(args @ Value::Object(_)) => {
                    ai.tool_calls.push(ToolCall { name: name.unwrap_or_default(), args, id })
                }
                Ok(_) => ai.invalid_tool_calls.push(InvalidToolCall {
                    name,
                    args: Some(raw),
                    id,
                    error: Some("arguments are not a JSON object".into()),
                }),
                Err(e) => ai.invalid_tool_calls.push(InvalidToolCall {
                    name,
                    args: Some(raw),
                    id,
                    error: Some(e.to_string()),
                }),
            }
        }
    }
    let mut message = Message::ai(content);
    message.kind = Kind::Ai(ai);
    message.response_metadata = metadata_from(v, choice);
    if let Some(refusal) = msg["refusal"].as_str() {
        message.additional_kwargs.insert("refusal".into(), Value::from(refusal));
    }
    Ok(message)
}

/// One `chat.completion.chunk` to a message chunk (`None` for events with nothing in them).
fn parse_stream_event(text: &str) -> Result<Option<MessageChunk>, ModelError> {
    let v: Value = serde_json::from_str(text).map_err(|e| ModelError::InvalidStream {
        line: format!("data: {}", text.chars().take(200).collect::<String>()),
        reason: format!("not JSON: {e}"),
    })?;
    if !v["error"].is_null() {
        return Err(ModelError::InvalidResponse(format!("error in stream: {}", error_message(text))));
    }
    let choice = &v["choices"][0];
    let delta = &choice["delta"];
    let mut chunk = MessageChunk {
        usage_metadata: usage_from_openai(&v["usage"]),
        response_metadata: metadata_from(&v, choice),
        ..MessageChunk::default()
    };
    if let Some(s) = delta["content"].as_str() {
        chunk.content.push_str(s);
    }
    if let Some(calls) = delta["tool_calls"].as_array() {
        for (position, call) in calls.iter().enumerate() {
            let f = &call["function"];
            chunk.tool_call_chunks.push(ToolCallChunk {
                // Some servers leave out the index of a lone call.
                index: Some(call["index"].as_u64().map(|i| i as usize).unwrap_or(position)),
                id: call["id"].as_str().map(str::to_owned),
                name: f["name"].as_str().map(str::to_owned),
                args: f["arguments"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    Ok(Some(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_sent_in_openai_form() {
        let ai = Message::ai_with_tool_calls("", vec![ToolCall::new("add", json!({"a": 1}), "c1")]);
        assert_eq!(
            message_to_openai(&ai).unwrap(),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{\"a\":1}"}}]})
        );
        assert_eq!(
            message_to_openai(&Message::tool("2", "c1").with_name("add")).unwrap(),
            json!({"role": "tool", "content": "2", "tool_call_id": "c1"})
        );
        assert!(message_to_openai(&Message::remove("x")).is_none());
    }

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
    }
}
