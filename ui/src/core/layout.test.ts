import { describe, expect, it } from "vitest";
import ELK from "elkjs/lib/elk.bundled.js";
import { layoutSpec, NODE_SIZE, positionsFromElk, toElkGraph } from "./layout";
import type { GraphSpec } from "./spec-types";
import { generateSpec } from "./generate";

const loop: GraphSpec = {
  version: 1,
  name: "loop",
  nodes: [
    { id: "a", kind: "passthrough" },
    { id: "b", kind: "passthrough" },
    { id: "c", kind: "passthrough" },
  ],
  edges: [
    { source: "__start__", target: "a" },
    { source: "a", target: "b" },
    { source: "b", condition: { expr: "x" }, branches: [{ label: "again", target: "a" }, { label: "done", target: "c" }] },
    { sources: ["b", "c"], target: "__end__" },
    { source: "c", target: "ghost" },
  ],
};

describe("layout input", () => {
  it("has every node, the used terminals and one edge per canvas line, skipping dangling ones", () => {
    const g = toElkGraph(loop);
    expect(g.children?.map((c) => c.id).sort()).toEqual(["__end__", "__start__", "a", "b", "c"]);
    expect(g.children?.find((c) => c.id === "a")).toMatchObject(NODE_SIZE);
    expect(g.edges?.map((e) => e.id)).toEqual(["e0", "e1", "e2.b0", "e2.b1", "e3.s0", "e3.s1"]);
    expect(g.layoutOptions?.["elk.algorithm"]).toBe("layered");
  });

  it("reads positions back", () => {
    expect(positionsFromElk({ id: "root", children: [{ id: "a", x: 1.4, y: 2.6 }] })).toEqual({ a: { x: 1, y: 3 } });
  });

  it("lays out a cyclic graph left to right with ELK", async () => {
    const pos = await layoutSpec(new ELK(), loop);
    expect(Object.keys(pos).sort()).toEqual(["__end__", "__start__", "a", "b", "c"]);
    const x = (id: string) => pos[id]?.x ?? NaN;
    expect(x("__start__")).toBeLessThan(x("a"));
    expect(x("a")).toBeLessThan(x("b"));
    expect(x("b")).toBeLessThan(x("c"));
    expect(x("c")).toBeLessThan(x("__end__"));
    // No two nodes overlap.
    const ids = Object.keys(pos);
    for (const p of ids) for (const q of ids) {
      if (p >= q) continue;
      const a = pos[p]!, b = pos[q]!;
      const overlap = Math.abs(a.x - b.x) < 90 && Math.abs(a.y - b.y) < 40;
      expect(overlap, `${p} overlaps ${q}`).toBe(false);
    }
  });

  it("lays out 500 nodes / 800 edges", async () => {
    const spec = generateSpec(500, 800);
    expect(spec.nodes).toHaveLength(500);
    expect(spec.edges).toHaveLength(800);
    const t0 = performance.now();
    const pos = await layoutSpec(new ELK(), spec);
    const ms = performance.now() - t0;
    expect(Object.keys(pos)).toHaveLength(502);
    console.log(`layout 500 nodes / 800 edges in node: ${ms.toFixed(0)} ms`);
  }, 60_000);
});
