// Runs ELK (loaded on first use, so the editor starts without it) and applies the positions as
// one undoable change. Performance marks `sg-layout-start` / `sg-layout-end` time it.
import type { ElkLike } from "../core/layout";
import { layoutSpec } from "../core/layout";
import type { GraphSpec, Position } from "../core/spec-types";

let elk: Promise<ElkLike> | null = null;

function getElk(): Promise<ElkLike> {
  elk ??= import("elkjs/lib/elk.bundled.js").then((m) => new m.default() as unknown as ElkLike);
  return elk;
}

/** Positions for every node of `spec` (and START/END), from ELK layered. */
export async function computeLayout(spec: GraphSpec): Promise<Record<string, Position>> {
  performance.mark("sg-layout-start");
  const positions = await layoutSpec(await getElk(), spec);
  performance.mark("sg-layout-end");
  performance.measure("sg-layout", "sg-layout-start", "sg-layout-end");
  return positions;
}
