// The state schema editor: keys with their type, reducer and default.
import { useEffect, useState } from "react";
import type { GraphSpec, StateKeySpec } from "../core/spec-types";
import { useEditor } from "./store";
import { JsonInput } from "./SchemaForm";

/** Reducers the spec crate knows (see StateKeySpec.reducer). */
export const REDUCERS = ["add", "append", "extend", "merge", "min", "max", "add_messages"];
const TYPES = ["", "string", "integer", "number", "boolean", "array", "object"];

function typeName(t: unknown): string {
  if (typeof t === "string") return t;
  if (t && typeof t === "object" && typeof (t as { type?: unknown }).type === "string") return (t as { type: string }).type;
  return "";
}

export function StateEditor({ spec, readOnly }: { spec: GraphSpec; readOnly: boolean }) {
  const apply = useEditor((s) => s.apply);
  const problems = useEditor((s) => s.problems.byStateKey);
  const entries = Object.entries(spec.state ?? {});
  const [adding, setAdding] = useState("");
  const add = () => {
    const key = adding.trim();
    if (!key) return;
    if (apply({ type: "setStateKey", key, spec: { type: "string" } })) setAdding("");
  };
  return (
    <div className="state-editor" data-testid="state-editor">
      <h3>State</h3>
      {entries.length === 0 && <p className="muted small">No state keys yet.</p>}
      {entries.map(([key, ks]) => (
        <StateKeyRow key={key} name={key} ks={ks} readOnly={readOnly} problems={problems.get(key)?.map((p) => `${p.code}: ${p.message}`)} />
      ))}
      {!readOnly && (
        <div className="row">
          <input data-testid="new-state-key" placeholder="new key" value={adding} onChange={(e) => setAdding(e.target.value)} onKeyDown={(e) => e.key === "Enter" && add()} />
          <button className="small" data-testid="add-state-key" onClick={add}>
            + key
          </button>
        </div>
      )}
    </div>
  );
}

function StateKeyRow({ name, ks, readOnly, problems }: { name: string; ks: StateKeySpec; readOnly: boolean; problems?: string[] }) {
  const apply = useEditor((s) => s.apply);
  const [text, setText] = useState(name);
  useEffect(() => setText(name), [name]);
  const update = (patch: Partial<StateKeySpec>, group?: string) => {
    const next: StateKeySpec = { ...ks, ...patch };
    for (const k of Object.keys(next) as (keyof StateKeySpec)[]) if (next[k] === undefined || next[k] === null || next[k] === "") delete next[k];
    apply({ type: "setStateKey", key: name, spec: next }, group ?? null);
  };
  const t = typeName(ks.type);
  const complexType = ks.type !== undefined && typeof ks.type !== "string" && Object.keys(ks.type as object).length > 1;
  return (
    <div className={`state-key${problems ? " invalid" : ""}`} data-testid={`state-key-${name}`}>
      <div className="row">
        <input
          className="key-name"
          value={text}
          disabled={readOnly}
          onChange={(e) => setText(e.target.value)}
          onBlur={() => text !== name && !apply({ type: "setStateKey", key: text, previousKey: name, spec: ks }) && setText(name)}
          onKeyDown={(e) => e.key === "Enter" && (e.target as HTMLInputElement).blur()}
        />
        <select title="type" value={complexType ? "__complex" : t} disabled={readOnly} onChange={(e) => update({ type: e.target.value || undefined })}>
          {complexType && <option value="__complex">{t || "schema"} (custom)</option>}
          {TYPES.map((x) => (
            <option key={x} value={x}>
              {x || "any"}
            </option>
          ))}
        </select>
        <select title="reducer" value={ks.reducer ?? ""} disabled={readOnly} onChange={(e) => update({ reducer: e.target.value || null })}>
          <option value="">last value</option>
          {REDUCERS.map((r) => (
            <option key={r}>{r}</option>
          ))}
          {ks.reducer && !REDUCERS.includes(ks.reducer) && <option>{ks.reducer}</option>}
        </select>
        <button className="icon" disabled={readOnly} title="Remove key" onClick={() => apply({ type: "removeStateKey", key: name })}>
          ×
        </button>
      </div>
      <details>
        <summary>default</summary>
        <JsonInput value={ks.default} readOnly={readOnly} minHeight="28px" onChange={(v) => update({ default: v }, `state-default:${name}`)} />
      </details>
      {problems && (
        <ul className="inline-problems">
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
