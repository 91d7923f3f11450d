// A collapsible JSON tree with search: matching keys/values are highlighted and their ancestors
// opened; everything else keeps the user's open/closed choice.
import { memo, useState } from "react";

function matches(key: string, value: unknown, q: string): boolean {
  if (!q) return false;
  if (key.toLowerCase().includes(q)) return true;
  if (value === null || typeof value !== "object") return String(value).toLowerCase().includes(q);
  return false;
}

function containsMatch(value: unknown, q: string, depth = 0): boolean {
  if (!q || depth > 20 || value === null || typeof value !== "object") return false;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (matches(k, v, q) || containsMatch(v, q, depth + 1)) return true;
  return false;
}

function preview(v: unknown): string {
  if (Array.isArray(v)) return `[${v.length}]`;
  if (v && typeof v === "object") return `{${Object.keys(v).length}}`;
  return JSON.stringify(v) ?? "undefined";
}

const Entry = memo(function Entry({ name, value, path, q, depth }: { name: string; value: unknown; path: string; q: string; depth: number }) {
  const isObj = value !== null && typeof value === "object";
  const [open, setOpen] = useState<boolean | null>(null);
  const hit = matches(name, value, q);
  const inside = isObj && containsMatch(value, q);
  const expanded = open ?? (inside || depth < 1);
  return (
    <div className="jt-entry" data-path={path}>
      <div className={`jt-row${hit ? " jt-hit" : ""}`}>
        {isObj ? (
          <button className="jt-toggle" aria-label={expanded ? "collapse" : "expand"} onClick={() => setOpen(!expanded)}>
            {expanded ? "▾" : "▸"}
          </button>
        ) : (
          <span className="jt-toggle" />
        )}
        <span className="jt-key">{name}</span>: {isObj && expanded ? <span className="muted">{Array.isArray(value) ? "[" : "{"}</span> : <span className={`jt-val jt-${value === null ? "null" : typeof value}`} data-testid={`state-value-${path}`}>{isObj ? preview(value) : JSON.stringify(value)}</span>}
      </div>
      {isObj && expanded && (
        <div className="jt-children">
          {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
            <Entry key={k} name={k} value={v} path={`${path}.${k}`} q={q} depth={depth + 1} />
          ))}
        </div>
      )}
    </div>
  );
});

/** The tree of `value`'s keys. Paths in test ids are dotted from the root key. */
export function JsonTree({ value, query = "" }: { value: unknown; query?: string }) {
  const q = query.trim().toLowerCase();
  if (value === null || typeof value !== "object") return <div className="jt"><span className="jt-val">{JSON.stringify(value) ?? "(no state)"}</span></div>;
  return (
    <div className="jt">
      {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
        <Entry key={k} name={k} value={v} path={k} q={q} depth={0} />
      ))}
    </div>
  );
}
