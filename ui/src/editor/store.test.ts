import { beforeEach, describe, expect, it } from "vitest";
import { useEditor } from "./store";
import { emptySpec } from "../core/model";

describe("editor store", () => {
  beforeEach(() => useEditor.getState().load(emptySpec("t"), { kind: "new" }));

  it("applies changes, tracks dirtiness, undoes and redoes", () => {
    const s = useEditor.getState();
    expect(s.apply({ type: "addNode", node: { id: "a", kind: "passthrough" } })).toBe(true);
    expect(useEditor.getState().history.present.nodes?.map((n) => n.id)).toEqual(["a"]);
    expect(useEditor.getState().history.present).not.toBe(useEditor.getState().saved);
    useEditor.getState().undo();
    expect(useEditor.getState().history.present.nodes).toEqual([]);
    expect(useEditor.getState().history.present).toBe(useEditor.getState().saved);
    useEditor.getState().redo();
    expect(useEditor.getState().history.present.nodes?.map((n) => n.id)).toEqual(["a"]);
    useEditor.getState().markSaved({ kind: "server", name: "x" });
    expect(useEditor.getState().history.present).toBe(useEditor.getState().saved);
    expect(useEditor.getState().source).toEqual({ kind: "server", name: "x" });
  });

  it("drag moves coalesce into one undo step until sealed", () => {
    const s = useEditor.getState();
    s.apply({ type: "addNode", node: { id: "a", kind: "passthrough", position: { x: 0, y: 0 } } });
    for (let i = 1; i <= 10; i++) useEditor.getState().apply({ type: "moveNodes", positions: { a: { x: i, y: i } } }, "drag");
    useEditor.getState().sealHistory();
    expect(useEditor.getState().history.present.nodes?.[0]?.position).toEqual({ x: 10, y: 10 });
    useEditor.getState().undo();
    expect(useEditor.getState().history.present.nodes?.[0]?.position).toEqual({ x: 0, y: 0 });
  });

  it("refuses a bad change with a message and refuses edits when read-only", () => {
    const s = useEditor.getState();
    s.apply({ type: "addNode", node: { id: "a", kind: "passthrough" } });
    expect(useEditor.getState().apply({ type: "addNode", node: { id: "a", kind: "x" } })).toBe(false);
    expect(useEditor.getState().toasts.at(-1)?.text).toMatch(/already exists/);
    useEditor.getState().load(emptySpec("ro"), { kind: "assistant", assistantId: "1", graphId: "g" }, { readOnly: true });
    expect(useEditor.getState().apply({ type: "addNode", node: { id: "b", kind: "x" } })).toBe(false);
    expect(useEditor.getState().history.present.nodes).toEqual([]);
  });

  it("maps problems onto the current spec", () => {
    const s = useEditor.getState();
    s.apply({ type: "addNode", node: { id: "a", kind: "script", config: { code: "let" } } });
    useEditor.getState().setProblems([{ code: "SP022", pointer: "/nodes/0/config/code", message: "bad" }], "problems");
    expect(useEditor.getState().problems.byNode.get("a")?.[0]?.code).toBe("SP022");
    expect(useEditor.getState().validation).toBe("problems");
  });
});
