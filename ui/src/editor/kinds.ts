// Node kinds when the server cannot list them (e.g. a Python `langgraph dev`): the spec crate's
// built-in names only, without config schemas (the inspector then edits the config as JSON).
import type { NodeKindInfo } from "../core/api";

export const FALLBACK_KINDS: NodeKindInfo[] = [
  "passthrough",
  "set",
  "script",
  "transform",
  "template",
  "http",
  "subgraph",
  "human",
  "llm",
  "tools",
].map((kind) => ({ kind, title: kind, description: "", config_schema: null }));

/** A short glyph per kind for the palette and nodes. */
export function kindGlyph(kind: string): string {
  switch (kind) {
    case "script":
      return "{}";
    case "transform":
      return "ƒ";
    case "template":
      return "T";
    case "http":
      return "⇄";
    case "subgraph":
      return "▣";
    case "human":
      return "☺";
    case "llm":
      return "✦";
    case "tools":
      return "⚒";
    case "set":
      return "=";
    case "passthrough":
      return "→";
    default:
      return "●";
  }
}
