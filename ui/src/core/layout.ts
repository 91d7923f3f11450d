// Auto-layout: the spec as an ELK graph (layered, left to right; ELK breaks cycles itself), and
// ELK's answer as node positions. `layoutSpec` runs ELK; the input/output mapping is pure.
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import type { GraphSpec, Position } from "./spec-types";
import { END, START } from "./spec-types";
import { canvasEdges, nodesOf } from "./model";

/** The size the canvas draws a node at (layout needs it; the node components use the same). */
export const NODE_SIZE = { width: 220, height: 64 } as const;
/** The size of the START/END markers. */
export const TERMINAL_SIZE = { width: 96, height: 40 } as const;

/**
 * Above this many nodes the editor uses the linear-time layout of fast-layout.ts instead of ELK
 * (ELK's options below still trade crossing reduction for speed if it is called on one).
 */
export const LARGE_GRAPH = 300;

/** ELK options: layered, left to right, depth-first cycle breaking (back edges are the ones that close loops). */
export function elkOptions(nodeCount: number): Record<string, string> {
  const large = nodeCount > LARGE_GRAPH;
  const opts: Record<string, string> = {
    "elk.algorithm": "layered",
    "elk.direction": "RIGHT",
    "elk.layered.cycleBreaking.strategy": "DEPTH_FIRST",
    "elk.layered.spacing.nodeNodeBetweenLayers": "80",
    "elk.spacing.nodeNode": "36",
    "elk.edgeRouting": "POLYLINE",
  };
  if (large) {
    // Keep the nodes in document order inside each layer instead of sweeping for fewer
    // crossings: the sweeps are most of ELK's time on big graphs.
    opts["elk.layered.crossingMinimization.strategy"] = "NONE";
    opts["elk.layered.nodePlacement.strategy"] = "BRANDES_KOEPF";
    opts["elk.layered.thoroughness"] = "1";
  } else {
    opts["elk.layered.nodePlacement.strategy"] = "NETWORK_SIMPLEX";
  }
  return opts;
}

/** The spec as an ELK graph: its nodes, the START/END markers that are used, one edge per canvas line. */
export function toElkGraph(spec: GraphSpec): ElkNode {
  const lines = canvasEdges(spec);
  const used = new Set<string>();
  for (const l of lines) {
    used.add(l.source);
    used.add(l.target);
  }
  const nodes = nodesOf(spec);
  const children: ElkNode[] = nodes.map((n) => ({ id: n.id, ...NODE_SIZE }));
  for (const t of [START, END]) if (used.has(t) || nodes.length === 0) children.push({ id: t, ...TERMINAL_SIZE });
  const ids = new Set(children.map((c) => c.id));
  // Edges to unknown nodes (an invalid spec) are left out rather than making ELK throw.
  const edges: ElkExtendedEdge[] = lines
    .filter((l) => ids.has(l.source) && ids.has(l.target))
    .map((l) => ({ id: l.id, sources: [l.source], targets: [l.target] }));
  if (ids.has(START)) {
    // Keep START in the first layer and END in the last.
    const s = children.find((c) => c.id === START);
    if (s) s.layoutOptions = { "elk.layered.layering.layerConstraint": "FIRST_SEPARATE" };
  }
  if (ids.has(END)) {
    const e = children.find((c) => c.id === END);
    if (e) e.layoutOptions = { "elk.layered.layering.layerConstraint": "LAST_SEPARATE" };
  }
  return { id: "root", layoutOptions: elkOptions(nodes.length), children, edges };
}

/** ELK's result as positions by node id (top-left corners, as the canvas uses them). */
export function positionsFromElk(result: ElkNode): Record<string, Position> {
  const out: Record<string, Position> = {};
  for (const c of result.children ?? []) out[c.id] = { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) };
  return out;
}

/** Anything that lays out an ELK graph (elkjs's `ELK` instance). */
export interface ElkLike {
  layout(graph: ElkNode): Promise<ElkNode>;
}

/** Lays out the spec; returns positions for its nodes and the START/END markers. */
export async function layoutSpec(elk: ElkLike, spec: GraphSpec): Promise<Record<string, Position>> {
  return positionsFromElk(await elk.layout(toElkGraph(spec)));
}
