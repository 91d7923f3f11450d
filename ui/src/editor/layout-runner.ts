// Runs the auto-layout: ELK layered (loaded on first use, so the editor starts without it) up to
// LARGE_GRAPH nodes; above that the core's linear-time layered layout, because ELK takes seconds
// on big graphs on slow machines and opening a 500-node spec must stay under a second.
// Performance marks `sg-layout-start` / `sg-layout-end` time it.
import type { ElkLike } from "../core/layout";
import { LARGE_GRAPH, layoutSpec } from "../core/layout";
import { fastLayout } from "../core/fast-layout";
import { nodesOf } from "../core/model";
import type { GraphSpec, Position } from "../core/spec-types";

let elk: Promise<ElkLike> | null = null;

function getElk(): Promise<ElkLike> {
  elk ??= import("elkjs/lib/elk.bundled.js").then((m) => new m.default() as unknown as ElkLike);
  return elk;
}

/** Which layout engine a spec gets. */
export function layoutEngine(spec: GraphSpec): "elk" | "fast" {
  return nodesOf(spec).length > LARGE_GRAPH ? "fast" : "elk";
}

/**
 * Positions for every node of `spec` (and START/END). `quick` always takes the linear-time layout:
 * opening a file without positions must not wait for ELK to load and run (0.5–1.5 s on a slow
 * machine, most of the desktop app's time to interactive); the Layout command uses ELK.
 */
export async function computeLayout(spec: GraphSpec, opts: { quick?: boolean } = {}): Promise<Record<string, Position>> {
  performance.mark("sg-layout-start");
  const engine = opts.quick ? "fast" : layoutEngine(spec);
  const positions = engine === "fast" ? fastLayout(spec) : await layoutSpec(await getElk(), spec);
  performance.mark("sg-layout-end");
  performance.measure("sg-layout", "sg-layout-start", "sg-layout-end");
  return positions;
}
