//! A realistic checkpoint workload for benchmarks: a chat-agent thread whose state is a message
//! list of about 100 messages of about 200 bytes, plus 5 small keys, where each step changes only
//! one or two channels (as the engine's `new_versions` does).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use stategraph_checkpoint::testkit::workload::Conversation;
//! use stategraph_checkpoint::{CheckpointConfig, Checkpointer, InMemorySaver};
//! let saver = InMemorySaver::new();
//! let mut conversation = Conversation::start(&saver, "t").await.unwrap();
//! for _ in 0..10 {
//!     conversation.advance(&saver).await.unwrap();
//! }
//! let latest = saver.get_tuple(&CheckpointConfig::thread("t")).await.unwrap().unwrap();
//! assert_eq!(latest.checkpoint.channel_values["messages"].as_array().unwrap().len(), 95);
//! # }
//! ```

use serde_json::json;
use stategraph_value::Value;

use crate::{ChannelVersions, Checkpoint, CheckpointConfig, CheckpointMetadata, CheckpointSource, Checkpointer};

/// Messages in the input checkpoint; every other step appends one, so a 20-step conversation
/// holds 90 to 100 messages.
pub const FIRST_MESSAGES: usize = 90;

/// A message of about 200 bytes (role, id, content), as a chat model's output would be.
pub fn message(i: usize) -> Value {
    let role = if i.is_multiple_of(2) { "user" } else { "assistant" };
    let content = format!("{i:05} {}", "The quick brown fox jumps over the lazy dog. ".repeat(4));
    Value::from(json!({"type": role, "id": format!("msg-{i:06}"), "content": &content[..160]}))
}

/// A `put_next` call, prepared: the parent config and what to store.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The parent (the config `put_next` gets).
    pub config: CheckpointConfig,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Its changed channel versions.
    pub new_versions: ChannelVersions,
    /// Its metadata.
    pub metadata: CheckpointMetadata,
}

/// One thread of a chat agent, advanced step by step with `put_next` (as the engine saves steps).
#[derive(Clone, Debug)]
pub struct Conversation {
    config: CheckpointConfig,
    last: Checkpoint,
    step: i64,
}

impl Conversation {
    /// Stores the input checkpoint of a new thread: [`FIRST_MESSAGES`] messages and the 5 small
    /// keys, every channel new.
    pub async fn start(saver: &dyn Checkpointer, thread: &str) -> crate::Result<Conversation> {
        let (conversation, Planned { config, checkpoint, new_versions, metadata }) = Conversation::plan_start(thread);
        saver.put_next(&config, &checkpoint, &metadata, &new_versions).await?;
        Ok(conversation)
    }

    /// The input checkpoint of a new thread, not stored yet, and the conversation as it will be
    /// once it is.
    pub fn plan_start(thread: &str) -> (Conversation, Planned) {
        let mut cp = Checkpoint::empty();
        let messages: Vec<Value> = (0..FIRST_MESSAGES).map(message).collect();
        let small: [(&str, Value); 5] = [
            ("step_count", Value::from(0)),
            ("user_id", Value::from("user-4711")),
            ("route", Value::from("agent")),
            ("flags", Value::from(json!({"stream": true, "tools": ["search", "calculator"]}))),
            ("summary", Value::from("")),
        ];
        cp.channel_values.insert("messages".into(), Value::from(messages));
        for (k, v) in small {
            cp.channel_values.insert(k.into(), v);
        }
        cp.channel_versions = cp.channel_values.keys().map(|k| (k.clone(), 1)).collect();
        cp.updated_channels = Some(cp.channel_values.keys().cloned().collect());
        let planned = Planned {
            config: CheckpointConfig::thread(thread),
            new_versions: cp.channel_versions.clone(),
            metadata: CheckpointMetadata::new(CheckpointSource::Input, -1),
            checkpoint: cp.clone(),
        };
        let conversation = Conversation { config: CheckpointConfig::thread(thread).with_id(cp.id), last: cp, step: -1 };
        (conversation, planned)
    }

    /// The next step, not stored yet; the conversation moves on as if it were.
    pub fn plan_step(&mut self) -> Planned {
        let (checkpoint, new_versions, metadata) = self.next_checkpoint();
        let next = self.config.clone().with_id(checkpoint.id);
        let config = std::mem::replace(&mut self.config, next);
        self.last = checkpoint.clone();
        self.step += 1;
        Planned { config, checkpoint, new_versions, metadata }
    }

    /// The config of the latest checkpoint (where a step's `put_writes` go).
    pub fn config(&self) -> &CheckpointConfig {
        &self.config
    }

    /// The step of the latest checkpoint (-1 for the input).
    pub fn step(&self) -> i64 {
        self.step
    }

    /// The next checkpoint, its changed versions and metadata, without storing it: even steps
    /// append a message and bump `step_count` (the model node), odd steps change `route` only.
    pub fn next_checkpoint(&self) -> (Checkpoint, ChannelVersions, CheckpointMetadata) {
        let step = self.step + 1;
        let mut cp = self.last.next();
        let mut changed: Vec<(&str, Value)> = Vec::new();
        if step % 2 == 0 {
            let mut messages = cp.channel_values["messages"].as_array().cloned().unwrap_or_default();
            messages.push(message(messages.len()));
            changed.push(("messages", Value::from(messages)));
            changed.push(("step_count", Value::from(step)));
        } else {
            changed.push(("route", Value::from(if step % 4 == 1 { "tools" } else { "agent" })));
        }
        let mut new_versions = ChannelVersions::new();
        for (channel, value) in changed {
            let version = cp.channel_versions.get(channel).map_or(1, |v| v + 1);
            cp.channel_versions.insert(channel.to_owned(), version);
            cp.channel_values.insert(channel.to_owned(), value);
            new_versions.insert(channel.to_owned(), version);
        }
        cp.updated_channels = Some(new_versions.keys().cloned().collect());
        let node = if step % 2 == 0 { "agent" } else { "tools" };
        cp.versions_seen.insert(node.into(), cp.channel_versions.clone());
        let mut metadata = CheckpointMetadata::new(CheckpointSource::Loop, step);
        metadata.extra.insert("writes".into(), Value::from(json!({node: {"step": step}})));
        (cp, new_versions, metadata)
    }

    /// Stores the next step with `put_next`.
    pub async fn advance(&mut self, saver: &dyn Checkpointer) -> crate::Result<()> {
        let mut next = self.clone();
        let Planned { config, checkpoint, new_versions, metadata } = next.plan_step();
        saver.put_next(&config, &checkpoint, &metadata, &new_versions).await?;
        *self = next;
        Ok(())
    }

    /// The writes of one finished task of the current step: a message and a small key.
    pub fn task_writes(&self) -> Vec<(String, Value)> {
        vec![("messages".into(), message(1000)), ("step_count".into(), Value::from(self.step + 1))]
    }
}

/// The operations a benchmark times, each on its own thread so they do not disturb one another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// One step stored with `put_next` (a new conversation every 20 steps, its input included).
    Put,
    /// One task's writes (a message and a small key) under the latest checkpoint.
    PutWrites,
    /// The latest checkpoint of a 20-step conversation with 3 pending writes.
    GetTuple,
    /// The 10 newest checkpoints of that conversation.
    List,
}

impl Operation {
    /// All of them.
    pub const ALL: [Operation; 4] = [Operation::Put, Operation::PutWrites, Operation::GetTuple, Operation::List];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Put => "put",
            Operation::PutWrites => "put_writes",
            Operation::GetTuple => "get_tuple",
            Operation::List => "list",
        }
    }
}

/// Conversations prepared on one saver for timing [`Operation`]s (for criterion's `iter_custom`).
#[derive(Debug)]
pub struct Bench {
    prefix: String,
    writer: Conversation,
    writes_at: Conversation,
    read: Conversation,
    threads: usize,
    tasks: usize,
}

impl Bench {
    /// Prepares the conversations (thread names start with `prefix`).
    pub async fn prepare(saver: &dyn Checkpointer, prefix: &str) -> crate::Result<Bench> {
        let writer = Conversation::start(saver, &format!("{prefix}-put-0")).await?;
        let writes_at = Conversation::start(saver, &format!("{prefix}-writes")).await?;
        let mut read = Conversation::start(saver, &format!("{prefix}-read")).await?;
        for _ in 0..20 {
            read.advance(saver).await?;
        }
        for task in 0..3 {
            saver
                .put_writes(read.config(), &read.task_writes(), &format!("task-{task}"), "~__pregel_pull, agent")
                .await?;
        }
        Ok(Bench { prefix: prefix.to_owned(), writer, writes_at, read, threads: 1, tasks: 0 })
    }

    /// Runs `op` `iters` times and returns the time taken.
    pub async fn time(
        &mut self,
        saver: &dyn Checkpointer,
        op: Operation,
        iters: u64,
    ) -> crate::Result<std::time::Duration> {
        if op == Operation::Put {
            // Build the checkpoints first: the bench times the saver, not the workload.
            let mut planned = Vec::new();
            for _ in 0..iters {
                if self.writer.step() >= 19 {
                    let (conversation, first) =
                        Conversation::plan_start(&format!("{}-put-{}", self.prefix, self.threads));
                    self.writer = conversation;
                    self.threads += 1;
                    planned.push(first);
                } else {
                    planned.push(self.writer.plan_step());
                }
            }
            let start = std::time::Instant::now();
            for p in &planned {
                saver.put_next(&p.config, &p.checkpoint, &p.metadata, &p.new_versions).await?;
            }
            let took = start.elapsed();
            drop(planned);
            return Ok(took);
        }
        let writes = self.writes_at.task_writes();
        let start = std::time::Instant::now();
        for _ in 0..iters {
            match op {
                Operation::Put => unreachable!("timed above"),
                Operation::PutWrites => {
                    self.tasks += 1;
                    let task = format!("task-{}", self.tasks);
                    saver.put_writes(self.writes_at.config(), &writes, &task, "~__pregel_pull, agent").await?;
                }
                Operation::GetTuple => {
                    let latest = CheckpointConfig { checkpoint_id: None, ..self.read.config().clone() };
                    let found = saver.get_tuple(&latest).await?;
                    assert!(found.is_some_and(|t| t.pending_writes.len() == 6));
                }
                Operation::List => {
                    let found = saver.list(&crate::ListFilter::thread(&self.read.config().thread_id).limit(10)).await?;
                    assert_eq!(found.len(), 10);
                }
            }
        }
        Ok(start.elapsed())
    }
}
