import { describe, expect, it } from "vitest";
import { applyChange, applyChanges, ChangeError } from "./changes";
import type { EdgeSpec, GraphSpec } from "./spec-types";
import { canvasEdges, edgeKind, emptySpec, terminalPosition } from "./model";

function base(): GraphSpec {
  return {
    version: 1,
    name: "t",
    state: { count: { type: "integer", default: 0 } },
    nodes: [
      { id: "a", kind: "passthrough" },
      { id: "b", kind: "script", config: { code: "#{}" } },
      { id: "c", kind: "passthrough" },
    ],
    edges: [
      { source: "__start__", target: "a" },
      { source: "a", target: "b" },
      { source: "b", condition: { key: "count" }, branches: [{ label: "x", target: "c" }, { label: "y", target: "__end__" }] },
      { sources: ["a", "b"], target: "c" },
    ],
  };
}

describe("applyChange", () => {
  it("adds a node without touching the input", () => {
    const s = base();
    const before = JSON.stringify(s);
    const out = applyChange(s, { type: "addNode", node: { id: "d", kind: "passthrough", position: { x: 1, y: 2 } } });
    expect(out.nodes?.map((n) => n.id)).toEqual(["a", "b", "c", "d"]);
    expect(JSON.stringify(s)).toBe(before);
    expect(out.edges).toBe(s.edges); // unchanged parts are shared
  });

  it("rejects duplicate and reserved ids", () => {
    expect(() => applyChange(base(), { type: "addNode", node: { id: "a", kind: "x" } })).toThrow(/already exists/);
    expect(() => applyChange(base(), { type: "addNode", node: { id: "__end__", kind: "x" } })).toThrow(ChangeError);
    expect(() => applyChange(base(), { type: "addNode", node: { id: "a:b", kind: "x" } })).toThrow(/`:`/);
  });

  it("moves nodes and the START/END markers", () => {
    const out = applyChange(base(), { type: "moveNodes", positions: { a: { x: 10, y: 20 }, __start__: { x: -5, y: 7 } } });
    expect(out.nodes?.[0]?.position).toEqual({ x: 10, y: 20 });
    expect(out.nodes?.[1]?.position).toBeUndefined();
    expect(terminalPosition(out, "__start__")).toEqual({ x: -5, y: 7 });
  });

  it("removing a node drops every reference to it", () => {
    const s = { ...base(), entry: "b", interrupts: { before: ["b", "a"] }, retry: { b: { max_attempts: 2 } } };
    const out = applyChange(s, { type: "removeElements", nodes: ["b"], edges: [] });
    expect(out.nodes?.map((n) => n.id)).toEqual(["a", "c"]);
    expect(out.edges).toEqual([
      { source: "__start__", target: "a" },
      { sources: ["a"], target: "c" },
    ]);
    expect(out.entry).toBeNull();
    expect(out.interrupts?.before).toEqual(["a"]);
    expect(out.retry).toEqual({});
  });

  it("removes single branches and join sources by canvas id, whole edges when emptied", () => {
    const s = base();
    const out = applyChange(s, { type: "removeElements", nodes: [], edges: ["e2.b0", "e3.s1"] });
    expect(out.edges?.[2]).toMatchObject({ branches: [{ label: "y", target: "__end__" }] });
    expect(out.edges?.[3]).toEqual({ sources: ["a"], target: "c" });
    const out2 = applyChange(out, { type: "removeElements", nodes: [], edges: ["e2.b0", "e1"] });
    expect(out2.edges).toEqual([
      { source: "__start__", target: "a" },
      { sources: ["a"], target: "c" },
    ]);
  });

  it("START and END cannot be removed", () => {
    const s = base();
    expect(applyChange(s, { type: "removeElements", nodes: ["__start__"], edges: [] }).nodes).toEqual(s.nodes);
  });

  it("connect adds plain edges once and branches to the source's conditional edge", () => {
    let s = applyChange(base(), { type: "connect", source: "c", target: "a", mode: "plain" });
    expect(s.edges?.at(-1)).toEqual({ source: "c", target: "a" });
    const n = s.edges?.length;
    s = applyChange(s, { type: "connect", source: "c", target: "a", mode: "plain" });
    expect(s.edges?.length).toBe(n);
    s = applyChange(s, { type: "connect", source: "b", target: "c", mode: "branch" });
    const cond = s.edges?.[2];
    expect(cond && "branches" in cond ? cond.branches.map((b) => b.label) : []).toEqual(["x", "y", "c"]);
    s = applyChange(s, { type: "connect", source: "b", target: "c", mode: "branch" });
    expect(cond && "branches" in (s.edges?.[2] ?? {}) ? (s.edges?.[2] as { branches: { label: string }[] }).branches.map((b) => b.label) : []).toEqual(["x", "y", "c", "c_2"]);
    s = applyChange(s, { type: "connect", source: "a", target: "__end__", mode: "branch" });
    expect(s.edges?.at(-1)).toEqual({ source: "a", condition: { expr: "" }, branches: [{ label: "end", target: "__end__" }] });
  });

  it("connect refuses edges into START and out of END", () => {
    expect(() => applyChange(base(), { type: "connect", source: "a", target: "__start__", mode: "plain" })).toThrow(/__start__/);
    expect(() => applyChange(base(), { type: "connect", source: "__end__", target: "a", mode: "plain" })).toThrow(/__end__/);
  });

  it("converts edge kinds both ways and keeps the comment", () => {
    let s = applyChange(base(), { type: "setComment", target: { edge: 1 }, comment: "why" });
    s = applyChange(s, { type: "setEdgeKind", edge: 1, kind: "conditional" });
    expect(s.edges?.[1]).toEqual({ source: "a", condition: { expr: "" }, branches: [{ label: "b", target: "b" }], comment: "why" });
    s = applyChange(s, { type: "setEdgeKind", edge: 1, kind: "join" });
    expect(s.edges?.[1]).toEqual({ sources: ["a"], target: "b", comment: "why" });
    s = applyChange(s, { type: "setEdgeKind", edge: 1, kind: "plain" });
    expect(s.edges?.[1]).toEqual({ source: "a", target: "b", comment: "why" });
    expect(() => applyChange(base(), { type: "setEdgeKind", edge: 0, kind: "join" })).toThrow(/__start__/);
  });

  it("edits branches, conditions and join sources", () => {
    let s = applyChange(base(), { type: "addBranch", edge: 2, label: "x", target: "a" });
    expect(s.edges?.[2]).toMatchObject({ branches: [{ label: "x" }, { label: "y" }, { label: "x_2", target: "a" }] });
    s = applyChange(s, { type: "updateBranch", edge: 2, branch: 2, label: "z", target: "b" });
    expect(s.edges?.[2]).toMatchObject({ branches: [{}, {}, { label: "z", target: "b" }] });
    s = applyChange(s, { type: "removeBranch", edge: 2, branch: 0 });
    expect(s.edges?.[2]).toMatchObject({ branches: [{ label: "y" }, { label: "z" }] });
    s = applyChange(s, { type: "setCondition", edge: 2, condition: { expr: '"y"' } });
    expect(s.edges?.[2]).toMatchObject({ condition: { expr: '"y"' } });
    s = applyChange(s, { type: "setJoinSources", edge: 3, sources: ["b"] });
    expect(s.edges?.[3]).toEqual({ sources: ["b"], target: "c" });
    expect(() => applyChange(s, { type: "setJoinSources", edge: 3, sources: [] })).toThrow(/at least one/);
    expect(() => applyChange(s, { type: "addBranch", edge: 0, label: "q", target: "a" })).toThrow(/not conditional/);
  });

  it("renames a node everywhere", () => {
    const s = { ...base(), entry: "a", interrupts: { after: ["a"] }, retry: { a: { max_attempts: 3 } } };
    const out = applyChange(s, { type: "renameNode", from: "a", to: "first" });
    expect(out.nodes?.[0]?.id).toBe("first");
    expect(out.entry).toBe("first");
    expect(out.interrupts?.after).toEqual(["first"]);
    expect(out.retry).toEqual({ first: { max_attempts: 3 } });
    expect(out.edges?.[1]).toEqual({ source: "first", target: "b" });
    expect(out.edges?.[3]).toEqual({ sources: ["first", "b"], target: "c" });
    expect(() => applyChange(s, { type: "renameNode", from: "a", to: "b" })).toThrow(/already exists/);
  });

  it("updates node config and comments", () => {
    let s = applyChange(base(), { type: "updateNodeConfig", id: "b", config: { code: "1" } });
    expect(s.nodes?.[1]?.config).toEqual({ code: "1" });
    s = applyChange(s, { type: "setComment", target: { node: "b" }, comment: "note" });
    expect(s.nodes?.[1]?.comment).toBe("note");
    s = applyChange(s, { type: "setComment", target: { node: "b" }, comment: null });
    expect(s.nodes?.[1]).not.toHaveProperty("comment");
    expect(() => applyChange(s, { type: "updateNodeConfig", id: "zz", config: {} })).toThrow(/no node/);
  });

  it("edits state keys, renaming in place", () => {
    let s = applyChange(base(), { type: "setStateKey", key: "log", spec: { type: "array", reducer: "append" } });
    expect(Object.keys(s.state ?? {})).toEqual(["count", "log"]);
    s = applyChange(s, { type: "setStateKey", key: "n", previousKey: "count", spec: { type: "integer" } });
    expect(Object.keys(s.state ?? {})).toEqual(["n", "log"]);
    expect(() => applyChange(s, { type: "setStateKey", key: "log", previousKey: "n", spec: {} })).toThrow(/already exists/);
    s = applyChange(s, { type: "removeStateKey", key: "n" });
    expect(Object.keys(s.state ?? {})).toEqual(["log"]);
  });

  it("sets the entry and graph info", () => {
    const s = applyChanges(base(), [
      { type: "setEntry", id: "c" },
      { type: "setGraphInfo", name: "renamed", description: "d" },
    ]);
    expect(s.entry).toBe("c");
    expect(s.name).toBe("renamed");
    expect(canvasEdges(s)[0]).toMatchObject({ id: "entry", source: "__start__", target: "c" });
    expect(() => applyChange(s, { type: "setEntry", id: "nope" })).toThrow(/no node/);
  });

  it("pastes nodes and edges, refusing clashes", () => {
    const out = applyChange(emptySpec(), { type: "paste", nodes: [{ id: "p", kind: "x" }], edges: [{ source: "p", target: "__end__" }] });
    expect(out.nodes).toHaveLength(1);
    expect(edgeKind(out.edges?.[0] as never)).toBe("plain");
    expect(() => applyChange(out, { type: "paste", nodes: [{ id: "p", kind: "x" }], edges: [] })).toThrow(/already exists/);
  });

  it("handles send (fan-out) edges: kind change, rename, removal", () => {
    let s = applyChange(base(), { type: "setEdgeKind", edge: 1, kind: "send" });
    expect(s.edges?.[1]).toEqual({ source: "a", send: { target: "b", foreach: "" } });
    expect(canvasEdges(s).find((c) => c.id === "e1.t0")).toMatchObject({ source: "a", target: "b", kind: "send" });
    s = applyChange(s, { type: "setSend", edge: 1, send: { expr: "[]", targets: ["b", "c"] } });
    s = applyChange(s, { type: "renameNode", from: "b", to: "bee" });
    expect(s.edges?.[1]).toEqual({ source: "a", send: { expr: "[]", targets: ["bee", "c"] } });
    s = applyChange(s, { type: "removeElements", nodes: ["c"], edges: [] });
    expect(s.edges?.[0]).toEqual({ source: "__start__", target: "a" });
    expect(s.edges?.find((e) => "send" in e)).toEqual({ source: "a", send: { expr: "[]", targets: ["bee"] } } as unknown as EdgeSpec);
    s = applyChange(s, { type: "removeElements", nodes: [], edges: ["e1.t0"] });
    expect(s.edges?.some((e) => "send" in e)).toBe(false);
    expect(() => applyChange(base(), { type: "setSend", edge: 0, send: {} })).toThrow(/not a send/);
  });
});
