// Reading a spec: edge kinds, canvas edges (one per drawn line) and small helpers. Pure functions.
import type { ConditionalEdge, EdgeSpec, GraphSpec, JoinEdge, NodeSpec, PlainEdge, Position } from "./spec-types";
import { END, SPEC_VERSION, START } from "./spec-types";

/** The edge kinds of a spec. */
export type EdgeKind = "plain" | "join" | "conditional" | "send";

/** The fan-out (`send`) edge of the generated types. */
export type SendEdgeSpec = Extract<EdgeSpec, { send: unknown }>;

/** Which kind an edge is (decided by its fields, as in the Rust type). */
export function edgeKind(edge: EdgeSpec): EdgeKind {
  if ("sources" in edge && Array.isArray((edge as JoinEdge).sources)) return "join";
  if ("branches" in edge && Array.isArray((edge as ConditionalEdge).branches)) return "conditional";
  if ("send" in edge && (edge as { send?: unknown }).send && typeof (edge as { send?: unknown }).send === "object") return "send";
  return "plain";
}

export function isSend(edge: EdgeSpec): edge is SendEdgeSpec {
  return edgeKind(edge) === "send";
}

/** The nodes a send edge may run: `send.target`, or every name in `send.targets`. */
export function sendTargets(edge: EdgeSpec): string[] {
  const send = (edge as { send?: { target?: unknown; targets?: unknown } }).send;
  if (!send) return [];
  if (Array.isArray(send.targets)) return send.targets.filter((t): t is string => typeof t === "string");
  return typeof send.target === "string" ? [send.target] : [];
}

/** The send edge with its target(s) renamed by `f`; `null` when no target is left. */
export function mapSendTargets<E extends EdgeSpec>(edge: E, f: (id: string) => string | null): E | null {
  const send = (edge as { send?: Record<string, unknown> }).send;
  if (!send) return edge;
  if (Array.isArray(send.targets)) {
    const targets = (send.targets as string[]).map(f).filter((t): t is string => t !== null);
    return targets.length ? ({ ...edge, send: { ...send, targets } } as E) : null;
  }
  const t = typeof send.target === "string" ? f(send.target) : null;
  return t === null ? null : ({ ...edge, send: { ...send, target: t } } as E);
}

export function isJoin(edge: EdgeSpec): edge is JoinEdge {
  return edgeKind(edge) === "join";
}
export function isConditional(edge: EdgeSpec): edge is ConditionalEdge {
  return edgeKind(edge) === "conditional";
}
export function isPlain(edge: EdgeSpec): edge is PlainEdge {
  return edgeKind(edge) === "plain";
}

/** The source node ids of an edge (several for a join). */
export function edgeSources(edge: EdgeSpec): string[] {
  return isJoin(edge) ? edge.sources : [(edge as PlainEdge | ConditionalEdge | SendEdgeSpec).source];
}

/** The target node ids of an edge (several for a conditional edge). */
export function edgeTargets(edge: EdgeSpec): string[] {
  if (isSend(edge)) return sendTargets(edge);
  return isConditional(edge) ? edge.branches.map((b) => b.target) : [(edge as PlainEdge | JoinEdge).target];
}

/** One line on the canvas. A spec edge draws one or more of them. */
export interface CanvasEdge {
  /**
   * Stable while the spec's edge list is unchanged: `e<index>`, `e<index>.b<branch>`,
   * `e<index>.s<source>`, `e<index>.t<send target>`, or `entry`.
   */
  id: string;
  source: string;
  target: string;
  kind: EdgeKind | "entry";
  /** Index of the spec edge (absent for the `entry` shorthand). */
  edgeIndex?: number;
  /** Branch index of a conditional edge. */
  branchIndex?: number;
  /** Source index of a join edge. */
  sourceIndex?: number;
  /** Target index of a send edge. */
  targetIndex?: number;
  /** Label drawn on the line (branch label, `join`). */
  label?: string;
}

export function canvasEdgeId(edgeIndex: number, part?: { branch?: number; source?: number; target?: number }): string {
  if (part?.branch !== undefined) return `e${edgeIndex}.b${part.branch}`;
  if (part?.target !== undefined) return `e${edgeIndex}.t${part.target}`;
  if (part?.source !== undefined) return `e${edgeIndex}.s${part.source}`;
  return `e${edgeIndex}`;
}

/** Parses a canvas edge id back into its spec edge index and part. */
export function parseCanvasEdgeId(
  id: string,
): { edgeIndex: number; branch?: number; source?: number; target?: number } | "entry" | null {
  if (id === "entry") return "entry";
  const m = /^e(\d+)(?:\.([bst])(\d+))?$/.exec(id);
  if (!m) return null;
  const edgeIndex = Number(m[1]);
  if (m[2] === "b") return { edgeIndex, branch: Number(m[3]) };
  if (m[2] === "t") return { edgeIndex, target: Number(m[3]) };
  if (m[2] === "s") return { edgeIndex, source: Number(m[3]) };
  return { edgeIndex };
}

/** Every line the canvas draws for a spec. */
export function canvasEdges(spec: GraphSpec): CanvasEdge[] {
  const out: CanvasEdge[] = [];
  if (spec.entry) out.push({ id: "entry", source: START, target: spec.entry, kind: "entry" });
  (spec.edges ?? []).forEach((edge, i) => {
    if (isConditional(edge)) {
      edge.branches.forEach((b, j) =>
        out.push({
          id: canvasEdgeId(i, { branch: j }),
          source: edge.source,
          target: b.target,
          kind: "conditional",
          edgeIndex: i,
          branchIndex: j,
          label: b.label,
        }),
      );
    } else if (isSend(edge)) {
      sendTargets(edge).forEach((t, j) =>
        out.push({
          id: canvasEdgeId(i, { target: j }),
          source: edge.source,
          target: t,
          kind: "send",
          edgeIndex: i,
          targetIndex: j,
          label: "send",
        }),
      );
    } else if (isJoin(edge)) {
      edge.sources.forEach((s, j) =>
        out.push({
          id: canvasEdgeId(i, { source: j }),
          source: s,
          target: edge.target,
          kind: "join",
          edgeIndex: i,
          sourceIndex: j,
          label: "join",
        }),
      );
    } else {
      out.push({ id: canvasEdgeId(i), source: edge.source, target: edge.target, kind: "plain", edgeIndex: i });
    }
  });
  return out;
}

/** A new, empty document. */
export function emptySpec(name = "untitled"): GraphSpec {
  return { version: SPEC_VERSION, name, state: {}, nodes: [], edges: [] };
}

/** The key under `metadata` where the studio keeps its own drawing data (START/END positions). */
export const STUDIO_META = "studio";

interface StudioMeta {
  positions?: Record<string, Position>;
}

function studioMeta(spec: GraphSpec): StudioMeta {
  const m = spec.metadata?.[STUDIO_META];
  return m && typeof m === "object" ? (m as StudioMeta) : {};
}

/** Where the START or END marker is drawn (defaults beside the graph). */
export function terminalPosition(spec: GraphSpec, id: typeof START | typeof END): Position {
  const p = studioMeta(spec).positions?.[id];
  if (p) return p;
  return id === START ? { x: -200, y: 150 } : { x: 600, y: 150 };
}

/** The spec with a terminal's position stored in its metadata. */
export function withTerminalPosition(spec: GraphSpec, id: string, pos: Position): GraphSpec {
  const meta = studioMeta(spec);
  return {
    ...spec,
    metadata: { ...spec.metadata, [STUDIO_META]: { ...meta, positions: { ...meta.positions, [id]: pos } } },
  };
}

/** Is `id` one of the virtual START/END nodes? */
export function isTerminal(id: string): boolean {
  return id === START || id === END;
}

/** Node lookup by id. */
export function nodeIndex(spec: GraphSpec): Map<string, number> {
  const m = new Map<string, number>();
  (spec.nodes ?? []).forEach((n, i) => m.set(n.id, i));
  return m;
}

/** A node id not used yet, from a base name (`llm`, `llm_2`, `llm_3`...). */
export function uniqueNodeId(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const clean = base.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "node";
  if (!used.has(clean) && !isTerminal(clean)) return clean;
  for (let i = 2; ; i++) {
    const id = `${clean}_${i}`;
    if (!used.has(id)) return id;
  }
}

/** The nodes of the spec (never undefined). */
export function nodesOf(spec: GraphSpec): NodeSpec[] {
  return spec.nodes ?? [];
}

/** The edges of the spec (never undefined). */
export function edgesOf(spec: GraphSpec): EdgeSpec[] {
  return spec.edges ?? [];
}
