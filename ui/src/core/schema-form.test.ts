import { describe, expect, it } from "vitest";
import { codeLanguage, defaultConfig, describeFields, deref, mainType, parseNumberInput, type JsonSchema } from "./schema-form";

const schema: JsonSchema = {
  type: "object",
  required: ["code", "method"],
  properties: {
    code: { type: "string", description: "Rhai code" },
    url: { type: "string" },
    method: { type: "string", enum: ["GET", "POST"] },
    timeout_ms: { type: ["integer", "null"], minimum: 1 },
    verbose: { type: "boolean", default: true },
    headers: { type: "object", additionalProperties: { type: "string" } },
    retry: { $ref: "#/$defs/Retry" },
    tags: { type: "array", items: { type: "string" } },
    anything: {},
  },
  $defs: { Retry: { type: "object", properties: { attempts: { type: "integer", default: 3 } } } },
};

describe("schema form", () => {
  it("describes fields with kinds", () => {
    const f = describeFields(schema);
    expect(f.map((x) => [x.name, x.kind])).toEqual([
      ["code", "code"],
      ["url", "string"],
      ["method", "enum"],
      ["timeout_ms", "integer"],
      ["verbose", "boolean"],
      ["headers", "json"],
      ["retry", "object"],
      ["tags", "array"],
      ["anything", "json"],
    ]);
    expect(f[0]).toMatchObject({ required: true, language: "rhai", description: "Rhai code" });
    expect(f[2]?.options).toEqual(["GET", "POST"]);
    expect(describeFields(f[6]?.schema, schema).map((x) => x.name)).toEqual(["attempts"]);
  });

  it("describes state-key maps with the language of their values", () => {
    const f = describeFields({
      type: "object",
      properties: {
        update: { type: "object", "x-stategraph": "state-key-map", additionalProperties: { type: "string", "x-stategraph": "rhai" } },
        values: { type: "object", "x-stategraph": "state-key-map", additionalProperties: true },
      },
    });
    expect(f.map((x) => [x.kind, x.language])).toEqual([
      ["state-key-map", "rhai"],
      ["state-key-map", undefined],
    ]);
  });

  it("resolves refs and nullable types", () => {
    expect(deref({ $ref: "#/$defs/Retry" }, schema).properties).toHaveProperty("attempts");
    expect(deref({ $ref: "#/$defs/Missing" }, schema)).toEqual({ $ref: undefined });
    expect(mainType({ type: ["null", "number"] })).toBe("number");
    expect(mainType({ anyOf: [{ type: "string" }, { type: "null" }] })).toBe("string");
  });

  it("detects code fields by format and name", () => {
    expect(codeLanguage("x", { type: "string", format: "template" })).toBe("template");
    expect(codeLanguage("template", { type: "string" })).toBe("template");
    expect(codeLanguage("expr", { type: "string" })).toBe("rhai");
    expect(codeLanguage("url", { type: "string" })).toBeNull();
    expect(codeLanguage("body", { type: "string", "x-stategraph": "rhai" })).toBe("rhai");
    expect(codeLanguage("code", { type: "string", "x-stategraph": "state-key" })).toBeNull();
    const f = describeFields({ type: "object", properties: { key: { type: "string", "x-stategraph": "state-key" } } });
    expect(f[0]?.kind).toBe("state-key");
  });

  it("builds a default config from required fields and defaults", () => {
    expect(defaultConfig(schema)).toEqual({ code: "", method: "GET", verbose: true });
    expect(defaultConfig(null)).toEqual({});
  });

  it("parses number inputs", () => {
    expect(parseNumberInput("", false)).toBeUndefined();
    expect(parseNumberInput("2.5", false)).toBe(2.5);
    expect(parseNumberInput("2.5", true)).toBeInstanceOf(Error);
    expect(parseNumberInput("abc", false)).toBeInstanceOf(Error);
  });
});
