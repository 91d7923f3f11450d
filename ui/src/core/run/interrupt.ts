// Interrupts as the interrupt pane shows them: LangGraph's Agent Inbox `HumanInterrupt`
// (`{action_request: {action, args}, config: {allow_accept, allow_edit, allow_respond,
// allow_ignore}, description}` — what our `human` kind sends) becomes accept / edit / respond /
// ignore choices with typed forms; anything else is answered with free JSON.
import type { JsonSchema } from "../schema-form";
import type { Interrupt } from "./client";

/** What an interrupt asks for. */
export interface InterruptModel {
  id: string;
  /** The node that paused (when known). */
  node: string | null;
  value: unknown;
  inbox: {
    action: string;
    args: Record<string, unknown>;
    description: string;
    allow: { accept: boolean; edit: boolean; respond: boolean; ignore: boolean };
    /** Schema of the edited args (from the interrupt's `response_schema`), if any. */
    argsSchema: JsonSchema | null;
    /** Schema of a `response` answer, if any. */
    responseSchema: JsonSchema | null;
    /** The previous answer's problem (our `human` kind re-asks with `error`). */
    error: string | null;
  } | null;
  /** The interrupt's own `response_schema` (JSON fallback validation hint). */
  schema: JsonSchema | null;
}

function rec(v: unknown): Record<string, unknown> | null {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** The variant schema of answer type `type` in a `oneOf` response schema (our `human` kind's). */
function variantArgs(schema: JsonSchema | null, type: string): JsonSchema | null {
  for (const v of schema?.oneOf ?? []) {
    const props = v.properties ?? {};
    if (props.type?.const === type) return (props.args as JsonSchema | undefined) ?? null;
  }
  return null;
}

/** Reads one interrupt. A list-valued interrupt (`[HumanInterrupt]`) is read by its first item. */
export function readInterrupt(i: Interrupt, node: string | null = null): InterruptModel {
  const schema = (rec(i.response_schema) as JsonSchema | null) ?? null;
  const raw = Array.isArray(i.value) && i.value.length === 1 ? i.value[0] : i.value;
  const v = rec(raw);
  const ar = rec(v?.action_request);
  const cfg = rec(v?.config);
  let inbox: InterruptModel["inbox"] = null;
  if (ar && cfg) {
    const edit = variantArgs(schema, "edit");
    inbox = {
      action: String(ar.action ?? ""),
      args: rec(ar.args) ?? {},
      description: typeof v?.description === "string" ? v.description : "",
      allow: { accept: !!cfg.allow_accept, edit: !!cfg.allow_edit, respond: !!cfg.allow_respond, ignore: !!cfg.allow_ignore },
      argsSchema: (rec(edit?.properties?.args) as JsonSchema | null) ?? inferSchema(rec(ar.args) ?? {}),
      responseSchema: variantArgs(schema, "response"),
      error: typeof v?.error === "string" ? v.error : v?.error ? JSON.stringify(v.error) : null,
    };
  }
  return { id: i.id, node, value: i.value, inbox, schema };
}

/** An Agent Inbox answer. */
export type InboxAnswer =
  | { type: "accept" }
  | { type: "edit"; args: Record<string, unknown> }
  | { type: "response"; text: unknown }
  | { type: "ignore" };

/** The resume value (`HumanResponse`) for an inbox answer. */
export function humanResponse(model: InterruptModel, answer: InboxAnswer): unknown {
  switch (answer.type) {
    case "accept":
      return { type: "accept", args: null };
    case "ignore":
      return { type: "ignore", args: null };
    case "response":
      return { type: "response", args: answer.text };
    case "edit":
      return { type: "edit", args: { action: model.inbox?.action ?? "", args: answer.args } };
  }
}

/**
 * The `command.resume` for several answers: one pending interrupt and one answer → the bare value
 * (what every server takes); otherwise a map interrupt id → value (resume several by id).
 */
export function resumeCommand(answers: Map<string, unknown>, pendingCount: number): unknown {
  if (answers.size === 1 && pendingCount === 1) return [...answers.values()][0];
  return Object.fromEntries(answers);
}

/**
 * A schema guessed from example args (when the interrupt carries no `response_schema`, as in a
 * thread's state): each key typed by its current value, so the edit form still has typed fields.
 */
export function inferSchema(args: Record<string, unknown>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(args)) {
    const t = v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
    properties[k] = t === "number" ? { type: "number" } : t === "string" || t === "boolean" || t === "array" || t === "object" ? { type: t } : {};
  }
  return { type: "object", properties };
}

/** Interrupt `response_schema`s seen in a stream event (`__interrupt__` in updates or values), by id. */
export function schemasInEvent(data: unknown, into: Map<string, unknown>): void {
  const list = rec(data)?.__interrupt__;
  if (!Array.isArray(list)) return;
  for (const i of list) {
    const r = rec(i);
    if (r && typeof r.id === "string" && r.response_schema) into.set(r.id, r.response_schema);
  }
}
