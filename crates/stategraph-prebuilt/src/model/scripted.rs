//! A model that answers from a script: for tests and offline demos.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use super::{ChatModel, ChatRequest, MessageChunk, ModelError, ToolCallChunk};
use crate::message::{Kind, Message};

type Responder = dyn Fn(&ChatRequest) -> Result<Message, ModelError> + Send + Sync;

enum Script {
    Queue(Mutex<VecDeque<Message>>),
    Fn(Box<Responder>),
}

/// Answers with prepared AI messages, in order, or with a function of the request; records
/// every request it receives. Streams an answer word by word, and each tool call in two
/// fragments, the way providers do.
///
/// ```
/// use serde_json::json;
/// use stategraph_prebuilt::{ChatModel, Message, ScriptedModel, ToolCall};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let model = ScriptedModel::new([
///     Message::ai_with_tool_calls("", vec![ToolCall::new("add", json!({"a": 1, "b": 2}), "c1")]),
///     Message::ai("3"),
/// ]);
/// assert!(model.invoke(vec![Message::human("1+2?")]).await.unwrap().has_tool_calls());
/// assert_eq!(model.invoke(vec![]).await.unwrap().text(), "3");
/// assert!(model.invoke(vec![]).await.is_err(), "the script is over");
/// assert_eq!(model.requests().len(), 3);
/// # });
/// ```
#[derive(Clone)]
pub struct ScriptedModel {
    script: Arc<Script>,
    requests: Arc<Mutex<Vec<ChatRequest>>>,
    delay: Option<Duration>,
    name: String,
}

impl ScriptedModel {
    /// Answers with these messages, one per call.
    pub fn new(responses: impl IntoIterator<Item = Message>) -> Self {
        ScriptedModel {
            script: Arc::new(Script::Queue(Mutex::new(responses.into_iter().collect()))),
            requests: Arc::default(),
            delay: None,
            name: "scripted".into(),
        }
    }

    /// Answers each request with `f(request)`.
    pub fn from_fn(f: impl Fn(&ChatRequest) -> Result<Message, ModelError> + Send + Sync + 'static) -> Self {
        ScriptedModel {
            script: Arc::new(Script::Fn(Box::new(f))),
            requests: Arc::default(),
            delay: None,
            name: "scripted".into(),
        }
    }

    /// Waits this long before answering (and between streamed chunks).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().expect("not poisoned").clone()
    }

    fn answer(&self, request: ChatRequest) -> Result<Message, ModelError> {
        let answer = match &*self.script {
            Script::Queue(q) => q
                .lock()
                .expect("not poisoned")
                .pop_front()
                .ok_or_else(|| ModelError::Script("no scripted answer left".into())),
            Script::Fn(f) => f(&request),
        };
        self.requests.lock().expect("not poisoned").push(request);
        let mut answer = answer?;
        answer.response_metadata.entry("model_name".into()).or_insert_with(|| self.name.as_str().into());
        Ok(answer)
    }
}

impl ChatModel for ScriptedModel {
    fn generate(&self, request: ChatRequest) -> BoxFuture<'static, Result<Message, ModelError>> {
        let answer = self.answer(request);
        let delay = self.delay;
        async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            answer
        }
        .boxed()
    }

    fn stream(&self, request: ChatRequest) -> BoxStream<'static, Result<MessageChunk, ModelError>> {
        let chunks = match self.answer(request) {
            Ok(m) => split(m).into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        };
        let delay = self.delay;
        futures::stream::iter(chunks)
            .then(move |c| async move {
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                c
            })
            .boxed()
    }

    fn model_name(&self) -> &str {
        &self.name
    }
}

/// Splits a message into word chunks and two fragments per tool call.
fn split(message: Message) -> Vec<MessageChunk> {
    let text = message.text();
    let mut chunks: Vec<MessageChunk> = text.split_inclusive(' ').map(MessageChunk::text).collect();
    if chunks.is_empty() {
        chunks.push(MessageChunk::default());
    }
    chunks[0].id = message.id.clone();
    if let Kind::Ai(ai) = message.kind {
        for (i, call) in ai.tool_calls.into_iter().enumerate() {
            let args = call.args.to_string();
            let cut = args.char_indices().nth(args.chars().count() / 2).map(|(i, _)| i).unwrap_or(0);
            chunks.push(MessageChunk {
                tool_call_chunks: vec![ToolCallChunk {
                    index: Some(i),
                    id: call.id,
                    name: Some(call.name),
                    args: args[..cut].to_owned(),
                }],
                ..MessageChunk::default()
            });
            chunks.push(MessageChunk {
                tool_call_chunks: vec![ToolCallChunk {
                    index: Some(i),
                    args: args[cut..].to_owned(),
                    ..Default::default()
                }],
                ..MessageChunk::default()
            });
        }
        if let Some(last) = chunks.last_mut() {
            last.usage_metadata = ai.usage_metadata;
        }
    }
    if let Some(last) = chunks.last_mut() {
        last.response_metadata = message.response_metadata;
    }
    chunks
}
