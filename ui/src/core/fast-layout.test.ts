import { describe, expect, it } from "vitest";
import { fastLayout } from "./fast-layout";
import { generateSpec } from "./generate";
import { NODE_SIZE } from "./layout";
import type { GraphSpec, Position } from "./spec-types";

const loop: GraphSpec = {
  version: 1,
  name: "loop",
  nodes: ["a", "b", "c", "d"].map((id) => ({ id, kind: "passthrough" })),
  edges: [
    { source: "__start__", target: "a" },
    { source: "a", target: "b" },
    { source: "b", condition: { expr: "x" }, branches: [{ label: "again", target: "a" }, { label: "done", target: "c" }] },
    { source: "a", target: "d" },
    { sources: ["c", "d"], target: "__end__" },
  ],
};

function noOverlap(pos: Record<string, Position>) {
  const ids = Object.keys(pos);
  for (const p of ids)
    for (const q of ids) {
      if (p >= q) continue;
      const a = pos[p]!;
      const b = pos[q]!;
      const overlap = Math.abs(a.x - b.x) < NODE_SIZE.width && Math.abs(a.y - b.y) < NODE_SIZE.height;
      expect(overlap, `${p} overlaps ${q}`).toBe(false);
    }
}

describe("fastLayout", () => {
  it("layers a cyclic graph left to right, START first, END last, without overlaps", () => {
    const pos = fastLayout(loop);
    const x = (id: string) => pos[id]!.x;
    expect(Object.keys(pos).sort()).toEqual(["__end__", "__start__", "a", "b", "c", "d"]);
    expect(x("__start__")).toBeLessThan(x("a"));
    expect(x("a")).toBeLessThan(x("b"));
    expect(x("b")).toBeLessThan(x("c"));
    expect(x("d")).toBe(x("b"));
    expect(x("__end__")).toBeGreaterThan(x("c"));
    noOverlap(pos);
  });

  it("lays out 500 nodes / 800 edges in a few milliseconds, every edge forward except loops", () => {
    const spec = generateSpec(500, 800);
    const t0 = performance.now();
    const pos = fastLayout(spec);
    const ms = performance.now() - t0;
    expect(Object.keys(pos)).toHaveLength(502);
    noOverlap(pos);
    expect(ms).toBeLessThan(500);
    console.log(`fastLayout 500 nodes / 800 edges: ${ms.toFixed(1)} ms`);
  });

  it("handles an empty spec and dangling edges", () => {
    expect(Object.keys(fastLayout({ version: 1, name: "e" })).sort()).toEqual(["__end__", "__start__"]);
    const pos = fastLayout({ version: 1, name: "d", nodes: [{ id: "a", kind: "x" }], edges: [{ source: "a", target: "ghost" }] });
    expect(pos.a).toBeDefined();
    expect(pos.ghost).toBeUndefined();
  });
});
