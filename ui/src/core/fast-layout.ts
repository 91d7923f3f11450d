// A linear-time layered layout for big graphs (above LARGE_GRAPH nodes), where ELK's layered
// algorithm takes seconds on a slow machine. Same picture family as ELK's: left to right, back
// edges reversed by a depth-first search from START, longest-path layers, a few barycenter
// sweeps to reduce crossings, nodes stacked and centred per layer. Pure; no DOM.
import type { GraphSpec, Position } from "./spec-types";
import { END, START } from "./spec-types";
import { canvasEdges, nodesOf } from "./model";
import { NODE_SIZE, TERMINAL_SIZE } from "./layout";

const LAYER_GAP = 80;
const NODE_GAP = 36;

/** Positions for every node (and the START/END markers that are used). */
export function fastLayout(spec: GraphSpec, sweeps = 4): Record<string, Position> {
  const ids = nodesOf(spec).map((n) => n.id);
  const lines = canvasEdges(spec);
  const used = new Set<string>();
  for (const l of lines) {
    used.add(l.source);
    used.add(l.target);
  }
  const all = [...(used.has(START) || ids.length === 0 ? [START] : []), ...ids, ...(used.has(END) || ids.length === 0 ? [END] : [])];
  const index = new Map(all.map((id, i) => [id, i]));
  const n = all.length;
  const out: number[][] = Array.from({ length: n }, () => []);
  for (const l of lines) {
    const a = index.get(l.source);
    const b = index.get(l.target);
    if (a !== undefined && b !== undefined && a !== b) out[a]!.push(b);
  }

  // Depth-first search (iterative) from START, then from every unvisited node in document order:
  // an edge into a node still on the stack closes a loop and is reversed for layering.
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const dag: number[][] = Array.from({ length: n }, () => []);
  const visit = (root: number) => {
    const stack: [number, number][] = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [v, i] = top;
      const next = out[v]![i];
      if (next === undefined) {
        state[v] = 2;
        stack.pop();
        continue;
      }
      top[1]++;
      if (state[next] === 1) dag[next]!.push(v); // back edge: reversed
      else {
        dag[v]!.push(next);
        if (state[next] === 0) {
          state[next] = 1;
          stack.push([next, 0]);
        }
      }
    }
  };
  const start = index.get(START);
  if (start !== undefined) visit(start);
  for (let v = 0; v < n; v++) if (state[v] === 0) visit(v);

  // Longest-path layers over the DAG (Kahn's order).
  const indeg = new Int32Array(n);
  for (const targets of dag) for (const t of targets) indeg[t]!++;
  const layer = new Int32Array(n);
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    for (const t of dag[v]!) {
      layer[t] = Math.max(layer[t]!, layer[v]! + 1);
      if (--indeg[t]! === 0) queue.push(t);
    }
  }
  const end = index.get(END);
  if (end !== undefined) {
    let max = 0;
    for (let v = 0; v < n; v++) if (v !== end) max = Math.max(max, layer[v]!);
    layer[end] = max + 1;
  }
  if (start !== undefined) layer[start] = 0;

  // Order inside layers: topological order first, then barycenter sweeps down and up.
  const layers: number[][] = [];
  for (const v of queue.length === n ? queue : all.map((_, i) => i)) (layers[layer[v]!] ??= []).push(v);
  const pos = new Float64Array(n);
  const place = () => layers.forEach((l) => l?.forEach((v, i) => (pos[v] = i)));
  place();
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (let v = 0; v < n; v++) for (const t of dag[v]!) preds[t]!.push(v);
  const sortBy = (l: number[], nb: number[][]) => {
    const key = new Map<number, number>();
    for (const v of l) {
      const ns = nb[v]!;
      key.set(v, ns.length ? ns.reduce((s, u) => s + pos[u]!, 0) / ns.length : pos[v]!);
    }
    l.sort((a, b) => key.get(a)! - key.get(b)!);
    l.forEach((v, i) => (pos[v] = i));
  };
  for (let s = 0; s < sweeps; s++) {
    if (s % 2 === 0) for (let i = 1; i < layers.length; i++) sortBy(layers[i] ?? [], preds);
    else for (let i = layers.length - 2; i >= 0; i--) sortBy(layers[i] ?? [], dag);
  }

  // Coordinates: one column per layer, nodes stacked and centred on y = 0.
  const result: Record<string, Position> = {};
  const pitch = NODE_SIZE.height + NODE_GAP;
  layers.forEach((l, li) => {
    if (!l) return;
    const top = -((l.length - 1) * pitch) / 2;
    l.forEach((v, i) => {
      const id = all[v]!;
      const terminal = id === START || id === END;
      const dy = terminal ? (NODE_SIZE.height - TERMINAL_SIZE.height) / 2 : 0;
      result[id] = { x: li * (NODE_SIZE.width + LAYER_GAP), y: Math.round(top + i * pitch + dy) };
    });
  });
  return result;
}
