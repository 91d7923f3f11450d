import { describe, expect, it } from "vitest";
import { diffStates, jsonEqual, reducersFromSchema, reducersFromSpec } from "./diff";
import type { StateSnapshot } from "./client";

function snap(id: string, parent: string | null, values: unknown, tasks: StateSnapshot["tasks"] = [], source = "loop", step = 0): StateSnapshot {
  return {
    values,
    next: tasks.map((t) => t.name),
    tasks,
    metadata: { source, step },
    checkpoint: { checkpoint_id: id },
    parent_checkpoint: parent ? { checkpoint_id: parent } : null,
  };
}

describe("diffStates", () => {
  // From the history transcript: step_b ran from checkpoint 3 and wrote value and log.
  const prev = snap("c3", "c2", { value: 2, log: ["a"] }, [{ id: "t", name: "step_b", interrupts: [], result: { value: 20, log: ["b"] } }]);
  const cur = snap("c4", "c3", { value: 20, log: ["a", "b"] }, [], "loop", 2);

  it("names the writer from the parent's task results and the reducer per key", () => {
    const d = diffStates(prev, cur, { log: "add" });
    expect(d).toEqual([
      { key: "value", change: "changed", before: 2, after: 20, writers: ["step_b"], written: [20], reducer: "last value" },
      { key: "log", change: "changed", before: ["a"], after: ["a", "b"], writers: ["step_b"], written: [["b"]], reducer: "add" },
    ]);
  });

  it("lists added and removed keys and nothing for equal ones", () => {
    const a = snap("a", null, { x: { y: [1, 2] }, gone: 1 });
    const b = snap("b", "a", { x: { y: [1, 2] }, fresh: true });
    expect(diffStates(a, b).map((e) => [e.key, e.change])).toEqual([
      ["fresh", "added"],
      ["gone", "removed"],
    ]);
  });

  it("names the node of an update_state fork from metadata.writes or the studio's own record", () => {
    const base = snap("c1", null, { value: 2 });
    const lg = { ...snap("f1", "c1", { value: 100 }, [], "update"), metadata: { source: "update", step: 2, writes: { step_a: { value: 100 } } } };
    expect(diffStates(base, lg)[0]!.writers).toEqual(["step_a"]);
    const ours = snap("f2", "c1", { value: 7 }, [], "update");
    expect(diffStates(base, ours)[0]!.writers).toEqual([]);
    expect(diffStates(base, ours, {}, { f2: "step_a" })[0]!.writers).toEqual(["step_a"]);
  });

  it("attributes a key written by two parallel tasks to both", () => {
    const p = snap("p", null, { log: [] }, [
      { id: "1", name: "left", interrupts: [], result: { log: ["l"] } },
      { id: "2", name: "right", interrupts: [], result: [{ log: ["r"] }, { other: 1 }] },
    ]);
    const c = snap("c", "p", { log: ["l", "r"], other: 1 });
    const d = diffStates(p, c, { log: "add" });
    expect(d[0]).toMatchObject({ key: "log", writers: ["left", "right"], reducer: "add" });
    expect(d[1]).toMatchObject({ key: "other", writers: ["right"] });
  });
});

describe("reducers", () => {
  it("reads them from a spec's state and from a schema's x-reducer", () => {
    expect(reducersFromSpec({ log: { type: "array", reducer: "add" }, n: { type: "integer" } })).toEqual({ log: "add" });
    expect(reducersFromSchema({ properties: { messages: { "x-reducer": "add_messages" }, n: {} } })).toEqual({ messages: "add_messages" });
  });
  it("jsonEqual compares deeply", () => {
    expect(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
  });
});
