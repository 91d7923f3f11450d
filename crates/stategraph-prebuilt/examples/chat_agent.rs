//! A tool-calling agent against any OpenAI-compatible endpoint.
//!
//! ```bash
//! OPENAI_API_KEY=sk-... cargo run -p stategraph-prebuilt --example chat_agent
//! OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.1 cargo run -p stategraph-prebuilt --example chat_agent
//! ```
//!
//! With neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL` set it runs offline on a scripted model,
//! and says so.

use std::sync::Arc;

use serde_json::json;
use stategraph_core::RunConfig;
use stategraph_prebuilt::{
    ChatModel, Message, OpenAiChat, ReactAgent, ScriptedModel, Tool, ToolCall, ToolError, Trim, coerce_messages,
    tool_fn,
};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Arithmetic {
    /// First operand.
    a: f64,
    /// Second operand.
    b: f64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let add = tool_fn("add", "Adds a and b.", |x: Arithmetic| async move { Ok::<_, ToolError>(x.a + x.b) });
    let multiply =
        tool_fn("multiply", "Multiplies a by b.", |x: Arithmetic| async move { Ok::<_, ToolError>(x.a * x.b) });
    let tools: Vec<Arc<dyn Tool>> = vec![Arc::new(add), Arc::new(multiply)];

    let configured = std::env::var_os("OPENAI_API_KEY").is_some() || std::env::var_os("OPENAI_BASE_URL").is_some();
    let model: Arc<dyn ChatModel> = if configured {
        let model = OpenAiChat::from_env()?;
        println!("using {} at {}", model.config().model, model.config().base_url);
        Arc::new(model)
    } else {
        println!("OPENAI_API_KEY / OPENAI_BASE_URL not set: running offline on a scripted model");
        Arc::new(ScriptedModel::new([
            Message::ai_with_tool_calls(
                "",
                vec![
                    ToolCall::new("add", json!({"a": 2, "b": 3}), "call_1"),
                    ToolCall::new("multiply", json!({"a": 4, "b": 5}), "call_2"),
                ],
            ),
            Message::ai("2 + 3 = 5 and 4 × 5 = 20."),
        ]))
    };

    let agent = ReactAgent::builder(model, tools)
        .prompt("You are a careful calculator. Use the tools for every operation.")
        .pre_model(Trim::last(20).start_on(["human"]))
        .build()?;
    let question = "What are 2 + 3 and 4 × 5?";
    let out = agent.invoke(json!({"messages": [["user", question]]}), RunConfig::default()).await?;
    for message in coerce_messages(&out["messages"])? {
        println!("{message}");
    }
    Ok(())
}
