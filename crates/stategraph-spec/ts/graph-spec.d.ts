// Generated from the Rust types of stategraph-spec (via its JSON Schema). Do not edit:
// run `STATEGRAPH_UPDATE_SCHEMA=1 cargo test -p stategraph-spec --test spec_schema`.

/**
 * A graph spec: the document the studio edits and [`compile`](crate::compile) turns into an engine
 * graph.
 */
export interface GraphSpec {
  /**
   * Format version; this build reads versions up to [`CURRENT_VERSION`] and upgrades older ones.
   */
  version: number;
  /**
   * Name of the graph (shown in drawings and events).
   */
  name: string;
  /**
   * What the graph does.
   */
  description?: string | null;
  /**
   * The state: each key with its type, reducer and default, in order.
   */
  state?: Record<string, StateKeySpec>;
  /**
   * The nodes.
   */
  nodes?: NodeSpec[];
  /**
   * The edges: plain, join, conditional and fan-out (`send`).
   */
  edges?: EdgeSpec[];
  /**
   * The node the graph starts at; shorthand for an edge from `__start__`. When absent, the
   * edges from `__start__` are the entry.
   */
  entry?: string | null;
  /**
   * Static interrupts.
   */
  interrupts?: Interrupts;
  /**
   * Retry policies, by node id.
   */
  retry?: Record<string, RetrySpec>;
  /**
   * Free-form data for tools (kept as is, never checked).
   */
  metadata?: Record<string, unknown>;
}

/**
 * One state key.
 */
export interface StateKeySpec {
  /**
   * The key's type as a JSON Schema fragment (`{"type": "array", "items": {...}}`), or a type
   * name as shorthand for `{"type": NAME}`. Only `type` is checked today (against the default);
   * absent = any value.
   */
  type?: unknown;
  /**
   * How writes in one step combine: `add`, `append`, `extend`, `merge`, `min`, `max` or
   * `add_messages` (LangGraph's message-list reducer).
   * Absent = the last value wins, and two writes in one step are an error.
   */
  reducer?: string | null;
  /**
   * The value the key holds before anything writes it.
   */
  default?: unknown;
}

/**
 * A node.
 */
export interface NodeSpec {
  /**
   * Unique id; the node's name in the engine. Not `__start__`/`__end__`, no `:` or `|`.
   */
  id: string;
  /**
   * The node kind, a name in the [`NodeKindRegistry`](crate::NodeKindRegistry).
   */
  kind: string;
  /**
   * The kind's configuration; each kind checks its own.
   */
  config?: Record<string, unknown>;
  /**
   * Where the canvas draws the node.
   */
  position?: Position | null;
  /**
   * Free-form data for the studio (kept as is, never checked).
   */
  ui?: Record<string, unknown>;
  /**
   * A note for people reading the graph.
   */
  comment?: string | null;
}

/**
 * A point on the canvas.
 */
export interface Position {
  /**
   * Horizontal coordinate.
   */
  x: number;
  /**
   * Vertical coordinate.
   */
  y: number;
}

/**
 * An edge. Which kind is decided by its fields: `sources` makes a join, `branches` a conditional
 * edge, `send` a fan-out, otherwise it is a plain edge.
 */
export type EdgeSpec = PlainEdge | JoinEdge | ConditionalEdge | SendEdge;

/**
 * `source` → `target`.
 */
export interface PlainEdge {
  /**
   * A node id or `__start__`.
   */
  source: string;
  /**
   * A node id or `__end__`.
   */
  target: string;
  /**
   * A note for people reading the graph.
   */
  comment?: string | null;
}

/**
 * `target` waits for all of `sources` (LangGraph's `add_edge([a, b], c)`).
 */
export interface JoinEdge {
  /**
   * Node ids, at least one.
   */
  sources: string[];
  /**
   * A node id.
   */
  target: string;
  /**
   * A note for people reading the graph.
   */
  comment?: string | null;
}

/**
 * After `source` runs, `condition` yields a label and the run goes to that branch's target.
 */
export interface ConditionalEdge {
  /**
   * A node id or `__start__`.
   */
  source: string;
  /**
   * The labelled targets, at least one; labels are unique.
   */
  branches: Branch[];
  /**
   * How the label is chosen.
   */
  condition: Condition;
  /**
   * A note for people reading the graph.
   */
  comment?: string | null;
}

/**
 * One way out of a conditional edge.
 */
export interface Branch {
  /**
   * What the condition yields to take this branch.
   */
  label: string;
  /**
   * A node id or `__end__`.
   */
  target: string;
}

/**
 * How a conditional edge picks its branch.
 */
export type Condition = {
  key: string;
} | {
  expr: string;
};

/**
 * A fan-out edge (map-reduce): after `source` runs, its `send` makes zero or more sends, each
 * running a node in the next step with its own input instead of the state (LangGraph's
 * `Send`). The sent node's writes are applied with the state's reducers, so a reducer key gathers
 * the results, and the node's own edges (e.g. to a reduce node) apply after the fan-out.
 *
 * ```yaml
 * - source: plan
 *   send: {target: write_joke, foreach: subjects, as: subject, with: [style]}
 * ```
 */
export interface SendEdge {
  /**
   * A node id or `__start__`.
   */
  source: string;
  /**
   * What is sent where.
   */
  send: SendSpec;
  /**
   * A note for people reading the graph.
   */
  comment?: string | null;
}

/**
 * The sends of a fan-out edge: declarative (`target` + `foreach`, which the Python export
 * translates) or an expression (`expr` + `targets`). Which one is decided by `expr`.
 */
export type SendSpec = ForEachSend | ExprSend;

/**
 * `{target: worker, foreach: items, as: item, with: [topic]}`: for every item of the list at
 * `foreach`, run `target` with the input `{item: ITEM, topic: STATE.topic}` — LangGraph's
 * `[Send("worker", {"item": i, "topic": state["topic"]}) for i in state["items"]]`.
 */
export interface ForEachSend {
  /**
   * The node every item is sent to.
   */
  target: string;
  /**
   * Where the list is: a state key (`items`), or a JSON pointer into the state whose first
   * segment is a state key (`/plan/items`). A missing or non-list value fails the run.
   */
  foreach: string;
  /**
   * The key the item gets in the input (`{as: item}`). Absent: the item itself is the input,
   * and it must be an object.
   */
  as?: string | null;
  /**
   * State keys copied into every input (keys without a value are left out).
   */
  with?: string[];
}

/**
 * `{expr: RHAI, targets: [worker]}`: the expression reads `state` and yields a send
 * `#{node: "worker", arg: #{...}}`, a node name of `targets`, `END`, or an array of these.
 */
export interface ExprSend {
  /**
   * The Rhai expression, e.g.
   * `state.docs.map(|d| #{node: "summarise", arg: #{doc: d}})`.
   */
  expr: string;
  /**
   * Every node the expression may send to or name (at least one); drawn as the edge's targets.
   * A send anywhere else fails the run.
   */
  targets: string[];
}

/**
 * Static interrupts: pause the run before or after these nodes (LangGraph's `interrupt_before`
 * and `interrupt_after`). Resuming a paused run needs a checkpointer.
 */
export interface Interrupts {
  /**
   * Pause before these nodes run.
   */
  before?: string[];
  /**
   * Pause after these nodes run.
   */
  after?: string[];
}

/**
 * A retry policy (LangGraph's `RetryPolicy`); absent fields take LangGraph's defaults
 * (0.5 s, ×2, at most 128 s, 3 attempts, jitter).
 */
export interface RetrySpec {
  /**
   * Attempts in all, including the first (≥ 1).
   */
  max_attempts?: number | null;
  /**
   * Seconds before the first retry.
   */
  initial_interval?: number | null;
  /**
   * Factor the delay grows by after each retry.
   */
  backoff_factor?: number | null;
  /**
   * Upper bound of the delay, in seconds.
   */
  max_interval?: number | null;
  /**
   * Add up to a second of random delay.
   */
  jitter?: boolean | null;
  /**
   * The fallback: when the last attempt failed (or the error is not retried), the node does not
   * fail the run but writes `"Kind: message"` to this state key and the run goes on, so a
   * condition can route to a fallback node. An attempt that succeeds sets the key to `null`.
   */
  error_key?: string | null;
}

