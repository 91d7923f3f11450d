import { describe, expect, it } from "vitest";
import { specFromGraphJson } from "./graph-json";

describe("specFromGraphJson", () => {
  it("turns LangGraph's drawable graph into a read-only spec with layered positions", () => {
    const g = {
      nodes: [{ id: "__start__" }, { id: "agent" }, { id: "tools" }, { id: "__end__" }],
      edges: [
        { source: "__start__", target: "agent" },
        { source: "agent", target: "tools", conditional: true },
        { source: "agent", target: "__end__", conditional: true },
        { source: "tools", target: "agent" },
      ],
    };
    const s = specFromGraphJson(g, "react");
    expect(s.entry).toBe("agent");
    expect(s.nodes!.map((n) => [n.id, n.position])).toEqual([
      ["agent", { x: 280, y: 0 }],
      ["tools", { x: 560, y: 0 }],
    ]);
    expect(s.edges).toHaveLength(3);
    expect(s.edges![0]).toEqual({ source: "agent", target: "tools", comment: "conditional" });
  });
  it("names what is wrong with bad input", () => {
    expect(() => specFromGraphJson({}, "x")).toThrow(/nodes/);
  });
});
