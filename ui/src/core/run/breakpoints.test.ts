import { describe, expect, it } from "vitest";
import { breakpointOfError, breakpointsFor, cycleNodeBreakpoint, makeBreakpoint, markerFor, staticInterrupts, toBody, updateBreakpoint } from "./breakpoints";

describe("breakpoints", () => {
  it("cycles a node none → before → after → none", () => {
    let l = cycleNodeBreakpoint([], "review");
    expect(l.map((b) => b.position)).toEqual(["before"]);
    l = cycleNodeBreakpoint(l, "review");
    expect(l.map((b) => b.position)).toEqual(["after"]);
    expect(markerFor(l, "review")).toEqual({ before: false, after: true, conditional: false, edge: false });
    expect(cycleNodeBreakpoint(l, "review")).toEqual([]);
  });

  it("sends conditions, edges and subgraph paths in the server's shape", () => {
    expect(toBody(makeBreakpoint("inc", "before", { when: " state.count > 3 " }))).toEqual({ node: "inc", position: "before", when: "state.count > 3" });
    expect(toBody(makeBreakpoint("act", "before", { from: "plan" }))).toEqual({ node: "act", position: "before", from: "plan" });
    expect(toBody(makeBreakpoint("*", "after", { subgraph: ["child"] }))).toEqual({ node: "*", position: "after", subgraph: ["child"] });
    expect(() => makeBreakpoint("act", "after", { from: "plan" })).toThrow(/edge breakpoint/);
  });

  it("adds the action's own breakpoint: step after every node, run-to before one", () => {
    const user = [makeBreakpoint("a"), { ...makeBreakpoint("b"), enabled: false }];
    expect(breakpointsFor(user, { kind: "continue" })).toEqual([{ node: "a", position: "before" }]);
    expect(breakpointsFor(user, { kind: "step" })).toEqual([{ node: "a", position: "before" }, { node: "*", position: "after" }]);
    expect(breakpointsFor([], { kind: "step", subgraph: ["sub"] })).toEqual([{ node: "*", position: "after", subgraph: ["sub"] }]);
    expect(breakpointsFor([], { kind: "run-to", node: "c" })).toEqual([{ node: "c", position: "before" }]);
  });

  it("maps a 422 naming breakpoints[i] to the i-th enabled breakpoint", () => {
    const l = [{ ...makeBreakpoint("x"), enabled: false }, makeBreakpoint("y"), makeBreakpoint("z", "before", { when: "state.(" })];
    expect(breakpointOfError(l, "run: 422 breakpoints[1]: `when`: syntax error")?.node).toBe("z");
    expect(breakpointOfError(l, "something else")).toBeNull();
  });

  it("keeps ids in step with the place when edited", () => {
    const l = [makeBreakpoint("n")];
    const e = updateBreakpoint(l, l[0]!.id, { position: "after", when: "state.x" });
    expect(e[0]!.id).toBe(makeBreakpoint("n", "after").id);
    expect(markerFor(e, "n").conditional).toBe(true);
  });
});

describe("static interrupts (servers without the breakpoints option)", () => {
  it("maps plain node breakpoints, step and run-to; reports the rest as unsupported", () => {
    const l = [makeBreakpoint("a"), makeBreakpoint("b", "after"), makeBreakpoint("c", "before", { when: "state.x" }), makeBreakpoint("d", "before", { from: "c" })];
    const s = staticInterrupts(l, { kind: "run-to", node: "z" });
    expect(s.interrupt_before).toEqual(["a", "z"]);
    expect(s.interrupt_after).toEqual(["b"]);
    expect(s.unsupported.map((b) => b.node)).toEqual(["c", "d"]);
    expect(staticInterrupts([], { kind: "step" }).interrupt_after).toBe("*");
  });
});
