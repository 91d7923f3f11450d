import { describe, expect, it } from "vitest";
import { applyStatusEvent, finishStatus, type StatusMap } from "./status";

describe("node status from the stream", () => {
  it("follows debug events: checkpoint → queued, task → running, result → done", () => {
    const m: StatusMap = new Map();
    applyStatusEvent(m, "debug", { type: "checkpoint", payload: { tasks: [{ name: "step_a", interrupts: [] }] } });
    expect(m.get("step_a")).toBe("queued");
    applyStatusEvent(m, "debug", { type: "task", payload: { id: "t1", name: "step_a", input: {}, triggers: [] } });
    expect(m.get("step_a")).toBe("running");
    applyStatusEvent(m, "debug", { type: "task_result", payload: { id: "t1", name: "step_a", error: null, result: { v: 1 }, interrupts: [] } });
    expect(m.get("step_a")).toBe("done");
  });

  it("marks errors and interrupts from task results", () => {
    const m: StatusMap = new Map();
    applyStatusEvent(m, "tasks", { id: "1", name: "boom", error: "ValueError: x", result: null, interrupts: [] });
    applyStatusEvent(m, "tasks", { id: "2", name: "ask", error: null, result: null, interrupts: [{ id: "i", value: 1 }] });
    expect(m.get("boom")).toBe("error");
    expect(m.get("ask")).toBe("interrupted");
  });

  it("takes updates as done, ignores __start__ and __interrupt__, and reports no change twice", () => {
    const m: StatusMap = new Map();
    expect(applyStatusEvent(m, "updates", { propose: { log: [] }, __interrupt__: [] })).toBe(true);
    expect(applyStatusEvent(m, "updates", { propose: { log: [] } })).toBe(false);
    expect(applyStatusEvent(m, "debug", { type: "checkpoint", payload: { tasks: [{ name: "__start__" }] } })).toBe(false);
    expect([...m.keys()]).toEqual(["propose"]);
  });

  it("finishes: paused nodes are the thread's next; running ones failed on error", () => {
    const m: StatusMap = new Map([["a", "running"], ["b", "queued"]]);
    finishStatus(m, "interrupted", ["b"]);
    expect(m.get("b")).toBe("paused");
    const e: StatusMap = new Map([["a", "running"], ["b", "queued"]]);
    finishStatus(e, "error", []);
    expect(e.get("a")).toBe("error");
    expect(e.has("b")).toBe(false);
  });
});
