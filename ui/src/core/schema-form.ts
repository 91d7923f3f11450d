// A small JSON Schema reader for the inspector: turns a node kind's `config_schema` into field
// descriptions (string/number/integer/boolean/enum/object/array), decides which strings are code,
// and builds default configs. Anything it cannot describe falls back to a JSON editor.

/** The subset of JSON Schema the form understands. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  format?: string;
  minimum?: number;
  maximum?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  contentMediaType?: string;
  "x-editor"?: string;
  /** Our editor hint (from the spec crate's kind info): `rhai`, `template`, `state-key`, `state-key-map`. */
  "x-stategraph"?: string;
  [k: string]: unknown;
}

/** How one field is edited. */
export type FieldKind = "string" | "code" | "state-key" | "state-key-map" | "number" | "integer" | "boolean" | "enum" | "object" | "array" | "json";

/** One form field. */
export interface FieldDesc {
  name: string;
  label: string;
  kind: FieldKind;
  schema: JsonSchema;
  required: boolean;
  description?: string;
  options?: unknown[];
  /** Code language hint for code fields (`rhai`, `jinja`, `json`, `python`...). */
  language?: string;
}

/** Resolves a local `$ref` (`#/$defs/X` or `#/definitions/X`) against the root schema. */
export function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  for (let guard = 0; s.$ref && guard < 16; guard++) {
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(s.$ref);
    const target = m ? (m[1] === "$defs" ? root.$defs : root.definitions)?.[m[2] ?? ""] : undefined;
    if (!target) return { ...s, $ref: undefined };
    const { $ref: _drop, ...rest } = s;
    s = { ...target, ...rest };
  }
  return s;
}

/** The single non-null type of a schema (`["string","null"]` → `string`). */
export function mainType(schema: JsonSchema): string | undefined {
  const t = schema.type;
  if (Array.isArray(t)) return t.find((x) => x !== "null");
  if (t) return t;
  if (schema.properties) return "object";
  if (schema.enum) return "enum";
  const alt = schema.oneOf ?? schema.anyOf;
  if (alt) {
    const nonNull = alt.filter((a) => a.type !== "null");
    if (nonNull.length === 1 && nonNull[0]) return mainType(nonNull[0]);
  }
  return undefined;
}

const CODE_FORMATS = new Set(["code", "rhai", "script", "expression", "template", "jinja", "python", "javascript"]);
const CODE_NAMES = new Set(["code", "script", "expr", "expression", "template", "prompt", "system_prompt"]);

/** Is this string field edited as code (CodeMirror)? Returns the language hint or null. */
export function codeLanguage(name: string, schema: JsonSchema): string | null {
  const hint = schema["x-stategraph"];
  if (hint === "rhai" || hint === "template") return hint;
  if (hint === "state-key") return null;
  const f = schema.format ?? schema["x-editor"];
  if (typeof f === "string" && CODE_FORMATS.has(f)) return f === "code" || f === "script" || f === "expression" ? "rhai" : f;
  if (schema.contentMediaType?.includes("rhai")) return "rhai";
  if (CODE_NAMES.has(name)) return name === "template" || name.includes("prompt") ? "template" : "rhai";
  return null;
}

/** The fields of an object schema, in declaration order. */
export function describeFields(schema: JsonSchema | null | undefined, root?: JsonSchema): FieldDesc[] {
  if (!schema) return [];
  const r = root ?? schema;
  const s = deref(schema, r);
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([name, raw]) => {
    const p = deref(raw, r);
    const t = mainType(p);
    let kind: FieldKind;
    let language: string | undefined;
    if (p.enum && p.enum.length) kind = "enum";
    else if (p["x-stategraph"] === "state-key-map") {
      kind = "state-key-map";
      const values = typeof p.additionalProperties === "object" ? deref(p.additionalProperties, r) : null;
      // Values are code (transform: Rhai expressions) or any JSON (set: fixed values).
      language = values && mainType(values) === "string" ? (codeLanguage("", values) ?? undefined) : undefined;
    }
    else if (t === "string" && p["x-stategraph"] === "state-key") kind = "state-key";
    else if (t === "string") {
      const lang = codeLanguage(name, p);
      kind = lang ? "code" : "string";
      language = lang ?? undefined;
    } else if (t === "number" || t === "integer" || t === "boolean" || t === "object" || t === "array") kind = t;
    else kind = "json";
    if (kind === "object" && !p.properties) kind = "json";
    if (kind === "array" && !p.items) kind = "json";
    return {
      name,
      label: p.title ?? name,
      kind,
      schema: p,
      required: required.has(name),
      description: p.description,
      options: p.enum,
      language,
    };
  });
}

/** The empty value of a field kind. */
export function emptyValue(schema: JsonSchema, root?: JsonSchema): unknown {
  const s = deref(schema, root ?? schema);
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (s.enum?.length) return s.enum[0];
  switch (mainType(s)) {
    case "string":
      return "";
    case "number":
    case "integer":
      return 0;
    case "boolean":
      return false;
    case "array":
      return [];
    case "object":
      return defaultConfig(s, root ?? schema);
    default:
      return null;
  }
}

/** A starting config for a new node: every required field with its default or empty value. */
export function defaultConfig(schema: JsonSchema | null | undefined, root?: JsonSchema): Record<string, unknown> {
  if (!schema) return {};
  const r = root ?? schema;
  const s = deref(schema, r);
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(s.properties ?? {})) {
    const d = deref(p, r);
    if (d.default !== undefined) out[name] = d.default;
    else if (s.required?.includes(name)) out[name] = emptyValue(d, r);
  }
  return out;
}

/** Parses a number input; empty text means "unset" (undefined). */
export function parseNumberInput(text: string, integer: boolean): number | undefined | Error {
  const t = text.trim();
  if (t === "") return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) return new Error(`\`${text}\` is not a number`);
  if (integer && !Number.isInteger(n)) return new Error(`\`${text}\` is not a whole number`);
  return n;
}
