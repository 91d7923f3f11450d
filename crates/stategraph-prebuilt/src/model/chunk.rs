//! Streamed pieces of an AI message and their assembly (LangChain's `AIMessageChunk`).

use futures::{Stream, StreamExt};
use stategraph_core::{Map, Value};

use super::ModelError;
use super::partial_json::parse_partial_json;
use crate::message::{AiFields, Content, InvalidToolCall, Kind, Message, ToolCall, UsageMetadata};

/// A fragment of a tool call: providers stream the name and id once and the arguments as text
/// pieces, keyed by `index` (several calls can stream in parallel).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolCallChunk {
    /// Which call of the message this fragment belongs to.
    pub index: Option<usize>,
    /// The call id (usually in the first fragment only).
    pub id: Option<String>,
    /// The tool name (usually in the first fragment only).
    pub name: Option<String>,
    /// A piece of the JSON arguments text.
    pub args: String,
}

/// A piece of a streamed AI message. Chunks add up with [`MessageChunk::merge`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageChunk {
    /// The id the assembled message gets (providers' response ids go to `response_metadata`
    /// instead, so that [`add_messages`](crate::add_messages) gives each answer its own id).
    pub id: Option<String>,
    /// Text tokens.
    pub content: String,
    /// Tool-call fragments.
    pub tool_call_chunks: Vec<ToolCallChunk>,
    /// Token usage (usually in the last chunk).
    pub usage_metadata: Option<UsageMetadata>,
    /// Metadata (model name, finish reason, ...).
    pub response_metadata: Map,
}

impl MessageChunk {
    /// A chunk of text.
    pub fn text(content: impl Into<String>) -> Self {
        MessageChunk { content: content.into(), ..MessageChunk::default() }
    }

    /// A whole message as a single chunk (for models that do not stream).
    pub fn from_message(message: Message) -> Self {
        let mut chunk = MessageChunk {
            id: message.id.clone(),
            content: message.text(),
            response_metadata: message.response_metadata.clone(),
            ..MessageChunk::default()
        };
        if let Kind::Ai(ai) = message.kind {
            chunk.usage_metadata = ai.usage_metadata;
            chunk.tool_call_chunks = ai
                .tool_calls
                .into_iter()
                .enumerate()
                .map(|(i, c)| ToolCallChunk { index: Some(i), id: c.id, name: Some(c.name), args: c.args.to_string() })
                .collect();
        }
        chunk
    }

    /// Adds `other` to this chunk: text is appended, tool-call fragments with the same index are
    /// joined (others appended), usage is summed, metadata merged.
    ///
    /// ```
    /// use stategraph_prebuilt::{MessageChunk, ToolCallChunk};
    /// let mut a = MessageChunk::text("Hel");
    /// a.merge(MessageChunk::text("lo"));
    /// a.merge(MessageChunk {
    ///     tool_call_chunks: vec![ToolCallChunk { index: Some(0), id: Some("c1".into()), name: Some("add".into()), args: "{\"a\":".into() }],
    ///     ..Default::default()
    /// });
    /// a.merge(MessageChunk {
    ///     tool_call_chunks: vec![ToolCallChunk { index: Some(0), args: "1}".into(), ..Default::default() }],
    ///     ..Default::default()
    /// });
    /// let m = a.into_message();
    /// assert_eq!(m.text(), "Hello");
    /// assert_eq!(m.tool_calls()[0].args, serde_json::json!({"a": 1}));
    /// ```
    pub fn merge(&mut self, other: MessageChunk) {
        if self.id.is_none() {
            self.id = other.id;
        }
        self.content.push_str(&other.content);
        for piece in other.tool_call_chunks {
            let existing = piece.index.and_then(|i| self.tool_call_chunks.iter_mut().find(|c| c.index == Some(i)));
            match existing {
                Some(c) => {
                    c.args.push_str(&piece.args);
                    if c.id.is_none() {
                        c.id = piece.id;
                    }
                    match (&mut c.name, piece.name) {
                        (None, n) => c.name = n,
                        // Providers send the name once; when one splits it, the pieces join.
                        (Some(name), Some(more)) if !name.ends_with(&more) => name.push_str(&more),
                        _ => {}
                    }
                }
                None => self.tool_call_chunks.push(piece),
            }
        }
        match (&mut self.usage_metadata, other.usage_metadata) {
            (Some(u), Some(v)) => u.add(&v),
            (None, v) => self.usage_metadata = v,
            _ => {}
        }
        for (k, v) in other.response_metadata {
            self.response_metadata.insert(k, v);
        }
    }

    /// The chunk in LangChain's dict shape (`AIMessageChunk.model_dump()`), as the `messages`
    /// stream mode carries it: `type` is `"AIMessageChunk"`, `tool_call_chunks` holds the
    /// fragments, and `tool_calls` / `invalid_tool_calls` are what LangChain reads from each
    /// fragment alone (arguments cut short are completed; a fragment that cannot be read is an
    /// invalid call).
    ///
    /// ```
    /// use serde_json::json;
    /// use stategraph_prebuilt::{MessageChunk, ToolCallChunk};
    /// let chunk = MessageChunk {
    ///     id: Some("run-1".into()),
    ///     tool_call_chunks: vec![ToolCallChunk { index: Some(0), id: Some("c1".into()), name: Some("add".into()), args: "{\"a\": 1".into() }],
    ///     ..Default::default()
    /// };
    /// let v = serde_json::Value::from(chunk.to_value());
    /// assert_eq!(v["type"], json!("AIMessageChunk"));
    /// assert_eq!(v["tool_call_chunks"][0], json!({"name": "add", "args": "{\"a\": 1", "id": "c1", "index": 0, "type": "tool_call_chunk"}));
    /// assert_eq!(v["tool_calls"][0]["args"], json!({"a": 1}));
    /// assert_eq!(v["chunk_position"], json!(null));
    /// ```
    pub fn to_value(&self) -> Value {
        self.dump(false)
    }

    /// [`to_value`](Self::to_value), with `chunk_position: "last"` when `last` (LangChain marks
    /// the end of a streamed answer with an empty chunk so).
    pub(crate) fn dump(&self, last: bool) -> Value {
        let mut tool_calls = Vec::new();
        let mut invalid = Vec::new();
        for c in &self.tool_call_chunks {
            let args = if c.args.is_empty() { Some(Value::object()) } else { parse_partial_json(&c.args) };
            match args {
                Some(args @ Value::Object(_)) => tool_calls
                    .push(ToolCall { name: c.name.clone().unwrap_or_default(), args, id: c.id.clone() }.to_value()),
                _ => invalid.push(
                    InvalidToolCall { name: c.name.clone(), args: Some(c.args.clone()), id: c.id.clone(), error: None }
                        .to_value(),
                ),
            }
        }
        let chunks: Vec<Value> = self
            .tool_call_chunks
            .iter()
            .map(|c| {
                let mut m = Map::with_capacity(5);
                m.insert("name".into(), Value::from(c.name.clone()));
                m.insert("args".into(), Value::from(c.args.as_str()));
                m.insert("id".into(), Value::from(c.id.clone()));
                m.insert("index".into(), Value::from(c.index.map(|i| i as u64)));
                m.insert("type".into(), Value::from("tool_call_chunk"));
                Value::from(m)
            })
            .collect();
        let mut m = Map::with_capacity(11);
        m.insert("content".into(), Value::from(self.content.as_str()));
        m.insert("additional_kwargs".into(), Value::object());
        m.insert("response_metadata".into(), Value::from(self.response_metadata.clone()));
        m.insert("type".into(), Value::from("AIMessageChunk"));
        m.insert("name".into(), Value::Null);
        m.insert("id".into(), Value::from(self.id.clone()));
        m.insert("tool_calls".into(), Value::from(tool_calls));
        m.insert("invalid_tool_calls".into(), Value::from(invalid));
        m.insert("usage_metadata".into(), self.usage_metadata.as_ref().map(UsageMetadata::to_value).into());
        m.insert("tool_call_chunks".into(), Value::from(chunks));
        m.insert("chunk_position".into(), if last { Value::from("last") } else { Value::Null });
        Value::from(m)
    }

    /// The AI message the chunks add up to. Tool-call arguments are parsed as JSON (empty text is
    /// `{}`); a call whose arguments do not parse becomes an invalid tool call.
    pub fn into_message(self) -> Message {
        let mut ai = AiFields { usage_metadata: self.usage_metadata, ..AiFields::default() };
        for c in self.tool_call_chunks {
            let text = if c.args.trim().is_empty() { "{}" } else { c.args.as_str() };
            match serde_json::from_str::<Value>(text) {
                Ok(args @ Value::Object(_)) => {
                    ai.tool_calls.push(ToolCall { name: c.name.unwrap_or_default(), args, id: c.id })
                }
                Ok(other) => ai.invalid_tool_calls.push(InvalidToolCall {
                    name: c.name,
                    args: Some(c.args),
                    id: c.id,
                    error: Some(format!("arguments are {}, not an object", other.kind())),
                }),
                Err(e) => ai.invalid_tool_calls.push(InvalidToolCall {
                    name: c.name,
                    args: Some(c.args),
                    id: c.id,
                    error: Some(e.to_string()),
                }),
            }
        }
        let mut message = Message::ai(Content::Text(self.content));
        message.kind = Kind::Ai(ai);
        message.response_metadata = self.response_metadata;
        message.id = self.id;
        message
    }
}

/// Reads a stream of chunks to the end and assembles the message.
///
/// ```
/// use stategraph_prebuilt::{ChatModel, ChatRequest, Message, ScriptedModel, collect_stream};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let model = ScriptedModel::new([Message::ai("one two three")]);
/// let m = collect_stream(model.stream(ChatRequest::new(vec![]))).await.unwrap();
/// assert_eq!(m.text(), "one two three");
/// # });
/// ```
pub async fn collect_stream(
    stream: impl Stream<Item = Result<MessageChunk, ModelError>>,
) -> Result<Message, ModelError> {
    let mut stream = std::pin::pin!(stream);
    let mut acc = MessageChunk::default();
    while let Some(chunk) = stream.next().await {
        acc.merge(chunk?);
    }
    Ok(acc.into_message())
}
