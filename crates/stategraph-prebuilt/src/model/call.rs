//! Calling a chat model from a node: token by token into the `messages` stream mode when the run
//! streams it, in one call otherwise.

use futures::StreamExt;
use stategraph_core::{NodeContext, Value};

use super::{ChatModel, ChatRequest, MessageChunk, ModelError};
use crate::message::Message;

/// Asks `model` for the answer to `request` from inside a node, and gives the answer an id.
///
/// When the run streams in `messages` mode ([`NodeContext::streams_messages`]), the model's
/// [`stream`](ChatModel::stream) is read and each chunk is emitted as LangChain's
/// `AIMessageChunk` dict ([`MessageChunk::to_value`]) with the node's metadata plus the model's
/// [`ls_params`](ChatModel::ls_params) and `ls_integration: "langchain_chat_model"`, the way
/// LangChain's chat models stream inside LangGraph; an empty chunk with
/// `chunk_position: "last"` closes the answer. All chunks carry the answer's id (the model's, or
/// `lc_run--<uuid>` like LangChain's), and so does the assembled message returned, so the engine
/// does not stream it a second time when the node writes it. Otherwise the model is
/// [invoked](ChatModel::generate) once.
///
/// ```
/// use futures::StreamExt;
/// use serde_json::json;
/// use stategraph_core::{END, NodeContext, NodeError, RunConfig, START, State, StateGraph, StreamMode, StreamOptions, Value};
/// use stategraph_prebuilt::{ChatRequest, Error, Message, MessagesState, ScriptedModel, call_model, messages_of};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let model = ScriptedModel::new([Message::ai("Hello there")]);
/// let mut graph = StateGraph::new(MessagesState::schema());
/// graph.add_node("chat", move |state: State, ctx: NodeContext| {
///     let model = model.clone();
///     async move {
///         let request = ChatRequest::new(messages_of(&state)?);
///         let answer = call_model(&model, request, &ctx).await.map_err(Error::from)?;
///         Ok::<Value, NodeError>(json!({"messages": [answer.into_value()]}).into())
///     }
/// });
/// graph.add_edge(START, "chat").add_edge("chat", END);
/// let app = graph.compile().unwrap();
/// let input = json!({"messages": [["user", "hi"]]});
/// let mut stream = app.stream(input, RunConfig::default(), StreamOptions::mode(StreamMode::Messages));
/// let mut tokens = Vec::new();
/// while let Some(event) = stream.next().await {
///     let [chunk, metadata] = event.unwrap().data.as_array().unwrap().clone().try_into().unwrap();
///     assert_eq!(chunk["type"].as_str(), Some("AIMessageChunk"));
///     assert_eq!(metadata["langgraph_node"].as_str(), Some("chat"));
///     assert_eq!(metadata["ls_provider"].as_str(), Some("scripted"));
///     tokens.push(chunk["content"].as_str().unwrap().to_owned());
/// }
/// // Word by word, then the closing chunk; the stored answer is not streamed again.
/// assert_eq!(tokens, ["Hello ", "there", ""]);
/// # });
/// ```
pub async fn call_model(
    model: &(impl ChatModel + ?Sized),
    request: ChatRequest,
    ctx: &NodeContext,
) -> Result<Message, ModelError> {
    if !ctx.streams_messages() {
        let mut answer = model.generate(request).await?;
        answer.id.get_or_insert_with(run_id);
        return Ok(answer);
    }
    let mut extra = model.ls_params(&request);
    extra.insert("ls_integration".into(), Value::from("langchain_chat_model"));
    let mut stream = model.stream(request);
    let mut answer = MessageChunk::default();
    let mut id: Option<String> = None;
    while let Some(chunk) = stream.next().await {
        let mut chunk = chunk?;
        let id = id.get_or_insert_with(|| chunk.id.clone().unwrap_or_else(run_id));
        chunk.id = Some(id.clone());
        ctx.emit_message(chunk.to_value(), extra.clone());
        answer.merge(chunk);
    }
    if let Some(id) = id {
        let last = MessageChunk { id: Some(id), ..MessageChunk::default() };
        ctx.emit_message(last.dump(true), extra);
    }
    let mut answer = answer.into_message();
    answer.id.get_or_insert_with(run_id);
    Ok(answer)
}

/// An answer id in LangChain's form for ids it makes up (`lc_run--<run id>`).
fn run_id() -> String {
    format!("lc_run--{}", uuid::Uuid::new_v4())
}
