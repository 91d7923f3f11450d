import { describe, expect, it } from "vitest";
import { buildForkTree, divergence, pathTo } from "./tree";
import type { StateSnapshot } from "./client";

function s(id: string, parent: string | null, t: number, source = "loop"): StateSnapshot {
  return {
    values: {},
    next: [],
    tasks: [],
    metadata: { source, step: t },
    created_at: `2026-01-01T00:00:${String(t).padStart(2, "0")}Z`,
    checkpoint: { checkpoint_id: id },
    parent_checkpoint: parent ? { checkpoint_id: parent } : null,
  };
}

describe("buildForkTree", () => {
  // c0 → c1 → c2 → c3 (first run); fork at c1: f1 → f2; fork at c2: g1.
  const history = [s("g1", "c2", 9, "update"), s("f2", "f1", 8), s("f1", "c1", 7, "update"), s("c3", "c2", 3), s("c2", "c1", 2), s("c1", "c0", 1), s("c0", null, 0, "input")];
  const tree = buildForkTree(history);

  it("hangs every checkpoint under its parent, rows by depth", () => {
    expect(tree.roots).toEqual(["c0"]);
    expect(tree.nodes.get("c1")!.children).toEqual(["c2", "f1"]);
    expect(tree.nodes.get("f2")!.row).toBe(3);
    expect(tree.rows).toBe(4);
  });

  it("keeps the first branch in lane 0 and opens lanes for forks in order", () => {
    const lane = (id: string) => tree.nodes.get(id)!.lane;
    expect([lane("c0"), lane("c1"), lane("c2"), lane("c3")]).toEqual([0, 0, 0, 0]);
    expect(lane("g1")).toBe(1);
    expect(lane("f1")).toBe(2);
    expect(lane("f2")).toBe(2);
    expect(tree.lanes).toBe(3);
    expect(tree.leaves).toEqual(["c3", "g1", "f2"]);
  });

  it("gives paths and where two branches part", () => {
    expect(pathTo(tree, "f2").map((n) => n.id)).toEqual(["c0", "c1", "f1", "f2"]);
    expect(divergence(tree, "c3", "f2")).toBe("c1");
    expect(divergence(tree, "c3", "g1")).toBe("c2");
  });

  it("handles a long linear history without recursion", () => {
    const long: StateSnapshot[] = [];
    for (let i = 0; i < 5000; i++) long.push(s(`n${i}`, i ? `n${i - 1}` : null, i));
    const t = buildForkTree(long);
    expect(t.rows).toBe(5000);
    expect(t.lanes).toBe(1);
  });
});
