// A form generated from a JSON Schema (a node kind's config_schema): strings, code (CodeMirror),
// numbers, booleans, enums, nested objects, arrays, state-key pickers; JSON editor otherwise.
import { useEffect, useState } from "react";
import { describeFields, emptyValue, parseNumberInput, type FieldDesc, type JsonSchema } from "../core/schema-form";
import { CodeEditor } from "./CodeEditor";

interface Props {
  schema: JsonSchema;
  root?: JsonSchema;
  value: Record<string, unknown>;
  onChange: (next: Record<string, unknown>, field: string) => void;
  stateKeys: string[];
  readOnly?: boolean;
  path?: string;
}

function set(obj: Record<string, unknown>, key: string, v: unknown): Record<string, unknown> {
  const out = { ...obj };
  if (v === undefined) delete out[key];
  else out[key] = v;
  return out;
}

export function SchemaForm({ schema, root, value, onChange, stateKeys, readOnly, path = "" }: Props) {
  const fields = describeFields(schema, root ?? schema);
  const known = new Set(fields.map((f) => f.name));
  const extra = Object.keys(value).filter((k) => !known.has(k));
  return (
    <div className="schema-form">
      {fields.map((f) => (
        <Field
          key={f.name}
          f={f}
          root={root ?? schema}
          value={value[f.name]}
          onChange={(v) => onChange(set(value, f.name, v), path + f.name)}
          stateKeys={stateKeys}
          readOnly={readOnly}
          path={`${path}${f.name}.`}
        />
      ))}
      {extra.length > 0 && (
        <div className="form-note">
          Not in the kind's schema: {extra.map((k) => <code key={k}>{k}</code>)}{" "}
          {!readOnly && (
            <button className="link" onClick={() => onChange(Object.fromEntries(Object.entries(value).filter(([k]) => known.has(k))), path)}>
              remove
            </button>
          )}
        </div>
      )}
    </div>
  );
}

function Label({ f }: { f: FieldDesc }) {
  return (
    <label className="field-label" title={f.description}>
      {f.label}
      {f.required && <span className="required">*</span>}
    </label>
  );
}

function Field(props: {
  f: FieldDesc;
  root: JsonSchema;
  value: unknown;
  onChange: (v: unknown) => void;
  stateKeys: string[];
  readOnly?: boolean;
  path: string;
}) {
  const { f, value, onChange, readOnly } = props;
  const testId = `field-${props.path.replace(/\.$/, "")}`;
  let input: React.ReactNode;
  switch (f.kind) {
    case "string":
      input = (
        <input data-testid={testId} value={typeof value === "string" ? value : ""} disabled={readOnly} onChange={(e) => onChange(e.target.value === "" && !f.required ? undefined : e.target.value)} />
      );
      break;
    case "state-key":
      input = (
        <select data-testid={testId} value={typeof value === "string" ? value : ""} disabled={readOnly} onChange={(e) => onChange(e.target.value || undefined)}>
          <option value="">(choose a state key)</option>
          {props.stateKeys.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
          {typeof value === "string" && value && !props.stateKeys.includes(value) && <option value={value}>{value} (undeclared)</option>}
        </select>
      );
      break;
    case "state-key-map":
      input = (
        <StateKeyMapInput
          testId={testId}
          value={value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {}}
          expression={!!f.language}
          stateKeys={props.stateKeys}
          readOnly={readOnly}
          onChange={onChange}
        />
      );
      break;
    case "code":
      input = (
        <CodeEditor testId={testId} value={typeof value === "string" ? value : ""} language={f.language} readOnly={readOnly} onChange={(v) => onChange(v)} />
      );
      break;
    case "number":
    case "integer":
      input = <NumberInput testId={testId} value={value} integer={f.kind === "integer"} onChange={onChange} readOnly={readOnly} />;
      break;
    case "boolean":
      input = <input data-testid={testId} type="checkbox" checked={value === true} disabled={readOnly} onChange={(e) => onChange(e.target.checked)} />;
      break;
    case "enum":
      input = (
        <select data-testid={testId} value={JSON.stringify(value ?? null)} disabled={readOnly} onChange={(e) => onChange(JSON.parse(e.target.value))}>
          {!f.required && <option value="null">(unset)</option>}
          {(f.options ?? []).map((o) => (
            <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      );
      break;
    case "object":
      input = (
        <div className="nested">
          <SchemaForm
            schema={f.schema}
            root={props.root}
            value={value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {}}
            onChange={(v) => onChange(v)}
            stateKeys={props.stateKeys}
            readOnly={readOnly}
            path={props.path}
          />
        </div>
      );
      break;
    case "array":
      input = <ArrayInput f={f} root={props.root} value={Array.isArray(value) ? value : []} onChange={onChange} stateKeys={props.stateKeys} readOnly={readOnly} path={props.path} />;
      break;
    default:
      input = <JsonInput testId={testId} value={value} onChange={onChange} readOnly={readOnly} />;
  }
  return (
    <div className={`field field-${f.kind}`}>
      <Label f={f} />
      {input}
      {f.description && f.kind !== "boolean" && <div className="field-help">{f.description}</div>}
    </div>
  );
}

/** State key → value rows: expressions (transform) or JSON values (set). */
function StateKeyMapInput(props: {
  value: Record<string, unknown>;
  expression: boolean;
  stateKeys: string[];
  readOnly?: boolean;
  onChange: (v: unknown) => void;
  testId: string;
}) {
  const entries = Object.entries(props.value);
  const setEntry = (i: number, key: string, v: unknown) =>
    props.onChange(Object.fromEntries(entries.map(([k, old], j) => (j === i ? [key, v] : [k, old]))));
  const free = props.stateKeys.find((k) => !(k in props.value));
  return (
    <div className="key-map" data-testid={props.testId}>
      {entries.map(([k, v], i) => (
        <div className="key-map-row" key={i}>
          <select value={k} disabled={props.readOnly} onChange={(e) => setEntry(i, e.target.value, v)}>
            {[k, ...props.stateKeys.filter((s) => s !== k && !(s in props.value))].map((s) => (
              <option key={s} value={s}>
                {s}
                {props.stateKeys.includes(s) ? "" : " (undeclared)"}
              </option>
            ))}
          </select>
          <span className="arrow">←</span>
          {props.expression ? (
            <input className="mono" value={typeof v === "string" ? v : JSON.stringify(v)} disabled={props.readOnly} placeholder="Rhai expression, e.g. state.count + 1" onChange={(e) => setEntry(i, k, e.target.value)} />
          ) : (
            <JsonValueInput value={v} readOnly={props.readOnly} onChange={(nv) => setEntry(i, k, nv)} />
          )}
          {!props.readOnly && (
            <button className="icon" title="Remove" onClick={() => props.onChange(Object.fromEntries(entries.filter((_, j) => j !== i)))}>
              ×
            </button>
          )}
        </div>
      ))}
      {!props.readOnly && (
        <button className="small" disabled={!free} title={free ? "" : "Every declared state key is listed (declare more in the graph's State)"} onClick={() => free && props.onChange({ ...props.value, [free]: props.expression ? "" : null })}>
          + key
        </button>
      )}
    </div>
  );
}

/** One JSON value in a single-line input, applied when it parses. */
function JsonValueInput(props: { value: unknown; onChange: (v: unknown) => void; readOnly?: boolean }) {
  const [text, setText] = useState(JSON.stringify(props.value ?? null));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    setText((t) => {
      try {
        return JSON.stringify(JSON.parse(t)) === JSON.stringify(props.value ?? null) ? t : JSON.stringify(props.value ?? null);
      } catch {
        return JSON.stringify(props.value ?? null);
      }
    });
  }, [props.value]);
  return (
    <input
      className={`mono${bad ? " bad" : ""}`}
      value={text}
      disabled={props.readOnly}
      title={bad ? "not valid JSON yet" : "a JSON value"}
      onChange={(e) => {
        setText(e.target.value);
        try {
          props.onChange(JSON.parse(e.target.value));
          setBad(false);
        } catch {
          setBad(true);
        }
      }}
    />
  );
}

function NumberInput(props: { value: unknown; integer: boolean; onChange: (v: unknown) => void; readOnly?: boolean; testId: string }) {
  const [text, setText] = useState(typeof props.value === "number" ? String(props.value) : "");
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(typeof props.value === "number" ? String(props.value) : ""), [props.value]);
  return (
    <>
      <input
        data-testid={props.testId}
        inputMode="decimal"
        value={text}
        disabled={props.readOnly}
        onChange={(e) => {
          setText(e.target.value);
          const v = parseNumberInput(e.target.value, props.integer);
          if (v instanceof Error) setError(v.message);
          else {
            setError(null);
            props.onChange(v);
          }
        }}
      />
      {error && <div className="field-error">{error}</div>}
    </>
  );
}

function ArrayInput(props: {
  f: FieldDesc;
  root: JsonSchema;
  value: unknown[];
  onChange: (v: unknown) => void;
  stateKeys: string[];
  readOnly?: boolean;
  path: string;
}) {
  const item = props.f.schema.items ?? {};
  const itemField: FieldDesc = { ...describeFields({ properties: { item } }, props.root)[0]!, label: "" };
  return (
    <div className="array-input">
      {props.value.map((v, i) => (
        <div className="array-row" key={i}>
          <Field
            f={itemField}
            root={props.root}
            value={v}
            onChange={(nv) => props.onChange(props.value.map((x, j) => (j === i ? nv : x)))}
            stateKeys={props.stateKeys}
            readOnly={props.readOnly}
            path={`${props.path}${i}.`}
          />
          {!props.readOnly && (
            <button className="icon" title="Remove item" onClick={() => props.onChange(props.value.filter((_, j) => j !== i))}>
              ×
            </button>
          )}
        </div>
      ))}
      {!props.readOnly && (
        <button className="small" onClick={() => props.onChange([...props.value, emptyValue(item, props.root)])}>
          + item
        </button>
      )}
    </div>
  );
}

/** A JSON value edited as text; applied when it parses. */
export function JsonInput(props: { value: unknown; onChange: (v: unknown) => void; readOnly?: boolean; testId?: string; minHeight?: string }) {
  const pretty = props.value === undefined ? "" : JSON.stringify(props.value, null, 2);
  const [text, setText] = useState(pretty);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    // Follow outside changes (undo, another field) unless the text already means the same value.
    setText((t) => {
      try {
        return JSON.stringify(t.trim() ? JSON.parse(t) : undefined) === JSON.stringify(props.value) ? t : pretty;
      } catch {
        return pretty;
      }
    });
  }, [pretty, props.value]);
  return (
    <>
      <CodeEditor
        testId={props.testId}
        value={text}
        language="json"
        readOnly={props.readOnly}
        minHeight={props.minHeight}
        onChange={(t) => {
          setText(t);
          if (!t.trim()) {
            setError(null);
            props.onChange(undefined);
            return;
          }
          try {
            props.onChange(JSON.parse(t));
            setError(null);
          } catch (e) {
            setError(`not valid JSON yet: ${(e as Error).message}`);
          }
        }}
      />
      {error && <div className="field-error">{error}</div>}
    </>
  );
}
