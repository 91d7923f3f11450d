import { describe, expect, it } from "vitest";
import { mapProblems, pointerTokens, resolvePointer } from "./validation";
import type { GraphSpec } from "./spec-types";

const spec: GraphSpec = {
  version: 1,
  name: "v",
  state: { "a/b": {}, count: {} },
  nodes: [
    { id: "first", kind: "script", config: { code: "let" } },
    { id: "second", kind: "passthrough" },
  ],
  edges: [
    { source: "__start__", target: "first" },
    { source: "first", condition: { key: "nope" }, branches: [{ label: "l", target: "second" }, { label: "m", target: "__end__" }] },
    { sources: ["first", "second"], target: "__end__" },
  ],
  entry: "first",
  interrupts: { before: ["second"] },
  retry: { first: { max_attempts: 0 } },
};

describe("pointers", () => {
  it("unescapes tokens", () => {
    expect(pointerTokens("/state/a~1b/x~0y")).toEqual(["state", "a/b", "x~y"]);
    expect(pointerTokens("")).toEqual([]);
  });

  it("maps node, edge part, state, entry, retry, interrupts and spec pointers", () => {
    expect(resolvePointer(spec, "/nodes/0/config/code")).toEqual({ kind: "node", id: "first", field: "config.code" });
    expect(resolvePointer(spec, "/nodes/1")).toEqual({ kind: "node", id: "second", field: undefined });
    expect(resolvePointer(spec, "/nodes/9/id")).toEqual({ kind: "spec", field: "nodes" });
    expect(resolvePointer(spec, "/edges/1/branches/1/target")).toEqual({ kind: "edge", index: 1, canvasIds: ["e1.b1"] });
    expect(resolvePointer(spec, "/edges/1/condition/key")).toEqual({ kind: "edge", index: 1, canvasIds: ["e1.b0", "e1.b1"] });
    expect(resolvePointer(spec, "/edges/2/sources/1")).toEqual({ kind: "edge", index: 2, canvasIds: ["e2.s1"] });
    expect(resolvePointer(spec, "/edges/0")).toEqual({ kind: "edge", index: 0, canvasIds: ["e0"] });
    expect(resolvePointer(spec, "/state/a~1b/default")).toEqual({ kind: "state", key: "a/b" });
    expect(resolvePointer(spec, "/entry")).toEqual({ kind: "edge", index: -1, canvasIds: ["entry"] });
    expect(resolvePointer(spec, "/retry/first/max_attempts")).toEqual({ kind: "node", id: "first", field: "retry.max_attempts" });
    expect(resolvePointer(spec, "/interrupts/before/0")).toEqual({ kind: "node", id: "second", field: "interrupts.before" });
    expect(resolvePointer(spec, "/version")).toEqual({ kind: "spec", field: "version" });
    expect(resolvePointer(spec, "")).toEqual({ kind: "spec", field: undefined });
  });

  it("indexes problems by target", () => {
    const idx = mapProblems(spec, [
      { code: "SP022", pointer: "/nodes/0/config/code", message: "bad code" },
      { code: "SP015", pointer: "/edges/1/condition/key", message: "unknown key" },
      { code: "SP030", pointer: "/state/count/reducer", message: "bad reducer" },
      { code: "SP013", pointer: "", message: "no entry" },
      { code: "SP021", pointer: "/nodes/0/config", message: "other" },
    ]);
    expect(idx.all).toHaveLength(5);
    expect(idx.byNode.get("first")?.map((p) => p.code)).toEqual(["SP022", "SP021"]);
    expect(idx.byEdge.get("e1.b0")?.[0]?.code).toBe("SP015");
    expect(idx.byEdge.get("e1.b1")?.[0]?.code).toBe("SP015");
    expect(idx.byStateKey.get("count")?.[0]?.message).toBe("bad reducer");
    expect(idx.spec.map((p) => p.code)).toEqual(["SP013"]);
    expect(idx.byNode.has("second")).toBe(false);
  });
});
