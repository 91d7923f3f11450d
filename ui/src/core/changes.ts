// Edits as typed change objects, applied by pure functions: `applyChange(spec, change)` returns a
// new spec and never mutates its input (unchanged parts are shared, so history snapshots are cheap).
import type { Condition, EdgeSpec, GraphSpec, NodeSpec, Position, StateKeySpec } from "./spec-types";
import { END, START } from "./spec-types";
import {
  type EdgeKind,
  edgeKind,
  edgesOf,
  isConditional,
  isJoin,
  isPlain,
  isSend,
  isTerminal,
  mapSendTargets,
  sendTargets,
  nodesOf,
  parseCanvasEdgeId,
  withTerminalPosition,
} from "./model";

/** Where a comment goes. */
export type CommentTarget = { node: string } | { edge: number };

/** Every edit the editor can make. */
export type Change =
  | { type: "addNode"; node: NodeSpec }
  | { type: "moveNodes"; positions: Record<string, Position> }
  | { type: "removeElements"; nodes: string[]; edges: string[] }
  | { type: "connect"; source: string; target: string; mode: "plain" | "branch"; label?: string }
  | { type: "setEdgeKind"; edge: number; kind: EdgeKind }
  | { type: "addBranch"; edge: number; label: string; target: string }
  | { type: "updateBranch"; edge: number; branch: number; label?: string; target?: string }
  | { type: "removeBranch"; edge: number; branch: number }
  | { type: "setCondition"; edge: number; condition: Condition }
  | { type: "setJoinSources"; edge: number; sources: string[] }
  | { type: "setSend"; edge: number; send: Record<string, unknown> }
  | { type: "updateNodeConfig"; id: string; config: Record<string, unknown> }
  | { type: "renameNode"; from: string; to: string }
  | { type: "setStateKey"; key: string; spec: StateKeySpec; previousKey?: string }
  | { type: "removeStateKey"; key: string }
  | { type: "setEntry"; id: string | null }
  | { type: "setComment"; target: CommentTarget; comment: string | null }
  | { type: "setGraphInfo"; name?: string; description?: string | null }
  | { type: "paste"; nodes: NodeSpec[]; edges: EdgeSpec[] };

/** A change that cannot be applied to this spec (the message says why). */
export class ChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChangeError";
  }
}

/** Is `id` usable as a new node id next to `taken`? Returns the reason when not. */
export function checkNodeId(id: string, taken: Iterable<string>): string | null {
  if (!id) return "a node id cannot be empty";
  if (isTerminal(id)) return `\`${id}\` is reserved`;
  if (/[:|]/.test(id)) return "a node id cannot contain `:` or `|`";
  for (const t of taken) if (t === id) return `a node \`${id}\` already exists`;
  return null;
}

function replaceEdge(spec: GraphSpec, index: number, edge: EdgeSpec | null): GraphSpec {
  const edges = edgesOf(spec).slice();
  if (index < 0 || index >= edges.length) throw new ChangeError(`there is no edge #${index}`);
  if (edge) edges[index] = edge;
  else edges.splice(index, 1);
  return { ...spec, edges };
}

function edgeAt(spec: GraphSpec, index: number): EdgeSpec {
  const e = edgesOf(spec)[index];
  if (!e) throw new ChangeError(`there is no edge #${index}`);
  return e;
}

function uniqueLabel(base: string, taken: string[]): string {
  if (!taken.includes(base)) return base;
  for (let i = 2; ; i++) if (!taken.includes(`${base}_${i}`)) return `${base}_${i}`;
}

function withComment<T extends { comment?: string | null }>(x: T, comment: string | null): T {
  const copy = { ...x };
  if (comment) copy.comment = comment;
  else delete copy.comment;
  return copy;
}

/** Drops every reference to the removed nodes: edges, branches, join sources, entry, interrupts, retry. */
function dropNodeRefs(spec: GraphSpec, removed: Set<string>): GraphSpec {
  const edges: EdgeSpec[] = [];
  for (const e of edgesOf(spec)) {
    if (isJoin(e)) {
      if (removed.has(e.target)) continue;
      const sources = e.sources.filter((s) => !removed.has(s));
      if (sources.length === 0) continue;
      edges.push(sources.length === e.sources.length ? e : { ...e, sources });
    } else if (isConditional(e)) {
      if (removed.has(e.source)) continue;
      const branches = e.branches.filter((b) => !removed.has(b.target));
      if (branches.length === 0) continue;
      edges.push(branches.length === e.branches.length ? e : { ...e, branches });
    } else if (isSend(e)) {
      if (removed.has(e.source)) continue;
      const kept = mapSendTargets(e, (t) => (removed.has(t) ? null : t));
      if (kept) edges.push(kept);
    } else {
      if (removed.has(e.source) || removed.has(e.target)) continue;
      edges.push(e);
    }
  }
  const out: GraphSpec = { ...spec, edges, nodes: nodesOf(spec).filter((n) => !removed.has(n.id)) };
  if (out.entry && removed.has(out.entry)) out.entry = null;
  if (spec.interrupts) {
    out.interrupts = {
      ...spec.interrupts,
      before: spec.interrupts.before?.filter((n) => !removed.has(n)),
      after: spec.interrupts.after?.filter((n) => !removed.has(n)),
    };
  }
  if (spec.retry) out.retry = Object.fromEntries(Object.entries(spec.retry).filter(([k]) => !removed.has(k)));
  return out;
}

function removeCanvasEdges(spec: GraphSpec, ids: string[]): GraphSpec {
  let out = spec;
  // Parts to remove, grouped by spec edge; whole edges are removed last, highest index first.
  const whole = new Set<number>();
  const branches = new Map<number, Set<number>>();
  const sources = new Map<number, Set<number>>();
  for (const id of ids) {
    const p = parseCanvasEdgeId(id);
    if (p === "entry") out = { ...out, entry: null };
    else if (!p) throw new ChangeError(`\`${id}\` is not an edge id`);
    else if (p.branch !== undefined) branches.set(p.edgeIndex, (branches.get(p.edgeIndex) ?? new Set()).add(p.branch));
    else if (p.target !== undefined) whole.add(p.edgeIndex);
    else if (p.source !== undefined) sources.set(p.edgeIndex, (sources.get(p.edgeIndex) ?? new Set()).add(p.source));
    else whole.add(p.edgeIndex);
  }
  const edges = edgesOf(out).slice();
  for (const [i, set] of branches) {
    const e = edges[i];
    if (!e || !isConditional(e)) throw new ChangeError(`edge #${i} has no branches`);
    const rest = e.branches.filter((_, j) => !set.has(j));
    if (rest.length === 0) whole.add(i);
    else edges[i] = { ...e, branches: rest };
  }
  for (const [i, set] of sources) {
    const e = edges[i];
    if (!e || !isJoin(e)) throw new ChangeError(`edge #${i} is not a join`);
    const rest = e.sources.filter((_, j) => !set.has(j));
    if (rest.length === 0) whole.add(i);
    else edges[i] = { ...e, sources: rest };
  }
  return { ...out, edges: edges.filter((_, i) => !whole.has(i)) };
}

function renameIn(id: string, from: string, to: string): string {
  return id === from ? to : id;
}

/** Applies one change; throws [`ChangeError`] when the change does not fit the spec. */
export function applyChange(spec: GraphSpec, change: Change): GraphSpec {
  switch (change.type) {
    case "addNode": {
      const why = checkNodeId(change.node.id, nodesOf(spec).map((n) => n.id));
      if (why) throw new ChangeError(why);
      return { ...spec, nodes: [...nodesOf(spec), change.node] };
    }
    case "moveNodes": {
      let out = spec;
      for (const t of [START, END]) {
        const p = change.positions[t];
        if (p) out = withTerminalPosition(out, t, p);
      }
      const nodes = nodesOf(out).map((n) => {
        const p = change.positions[n.id];
        return p ? { ...n, position: { x: p.x, y: p.y } } : n;
      });
      return { ...out, nodes };
    }
    case "removeElements": {
      const out = change.edges.length ? removeCanvasEdges(spec, change.edges) : spec;
      const nodes = new Set(change.nodes.filter((n) => !isTerminal(n)));
      return nodes.size ? dropNodeRefs(out, nodes) : out;
    }
    case "connect": {
      const { source, target } = change;
      if (source === END) throw new ChangeError("nothing can leave __end__");
      if (target === START) throw new ChangeError("nothing can go into __start__");
      const edges = edgesOf(spec);
      if (change.mode === "plain") {
        const dup = edges.some((e) => isPlain(e) && e.source === source && e.target === target);
        if (dup) return spec;
        return { ...spec, edges: [...edges, { source, target }] };
      }
      const idx = edges.findIndex((e) => isConditional(e) && e.source === source);
      const base = change.label ?? (target === END ? "end" : target);
      if (idx < 0) {
        return {
          ...spec,
          edges: [...edges, { source, condition: { expr: "" }, branches: [{ label: base, target }] }],
        };
      }
      const e = edges[idx];
      if (!e || !isConditional(e)) throw new ChangeError("internal: not a conditional edge");
      const label = uniqueLabel(base, e.branches.map((b) => b.label));
      return replaceEdge(spec, idx, { ...e, branches: [...e.branches, { label, target }] });
    }
    case "setEdgeKind": {
      const e = edgeAt(spec, change.edge);
      const from = edgeKind(e);
      if (from === change.kind) return spec;
      const comment = e.comment ? { comment: e.comment } : {};
      const source = isJoin(e) ? (e.sources[0] ?? START) : e.source;
      const target = isConditional(e) ? (e.branches[0]?.target ?? END) : isSend(e) ? (sendTargets(e)[0] ?? END) : e.target;
      let next: EdgeSpec;
      if (change.kind === "plain") next = { source, target, ...comment };
      else if (change.kind === "send") {
        if (target === END) throw new ChangeError("a send runs a node; __end__ cannot be its target");
        // `foreach` is left for the user to fill in (validation points at it).
        next = { source, send: { target, foreach: "" }, ...comment } as unknown as EdgeSpec;
      }
      else if (change.kind === "join") {
        if (source === START) throw new ChangeError("a join waits for nodes; __start__ cannot be one of its sources");
        next = { sources: [source], target, ...comment };
      } else next = { source, condition: { expr: "" }, branches: [{ label: target === END ? "end" : target, target }], ...comment };
      return replaceEdge(spec, change.edge, next);
    }
    case "addBranch": {
      const e = edgeAt(spec, change.edge);
      if (!isConditional(e)) throw new ChangeError(`edge #${change.edge} is not conditional`);
      const label = uniqueLabel(change.label || "branch", e.branches.map((b) => b.label));
      return replaceEdge(spec, change.edge, { ...e, branches: [...e.branches, { label, target: change.target }] });
    }
    case "updateBranch": {
      const e = edgeAt(spec, change.edge);
      if (!isConditional(e)) throw new ChangeError(`edge #${change.edge} is not conditional`);
      const b = e.branches[change.branch];
      if (!b) throw new ChangeError(`edge #${change.edge} has no branch #${change.branch}`);
      const branches = e.branches.slice();
      branches[change.branch] = { label: change.label ?? b.label, target: change.target ?? b.target };
      return replaceEdge(spec, change.edge, { ...e, branches });
    }
    case "removeBranch": {
      const e = edgeAt(spec, change.edge);
      if (!isConditional(e)) throw new ChangeError(`edge #${change.edge} is not conditional`);
      const branches = e.branches.filter((_, j) => j !== change.branch);
      return replaceEdge(spec, change.edge, branches.length ? { ...e, branches } : null);
    }
    case "setCondition": {
      const e = edgeAt(spec, change.edge);
      if (!isConditional(e)) throw new ChangeError(`edge #${change.edge} is not conditional`);
      return replaceEdge(spec, change.edge, { ...e, condition: change.condition });
    }
    case "setJoinSources": {
      const e = edgeAt(spec, change.edge);
      if (!isJoin(e)) throw new ChangeError(`edge #${change.edge} is not a join`);
      if (change.sources.length === 0) throw new ChangeError("a join needs at least one source");
      return replaceEdge(spec, change.edge, { ...e, sources: change.sources });
    }
    case "setSend": {
      const e = edgeAt(spec, change.edge);
      if (!isSend(e)) throw new ChangeError(`edge #${change.edge} is not a send edge`);
      return replaceEdge(spec, change.edge, { ...e, send: change.send } as unknown as EdgeSpec);
    }
    case "updateNodeConfig": {
      let found = false;
      const nodes = nodesOf(spec).map((n) => {
        if (n.id !== change.id) return n;
        found = true;
        return { ...n, config: change.config };
      });
      if (!found) throw new ChangeError(`there is no node \`${change.id}\``);
      return { ...spec, nodes };
    }
    case "renameNode": {
      const { from, to } = change;
      if (from === to) return spec;
      if (!nodesOf(spec).some((n) => n.id === from)) throw new ChangeError(`there is no node \`${from}\``);
      const why = checkNodeId(to, nodesOf(spec).map((n) => n.id));
      if (why) throw new ChangeError(why);
      const r = (id: string) => renameIn(id, from, to);
      const edges: EdgeSpec[] = edgesOf(spec).map((e) => {
        if (isJoin(e)) return { ...e, sources: e.sources.map(r), target: r(e.target) };
        if (isConditional(e)) return { ...e, source: r(e.source), branches: e.branches.map((b) => ({ ...b, target: r(b.target) })) };
        if (isSend(e)) return mapSendTargets({ ...e, source: r(e.source) }, r) ?? e;
        return { ...e, source: r(e.source), target: r(e.target) };
      });
      const out: GraphSpec = { ...spec, nodes: nodesOf(spec).map((n) => (n.id === from ? { ...n, id: to } : n)), edges };
      if (spec.entry === from) out.entry = to;
      if (spec.interrupts) {
        out.interrupts = { ...spec.interrupts, before: spec.interrupts.before?.map(r), after: spec.interrupts.after?.map(r) };
      }
      if (spec.retry && from in spec.retry) {
        out.retry = Object.fromEntries(Object.entries(spec.retry).map(([k, v]) => [r(k), v]));
      }
      return out;
    }
    case "setStateKey": {
      const state = spec.state ?? {};
      const key = change.key.trim();
      if (!key) throw new ChangeError("a state key needs a name");
      const prev = change.previousKey;
      if (prev !== undefined && prev !== key) {
        if (key in state) throw new ChangeError(`a state key \`${key}\` already exists`);
        // Rename in place, keeping the order of keys.
        const next: Record<string, StateKeySpec> = {};
        for (const [k, v] of Object.entries(state)) next[k === prev ? key : k] = k === prev ? change.spec : v;
        return { ...spec, state: next };
      }
      return { ...spec, state: { ...state, [key]: change.spec } };
    }
    case "removeStateKey": {
      const state = { ...(spec.state ?? {}) };
      delete state[change.key];
      return { ...spec, state };
    }
    case "setEntry": {
      if (change.id !== null && !nodesOf(spec).some((n) => n.id === change.id)) {
        throw new ChangeError(`there is no node \`${change.id}\``);
      }
      return { ...spec, entry: change.id };
    }
    case "setComment": {
      const t = change.target;
      if ("node" in t) {
        if (!nodesOf(spec).some((n) => n.id === t.node)) throw new ChangeError(`there is no node \`${t.node}\``);
        return { ...spec, nodes: nodesOf(spec).map((n) => (n.id === t.node ? withComment(n, change.comment) : n)) };
      }
      return replaceEdge(spec, t.edge, withComment(edgeAt(spec, t.edge), change.comment));
    }
    case "setGraphInfo": {
      const out = { ...spec };
      if (change.name !== undefined) out.name = change.name;
      if (change.description !== undefined) out.description = change.description;
      return out;
    }
    case "paste": {
      const taken = nodesOf(spec).map((n) => n.id);
      for (const n of change.nodes) {
        const why = checkNodeId(n.id, taken);
        if (why) throw new ChangeError(why);
        taken.push(n.id);
      }
      return { ...spec, nodes: [...nodesOf(spec), ...change.nodes], edges: [...edgesOf(spec), ...change.edges] };
    }
  }
}

/** Applies changes in order (all or nothing: a failing change throws and nothing is kept). */
export function applyChanges(spec: GraphSpec, changes: Change[]): GraphSpec {
  return changes.reduce(applyChange, spec);
}
