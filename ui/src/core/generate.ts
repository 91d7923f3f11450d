// Generated specs of any size, for performance tests (the e2e opens a 500-node / 800-edge one).
import type { EdgeSpec, GraphSpec, NodeSpec } from "./spec-types";
import { END, SPEC_VERSION, START } from "./spec-types";

/**
 * A valid spec with `nodeCount` passthrough nodes and `edgeCount` edges, shaped like a large real
 * graph: nodes in layers of about `width`, every node fed from the layer before it, extra edges
 * mostly one or two layers forward and about one in twenty going back (loops). The pseudo-random
 * sequence is fixed by `seed`, so the same arguments give the same spec.
 */
export function generateSpec(nodeCount: number, edgeCount: number, seed = 7, width = 20): GraphSpec {
  let x = seed >>> 0;
  const rand = () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
  const pick = (n: number) => Math.min(n - 1, Math.floor(rand() * n));
  const id = (i: number) => `n${i}`;
  const nodes: NodeSpec[] = Array.from({ length: nodeCount }, (_, i) => ({ id: id(i), kind: "passthrough" }));
  const layers: number[][] = [];
  for (let i = 0; i < nodeCount; i++) {
    const l = Math.floor(i / width);
    (layers[l] ??= []).push(i);
  }
  const edges: EdgeSpec[] = [];
  const seen = new Set<string>();
  const add = (a: number, b: number) => {
    const k = `${a}>${b}`;
    if (a === b || seen.has(k)) return false;
    seen.add(k);
    edges.push({ source: id(a), target: id(b) });
    return true;
  };
  for (const n of layers[0] ?? []) edges.push({ source: START, target: id(n) });
  for (let l = 1; l < layers.length; l++) {
    const prev = layers[l - 1] ?? [];
    for (const n of layers[l] ?? []) add(prev[pick(prev.length)] ?? 0, n);
  }
  for (const n of layers[layers.length - 1] ?? []) edges.push({ source: id(n), target: END });
  for (let guard = 0; edges.length < edgeCount && guard < edgeCount * 100; guard++) {
    const a = pick(nodeCount);
    const la = Math.floor(a / width);
    const r = rand();
    const lb = r < 0.05 ? la - 1 - pick(2) : r < 0.8 ? la + 1 : la + 2;
    const layer = layers[lb];
    if (!layer) continue;
    add(a, layer[pick(layer.length)] ?? 0);
  }
  return { version: SPEC_VERSION, name: `generated_${nodeCount}`, state: {}, nodes, edges };
}
