// The clipboard format: selected nodes plus the edges among them (and to END), as JSON text, so a copy in one
// file (or one window) pastes into another. Pasting gives every node a fresh id and moves it.
import type { EdgeSpec, GraphSpec, NodeSpec } from "./spec-types";
import { END } from "./spec-types";
import { edgesOf, isConditional, isJoin, isSend, mapSendTargets, nodesOf, sendTargets, uniqueNodeId } from "./model";

/** Marks our clipboard JSON. */
export const CLIPBOARD_FORMAT = "stategraph/clipboard";

/** What is on the clipboard. */
export interface ClipboardData {
  format: typeof CLIPBOARD_FORMAT;
  version: 1;
  nodes: NodeSpec[];
  edges: EdgeSpec[];
}

const inSet = (set: Set<string>) => (id: string) => set.has(id) || id === END;

/**
 * The selected nodes and the edges (or parts of edges) that stay inside the selection; edges to END
 * are kept too (edges from START are not: a paste must not add a second entry).
 */
export function copySelection(spec: GraphSpec, ids: Iterable<string>): ClipboardData {
  const set = new Set(ids);
  const keep = inSet(set);
  const nodes = nodesOf(spec).filter((n) => set.has(n.id));
  const edges: EdgeSpec[] = [];
  for (const e of edgesOf(spec)) {
    if (isJoin(e)) {
      const sources = e.sources.filter((s) => set.has(s));
      if (set.has(e.target) && sources.length) edges.push({ ...e, sources });
    } else if (isConditional(e)) {
      const branches = e.branches.filter((b) => keep(b.target));
      if (set.has(e.source) && branches.length) edges.push({ ...e, branches });
    } else if (isSend(e)) {
      if (set.has(e.source) && sendTargets(e).every(keep)) edges.push(e);
    } else if (set.has(e.source) && keep(e.target)) {
      edges.push(e);
    }
  }
  return { format: CLIPBOARD_FORMAT, version: 1, nodes, edges };
}

export function serializeClipboard(data: ClipboardData): string {
  return JSON.stringify(data, null, 2);
}

/** Reads clipboard text: our format, or a bare node / list of nodes. Returns null when it is neither. */
export function parseClipboard(text: string): ClipboardData | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const isNode = (x: unknown): x is NodeSpec =>
    !!x && typeof x === "object" && typeof (x as NodeSpec).id === "string" && typeof (x as NodeSpec).kind === "string";
  if (v && typeof v === "object" && (v as ClipboardData).format === CLIPBOARD_FORMAT) {
    const d = v as ClipboardData;
    if (Array.isArray(d.nodes) && d.nodes.every(isNode) && Array.isArray(d.edges)) return d;
    return null;
  }
  if (isNode(v)) return { format: CLIPBOARD_FORMAT, version: 1, nodes: [v], edges: [] };
  if (Array.isArray(v) && v.length && v.every(isNode)) return { format: CLIPBOARD_FORMAT, version: 1, nodes: v, edges: [] };
  return null;
}

/**
 * Clipboard content ready to add to `spec`: ids that clash get a new one (`a` → `a_2`), edges follow
 * the new ids, positions move by `offset`. Returns the nodes, the edges and the id mapping.
 */
export function preparePaste(
  spec: GraphSpec,
  data: ClipboardData,
  offset: { x: number; y: number } = { x: 40, y: 40 },
): { nodes: NodeSpec[]; edges: EdgeSpec[]; idMap: Map<string, string> } {
  const taken = new Set(nodesOf(spec).map((n) => n.id));
  const idMap = new Map<string, string>();
  const nodes = data.nodes.map((n) => {
    const id = uniqueNodeId(n.id, taken);
    taken.add(id);
    idMap.set(n.id, id);
    const pos = n.position ?? { x: 0, y: 0 };
    return { ...n, id, position: { x: pos.x + offset.x, y: pos.y + offset.y } };
  });
  const m = (id: string) => idMap.get(id) ?? id;
  const edges: EdgeSpec[] = data.edges.map((e) => {
    if (isJoin(e)) return { ...e, sources: e.sources.map(m), target: m(e.target) };
    if (isConditional(e)) return { ...e, source: m(e.source), branches: e.branches.map((b) => ({ ...b, target: m(b.target) })) };
    if (isSend(e)) return mapSendTargets({ ...e, source: m(e.source) }, m) ?? e;
    return { ...e, source: m(e.source), target: m(e.target) };
  });
  return { nodes, edges, idMap };
}
