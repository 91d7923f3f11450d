//! Typed state: a struct as the state schema, with reducers and validation.
//!
//! A small drafting loop: `draft` writes a title and appends to a log until the draft is long
//! enough, then `publish` sets a slug. Every write is validated; the second run shows the error a
//! bad write produces (naming the field and the node).
//!
//! Run with `cargo run --example typed_state`.

use serde::{Deserialize, Serialize};
use stategraph::prelude::*;
use stategraph::typed::{TypedCompiledGraph, TypedGraph};

fn no_shouting(title: &str) -> Result<(), String> {
    if title.chars().any(char::is_lowercase) { Ok(()) } else { Err("the title is all capitals".to_owned()) }
}

#[derive(State, Serialize, Deserialize, Debug, Clone)]
struct Article {
    /// The working title.
    #[validate(length(min = 3, max = 60), custom = no_shouting)]
    title: String,
    /// Words written so far; each draft adds some.
    #[reducer(add)]
    #[validate(range(min = 0, max = 1000))]
    words: i64,
    /// One line per step, appended by the reducer.
    #[reducer(append)]
    log: Vec<String>,
    /// URL slug, set on publication.
    #[validate(pattern = "^[a-z0-9-]+$")]
    slug: Option<String>,
    /// Supersteps left before the recursion limit (computed by the engine).
    #[state(managed = "remaining_steps")]
    #[serde(default)]
    remaining_steps: i64,
}

fn build(words_per_draft: i64) -> TypedCompiledGraph<Article> {
    let mut graph = TypedGraph::<Article>::new();
    graph
        .add_node("draft", move |a: Article, _ctx| async move {
            Ok::<_, NodeError>(ArticleUpdate {
                words: Some(words_per_draft),
                log: Some(format!("drafted {words_per_draft} more words ({} steps left)", a.remaining_steps)),
                ..Default::default()
            })
        })
        .add_node("publish", |a: Article, _ctx| async move {
            let slug = a.title.to_lowercase().replace(' ', "-");
            Ok::<_, NodeError>(ArticleUpdate {
                log: Some(format!("published {} words as /{slug}", a.words)),
                slug: Some(slug),
                ..Default::default()
            })
        })
        .add_edge(START, "draft")
        .add_conditional_edges(
            "draft",
            |a: &Article| if a.words < 500 { "draft" } else { "publish" },
            ["draft", "publish"],
        )
        .add_edge("publish", END);
    graph.compile().expect("the graph is valid")
}

fn config() -> RunConfig {
    RunConfig::default().with_recursion_limit(10)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let input = ArticleUpdate { title: Some("Typed state in Rust".into()), ..Default::default() };

    let article = build(200).invoke(input.clone(), config()).await.expect("the run succeeds");
    println!("title: {}", article.title);
    println!("slug:  {}", article.slug.as_deref().unwrap_or("-"));
    println!("words: {}", article.words);
    for line in &article.log {
        println!("  - {line}");
    }

    // A 1200-word draft overshoots the 1000-word maximum.
    let err = build(1200).invoke(input, config()).await.expect_err("the draft is too long");
    println!("\nwith 1200-word drafts: {err}");

    // Input is validated too, and the error names the input as the writer.
    let shouting = ArticleUpdate { title: Some("HELLO".into()), ..Default::default() };
    let err = build(200).invoke(shouting, config()).await.expect_err("the title is rejected");
    println!("with a shouted title: {err}");
}
