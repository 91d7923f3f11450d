//! A model that answers from a script: for tests and offline demos.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use stategraph_core::Map;

use super::{ChatModel, ChatRequest, MessageChunk, ModelError, ToolCallChunk};
use crate::message::{Kind, Message};

type Responder = dyn Fn(&ChatRequest) -> Result<Message, ModelError> + Send + Sync;

enum Script {
    Queue(Mutex<VecDeque<Answer>>),
    Fn(Box<Responder>),
}

/// One scripted answer: a message (split into chunks when streamed) or the exact chunks.
enum Answer {
    Message(Box<Message>),
    Chunks(Vec<MessageChunk>),
}

/// How [`ScriptedModel`] cuts the text of an answer into streamed tokens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenSplit {
    /// Word by word, each word with the space after it (`"one "`, `"two"`): the default.
    #[default]
    Words,
    /// Pieces of at most this many characters.
    Chars(usize),
    /// These tokens in turn; any text left after them is one last token. Across answers, the
    /// list is read from where the previous answer stopped.
    Tokens(Vec<String>),
    /// The whole text as one chunk.
    Whole,
}

/// How many requests a [`ScriptedModel`] keeps unless told otherwise.
const DEFAULT_REQUEST_LOG: usize = 256;

/// Answers with prepared AI messages, in order, or with a function of the request; records
/// the requests it receives (the latest 256, see [`record_requests`](Self::record_requests)). Streams an answer in tokens ([`TokenSplit`], word by word unless
/// told otherwise) and each tool call in two fragments, the way providers do; or streams exactly
/// the chunks it was given ([`from_chunks`](Self::from_chunks)).
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
    /// The latest requests, at most `request_log` of them.
    requests: Arc<Mutex<VecDeque<ChatRequest>>>,
    request_log: usize,
    delay: Option<Duration>,
    name: String,
    split: TokenSplit,
    /// Tokens of [`TokenSplit::Tokens`] not used yet (shared by clones, like the script).
    tokens: Arc<Mutex<VecDeque<String>>>,
}

impl ScriptedModel {
    /// Answers with these messages, one per call.
    pub fn new(responses: impl IntoIterator<Item = Message>) -> Self {
        ScriptedModel::with_script(Script::Queue(Mutex::new(
            responses.into_iter().map(|m| Answer::Message(Box::new(m))).collect(),
        )))
    }

    /// Answers each request with `f(request)`.
    pub fn from_fn(f: impl Fn(&ChatRequest) -> Result<Message, ModelError> + Send + Sync + 'static) -> Self {
        ScriptedModel::with_script(Script::Fn(Box::new(f)))
    }

    /// Answers with these chunk lists, one per call: streamed exactly as given, or added up
    /// ([`MessageChunk::merge`]) when invoked. For reproducing a provider's stream chunk for chunk.
    ///
    /// ```
    /// use stategraph_prebuilt::{ChatModel, MessageChunk, ScriptedModel, ToolCallChunk};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let call = |args: &str| MessageChunk {
    ///     tool_call_chunks: vec![ToolCallChunk { index: Some(0), args: args.into(), ..Default::default() }],
    ///     ..Default::default()
    /// };
    /// let model = ScriptedModel::from_chunks([vec![MessageChunk::text("Hel"), MessageChunk::text("lo"), call("{\"a\":"), call("1}")]]);
    /// let answer = model.invoke(vec![]).await.unwrap();
    /// assert_eq!(answer.text(), "Hello");
    /// assert_eq!(answer.tool_calls()[0].args, serde_json::json!({"a": 1}));
    /// # });
    /// ```
    pub fn from_chunks(answers: impl IntoIterator<Item = Vec<MessageChunk>>) -> Self {
        ScriptedModel::with_script(Script::Queue(Mutex::new(answers.into_iter().map(Answer::Chunks).collect())))
    }

    fn with_script(script: Script) -> Self {
        ScriptedModel {
            script: Arc::new(script),
            requests: Arc::default(),
            request_log: DEFAULT_REQUEST_LOG,
            delay: None,
            name: "scripted".into(),
            split: TokenSplit::Words,
            tokens: Arc::default(),
        }
    }

    /// How streamed answers are cut into tokens.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use stategraph_prebuilt::{ChatModel, ChatRequest, Message, ScriptedModel, TokenSplit};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let model = ScriptedModel::new([Message::ai("Hello!")]).with_split(TokenSplit::Chars(2));
    /// let chunks: Vec<_> = model.stream(ChatRequest::new(vec![])).map(|c| c.unwrap().content).collect().await;
    /// assert_eq!(chunks, ["He", "ll", "o!"]);
    /// # });
    /// ```
    pub fn with_split(mut self, split: TokenSplit) -> Self {
        if let TokenSplit::Tokens(t) = &split {
            self.tokens = Arc::new(Mutex::new(t.iter().cloned().collect()));
        }
        self.split = split;
        self
    }

    /// The model name (`"scripted"` unless set), reported in `response_metadata` and as
    /// `ls_model_name`.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Waits this long before answering (and between streamed chunks).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Keeps at most the latest `limit` requests for [`requests`](Self::requests) (0: none);
    /// the default keeps 256, so that a long run (a benchmark, a demo left running) does not keep
    /// every conversation alive.
    ///
    /// ```
    /// use stategraph_prebuilt::{ChatModel, Message, ScriptedModel};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let model = ScriptedModel::from_fn(|_| Ok(Message::ai("ok"))).record_requests(1);
    /// model.invoke(vec![Message::human("a")]).await.unwrap();
    /// model.invoke(vec![Message::human("b")]).await.unwrap();
    /// let seen = model.requests();
    /// assert_eq!(seen.len(), 1);
    /// assert_eq!(seen[0].messages[0].text(), "b");
    /// # });
    /// ```
    pub fn record_requests(mut self, limit: usize) -> Self {
        self.request_log = limit;
        self
    }

    /// The requests received so far (the latest 256 unless [`record_requests`](Self::record_requests)
    /// says otherwise), oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().expect("not poisoned").iter().cloned().collect()
    }

    fn answer(&self, request: ChatRequest) -> Result<Answer, ModelError> {
        let answer = match &*self.script {
            Script::Queue(q) => q
                .lock()
                .expect("not poisoned")
                .pop_front()
                .ok_or_else(|| ModelError::Script("no scripted answer left".into())),
            Script::Fn(f) => f(&request).map(|m| Answer::Message(Box::new(m))),
        };
        if self.request_log > 0 {
            let mut log = self.requests.lock().expect("not poisoned");
            while log.len() >= self.request_log {
                log.pop_front();
            }
            log.push_back(request);
        }
        Ok(match answer? {
            Answer::Message(mut m) => {
                m.response_metadata.entry("model_name".into()).or_insert_with(|| self.name.as_str().into());
                Answer::Message(m)
            }
            chunks => chunks,
        })
    }

    /// Cuts `text` into tokens as configured.
    fn tokens(&self, text: &str) -> Vec<String> {
        match &self.split {
            TokenSplit::Words => text.split_inclusive(' ').map(str::to_owned).collect(),
            TokenSplit::Whole => vec![text.to_owned()],
            TokenSplit::Chars(n) => {
                let chars: Vec<char> = text.chars().collect();
                chars.chunks((*n).max(1)).map(|c| c.iter().collect()).collect()
            }
            TokenSplit::Tokens(_) => {
                let mut queue = self.tokens.lock().expect("not poisoned");
                let mut out = Vec::new();
                let mut rest = text;
                while let Some(t) = queue.front().filter(|t| !t.is_empty() && rest.starts_with(t.as_str())) {
                    rest = &rest[t.len()..];
                    out.push(queue.pop_front().expect("front exists"));
                }
                if !rest.is_empty() {
                    out.push(rest.to_owned());
                }
                out
            }
        }
    }
}

impl ChatModel for ScriptedModel {
    fn generate(&self, request: ChatRequest) -> BoxFuture<'static, Result<Message, ModelError>> {
        let answer = self.answer(request).map(|a| match a {
            Answer::Message(m) => *m,
            Answer::Chunks(chunks) => {
                let mut acc = MessageChunk::default();
                chunks.into_iter().for_each(|c| acc.merge(c));
                acc.into_message()
            }
        });
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
            Ok(Answer::Message(m)) => {
                let tokens = self.tokens(&m.text());
                split(*m, tokens)
            }
            .into_iter()
            .map(Ok)
            .collect::<Vec<_>>(),
            Ok(Answer::Chunks(chunks)) => chunks.into_iter().map(Ok).collect(),
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

    fn ls_params(&self, request: &ChatRequest) -> Map {
        super::ls_params("scripted", &self.name, None, request)
    }
}

/// Splits a message into chunks of these tokens and two fragments per tool call.
fn split(message: Message, tokens: Vec<String>) -> Vec<MessageChunk> {
    let mut chunks: Vec<MessageChunk> = tokens.into_iter().map(MessageChunk::text).collect();
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
