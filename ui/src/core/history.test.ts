import { describe, expect, it } from "vitest";
import { canRedo, canUndo, createHistory, HISTORY_LIMIT, record, redo, seal, undo } from "./history";
import { applyChange } from "./changes";
import { emptySpec } from "./model";

describe("history", () => {
  it("undoes and redoes spec edits in order", () => {
    const s0 = emptySpec();
    let h = createHistory(s0);
    const s1 = applyChange(s0, { type: "addNode", node: { id: "a", kind: "passthrough" } });
    h = record(h, s1);
    const s2 = applyChange(s1, { type: "addNode", node: { id: "b", kind: "passthrough" } });
    h = record(h, s2);
    expect(canUndo(h)).toBe(true);
    h = undo(h);
    expect(h.present).toBe(s1);
    h = undo(h);
    expect(h.present).toBe(s0);
    expect(canUndo(h)).toBe(false);
    h = undo(h);
    expect(h.present).toBe(s0);
    h = redo(h);
    expect(h.present).toBe(s1);
    expect(canRedo(h)).toBe(true);
    h = redo(h);
    expect(h.present).toBe(s2);
    expect(canRedo(h)).toBe(false);
  });

  it("a new edit after undo drops the redo branch", () => {
    let h = record(record(createHistory(0), 1), 2);
    h = undo(h);
    h = record(h, 3);
    expect(h.present).toBe(3);
    expect(canRedo(h)).toBe(false);
    expect(h.past).toEqual([0, 1]);
  });

  it("coalesces edits of one group into one step until sealed", () => {
    let h = createHistory("");
    h = record(h, "a", "typing:code");
    h = record(h, "ab", "typing:code");
    h = record(h, "abc", "typing:code");
    expect(h.past).toEqual([""]);
    h = seal(h);
    h = record(h, "abcd", "typing:code");
    expect(h.past).toEqual(["", "abc"]);
    h = undo(h);
    expect(h.present).toBe("abc");
    h = undo(h);
    expect(h.present).toBe("");
  });

  it("ignores recording the same value and keeps a bounded past", () => {
    let h = createHistory(0);
    expect(record(h, 0)).toBe(h);
    for (let i = 1; i <= HISTORY_LIMIT + 50; i++) h = record(h, i);
    expect(h.past.length).toBe(HISTORY_LIMIT);
    expect(h.past[0]).toBe(50);
  });
});
