import { describe, expect, it } from "vitest";
import { copySelection, parseClipboard, preparePaste, serializeClipboard } from "./clipboard";
import { applyChange } from "./changes";
import type { GraphSpec } from "./spec-types";

const spec: GraphSpec = {
  version: 1,
  name: "c",
  nodes: [
    { id: "a", kind: "passthrough", position: { x: 0, y: 0 } },
    { id: "b", kind: "script", config: { code: "#{}" }, position: { x: 100, y: 0 } },
    { id: "c", kind: "passthrough", position: { x: 200, y: 0 } },
  ],
  edges: [
    { source: "__start__", target: "a" },
    { source: "a", target: "b" },
    { source: "b", target: "c" },
    { source: "b", condition: { expr: "1" }, branches: [{ label: "x", target: "a" }, { label: "y", target: "c" }, { label: "z", target: "__end__" }] },
    { sources: ["a", "c"], target: "b" },
  ],
};

describe("clipboard", () => {
  it("copies the selection with the edges inside it (and to END), not from START", () => {
    const d = copySelection(spec, ["a", "b"]);
    expect(d.nodes.map((n) => n.id)).toEqual(["a", "b"]);
    expect(d.edges).toEqual([
      { source: "a", target: "b" },
      { source: "b", condition: { expr: "1" }, branches: [{ label: "x", target: "a" }, { label: "z", target: "__end__" }] },
      { sources: ["a"], target: "b" },
    ]);
  });

  it("round-trips through text and rejects other text", () => {
    const d = copySelection(spec, ["c"]);
    expect(parseClipboard(serializeClipboard(d))).toEqual(d);
    expect(parseClipboard("hello")).toBeNull();
    expect(parseClipboard('{"x":1}')).toBeNull();
    expect(parseClipboard('{"id":"n","kind":"passthrough"}')?.nodes).toEqual([{ id: "n", kind: "passthrough" }]);
  });

  it("pastes into the same file with fresh ids and remapped edges", () => {
    const d = copySelection(spec, ["a", "b"]);
    const p = preparePaste(spec, d, { x: 10, y: 5 });
    expect(p.nodes.map((n) => n.id)).toEqual(["a_2", "b_2"]);
    expect(p.nodes[1]?.position).toEqual({ x: 110, y: 5 });
    expect(p.edges[0]).toEqual({ source: "a_2", target: "b_2" });
    expect(p.edges[1]).toMatchObject({ source: "b_2", branches: [{ target: "a_2" }, { target: "__end__" }] });
    const out = applyChange(spec, { type: "paste", nodes: p.nodes, edges: p.edges });
    expect(out.nodes).toHaveLength(5);
    expect(out.edges).toHaveLength(8);
  });

  it("pastes into another file keeping ids that are free", () => {
    const other: GraphSpec = { version: 1, name: "o", nodes: [{ id: "b", kind: "x" }] };
    const p = preparePaste(other, copySelection(spec, ["a", "b"]));
    expect(p.nodes.map((n) => n.id)).toEqual(["a", "b_2"]);
    expect(p.edges[0]).toEqual({ source: "a", target: "b_2" });
  });
});
