import { describe, expect, it } from "vitest";
import { humanResponse, readInterrupt, resumeCommand, schemasInEvent } from "./interrupt";

// The shape our `human` kind sends (crates/stategraph-spec/src/kinds/human.rs).
const human = {
  id: "int-1",
  value: {
    action_request: { action: "approve_refund", args: { amount: 12.5 } },
    config: { allow_accept: true, allow_edit: true, allow_respond: false, allow_ignore: true },
    description: "Refund of 12.5 EUR for Ada",
  },
  response_schema: {
    type: "object",
    required: ["type"],
    properties: { type: { enum: ["accept", "edit", "ignore"] } },
    oneOf: [
      { properties: { type: { const: "accept" }, args: { type: "null" } } },
      { properties: { type: { const: "edit" }, args: { type: "object", properties: { action: { type: "string" }, args: { type: "object", required: ["amount"], properties: { amount: { type: "number" } } } } } } },
      { properties: { type: { const: "ignore" }, args: { type: "null" } } },
    ],
  },
};

describe("interrupts", () => {
  it("reads an Agent Inbox interrupt with its allowed answers and the edit schema", () => {
    const m = readInterrupt(human, "review");
    expect(m.node).toBe("review");
    expect(m.inbox).toMatchObject({ action: "approve_refund", args: { amount: 12.5 }, allow: { accept: true, edit: true, respond: false, ignore: true } });
    expect(m.inbox!.argsSchema).toEqual({ type: "object", required: ["amount"], properties: { amount: { type: "number" } } });
  });

  it("types the edit form from the args when the interrupt has no schema (thread state)", () => {
    const m = readInterrupt({ id: "s", value: human.value }, "review");
    expect(m.inbox!.argsSchema).toEqual({ type: "object", properties: { amount: { type: "number" } } });
    const seen = new Map<string, unknown>();
    schemasInEvent({ __interrupt__: [human, { id: "z", value: 1 }] }, seen);
    expect([...seen.keys()]).toEqual(["int-1"]);
  });

  it("builds HumanResponses", () => {
    const m = readInterrupt(human);
    expect(humanResponse(m, { type: "edit", args: { amount: 10 } })).toEqual({ type: "edit", args: { action: "approve_refund", args: { amount: 10 } } });
    expect(humanResponse(m, { type: "accept" })).toEqual({ type: "accept", args: null });
    expect(humanResponse(m, { type: "response", text: "no" })).toEqual({ type: "response", args: "no" });
  });

  it("reads a list-wrapped inbox interrupt and leaves plain ones to JSON", () => {
    expect(readInterrupt({ id: "x", value: [human.value] }).inbox?.action).toBe("approve_refund");
    expect(readInterrupt({ id: "y", value: { question: "approve?" } }).inbox).toBeNull();
  });

  it("resumes one pending interrupt with its value, several by id", () => {
    expect(resumeCommand(new Map([["a", "yes"]]), 1)).toBe("yes");
    expect(resumeCommand(new Map([["a", "yes"]]), 2)).toEqual({ a: "yes" });
    expect(resumeCommand(new Map([["a", 1], ["b", 2]]), 2)).toEqual({ a: 1, b: 2 });
  });
});
