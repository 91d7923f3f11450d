// LangGraph's drawable graph (`GET /assistants/{id}/graph`, `get_graph().to_json()`) as a spec the
// canvas can show read-only, for servers without our import endpoint (a Python `langgraph dev`).
// Nodes become kind `code`; edges become plain edges (conditional ones labelled in `comment`);
// positions come from a simple layering by distance from `__start__`.
import type { EdgeSpec, GraphSpec, NodeSpec } from "../spec-types";
import { END, START } from "../spec-types";

interface GraphJson {
  nodes?: { id: string | number; name?: string; data?: unknown }[];
  edges?: { source: string | number; target: string | number; conditional?: boolean; data?: unknown }[];
}

/** Converts; throws when the JSON has no `nodes` list. */
export function specFromGraphJson(json: unknown, name: string): GraphSpec {
  const g = json as GraphJson;
  if (!g || !Array.isArray(g.nodes)) throw new Error("the graph JSON has no `nodes` list");
  const ids = g.nodes.map((n) => String(n.id)).filter((id) => id !== START && id !== END);
  const edges = (g.edges ?? []).map((e) => ({ source: String(e.source), target: String(e.target), conditional: !!e.conditional }));
  // Depth by breadth-first search from START; unreachable nodes go last.
  const depth = new Map<string, number>([[START, 0]]);
  const queue = [START];
  while (queue.length) {
    const cur = queue.shift()!;
    for (const e of edges) {
      if (e.source === cur && !depth.has(e.target)) {
        depth.set(e.target, (depth.get(cur) ?? 0) + 1);
        queue.push(e.target);
      }
    }
  }
  const perLayer = new Map<number, number>();
  const nodes: NodeSpec[] = ids.map((id) => {
    const d = depth.get(id) ?? Math.max(1, ...depth.values()) + 1;
    const slot = perLayer.get(d) ?? 0;
    perLayer.set(d, slot + 1);
    return { id, kind: "code", position: { x: d * 280, y: slot * 140 } };
  });
  const entryEdge = edges.find((e) => e.source === START);
  const specEdges: EdgeSpec[] = edges
    .filter((e) => e.source !== START)
    .map((e) => ({ source: e.source, target: e.target, ...(e.conditional ? { comment: "conditional" } : {}) }));
  return { version: 1, name, nodes, edges: specEdges, ...(entryEdge ? { entry: entryEdge.target } : {}) } as GraphSpec;
}
