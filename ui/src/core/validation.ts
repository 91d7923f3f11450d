// Mapping server problems (JSON pointers into the spec) onto what the canvas shows: nodes, canvas
// edges, state keys, or the spec as a whole.
import type { GraphSpec } from "./spec-types";
import { canvasEdgeId, edgesOf, isConditional, isJoin, isSend, nodesOf, sendTargets } from "./model";

/** A problem as the server reports it (`POST /stategraph/specs/validate`). */
export interface Problem {
  code: string;
  pointer: string;
  message: string;
  line?: number | null;
  column?: number | null;
}

/** What a problem is about. */
export type ProblemTarget =
  | { kind: "node"; id: string; field?: string }
  | { kind: "edge"; index: number; canvasIds: string[] }
  | { kind: "state"; key: string }
  | { kind: "spec"; field?: string };

/** A problem with its target resolved. */
export interface MappedProblem extends Problem {
  target: ProblemTarget;
}

/** Problems grouped by what they point at, for fast lookup while rendering. */
export interface ProblemIndex {
  all: MappedProblem[];
  byNode: Map<string, MappedProblem[]>;
  byEdge: Map<string, MappedProblem[]>;
  byStateKey: Map<string, MappedProblem[]>;
  spec: MappedProblem[];
}

/** Splits a JSON pointer into unescaped tokens (`/a~1b/0` → ["a/b", "0"]). */
export function pointerTokens(pointer: string): string[] {
  if (pointer === "" || pointer === "/") return [];
  return pointer
    .replace(/^\//, "")
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function index(token: string | undefined): number | null {
  return token !== undefined && /^\d+$/.test(token) ? Number(token) : null;
}

/** The canvas lines drawn for spec edge `i` (all of them, or the one part a pointer names). */
function canvasIdsFor(spec: GraphSpec, i: number, rest: string[]): string[] {
  const e = edgesOf(spec)[i];
  if (!e) return [];
  if (isConditional(e)) {
    const b = rest[0] === "branches" ? index(rest[1]) : null;
    if (b !== null && b < e.branches.length) return [canvasEdgeId(i, { branch: b })];
    return e.branches.map((_, j) => canvasEdgeId(i, { branch: j }));
  }
  if (isSend(e)) return sendTargets(e).map((_, j) => canvasEdgeId(i, { target: j }));
  if (isJoin(e)) {
    const s = rest[0] === "sources" ? index(rest[1]) : null;
    if (s !== null && s < e.sources.length) return [canvasEdgeId(i, { source: s })];
    return e.sources.map((_, j) => canvasEdgeId(i, { source: j }));
  }
  return [canvasEdgeId(i)];
}

/** What `pointer` points at in `spec`. */
export function resolvePointer(spec: GraphSpec, pointer: string): ProblemTarget {
  const [head, second, ...rest] = pointerTokens(pointer);
  const nodes = nodesOf(spec);
  if (head === "nodes") {
    const i = index(second);
    const node = i !== null ? nodes[i] : undefined;
    if (node) return { kind: "node", id: node.id, field: rest.length ? rest.join(".") : undefined };
    return { kind: "spec", field: "nodes" };
  }
  if (head === "edges") {
    const i = index(second);
    if (i !== null && i < edgesOf(spec).length) return { kind: "edge", index: i, canvasIds: canvasIdsFor(spec, i, rest) };
    return { kind: "spec", field: "edges" };
  }
  if (head === "state" && second !== undefined) return { kind: "state", key: second };
  if (head === "entry" && spec.entry) return { kind: "edge", index: -1, canvasIds: ["entry"] };
  if ((head === "retry") && second !== undefined && nodes.some((n) => n.id === second)) {
    return { kind: "node", id: second, field: ["retry", ...rest].join(".") };
  }
  if (head === "interrupts" && second !== undefined) {
    const i = index(rest[0]);
    const list = second === "before" ? spec.interrupts?.before : second === "after" ? spec.interrupts?.after : undefined;
    const id = i !== null ? list?.[i] : undefined;
    if (id && nodes.some((n) => n.id === id)) return { kind: "node", id, field: `interrupts.${second}` };
  }
  return { kind: "spec", field: head };
}

/** Resolves every problem and indexes them by node, canvas edge and state key. */
export function mapProblems(spec: GraphSpec, problems: Problem[]): ProblemIndex {
  const idx: ProblemIndex = { all: [], byNode: new Map(), byEdge: new Map(), byStateKey: new Map(), spec: [] };
  const push = <K>(m: Map<K, MappedProblem[]>, k: K, p: MappedProblem) => {
    const list = m.get(k);
    if (list) list.push(p);
    else m.set(k, [p]);
  };
  for (const p of problems) {
    const target = resolvePointer(spec, p.pointer);
    const mp: MappedProblem = { ...p, target };
    idx.all.push(mp);
    if (target.kind === "node") push(idx.byNode, target.id, mp);
    else if (target.kind === "edge") for (const id of target.canvasIds) push(idx.byEdge, id, mp);
    else if (target.kind === "state") push(idx.byStateKey, target.key, mp);
    else idx.spec.push(mp);
  }
  return idx;
}

/** An empty index (no problems). */
export const NO_PROBLEMS: ProblemIndex = mapProblems({ version: 1, name: "" }, []);
