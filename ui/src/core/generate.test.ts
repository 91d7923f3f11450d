import { describe, expect, it } from "vitest";
import { generateSpec } from "./generate";
import { edgeSources, edgeTargets } from "./model";

describe("generateSpec", () => {
  it("makes the requested sizes, deterministic, with only known node ids", () => {
    const a = generateSpec(500, 800);
    expect(a.nodes).toHaveLength(500);
    expect(a.edges).toHaveLength(800);
    expect(generateSpec(500, 800)).toEqual(a);
    const ids = new Set([...(a.nodes ?? []).map((n) => n.id), "__start__", "__end__"]);
    for (const e of a.edges ?? []) for (const id of [...edgeSources(e), ...edgeTargets(e)]) expect(ids.has(id)).toBe(true);
    const keys = (a.edges ?? []).map((e) => `${edgeSources(e)[0]}>${edgeTargets(e)[0]}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
