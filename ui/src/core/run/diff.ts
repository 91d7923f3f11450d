// State diffs between checkpoints, naming who wrote each changed key and how it was merged.
//
// Who wrote a key: a checkpoint made by the run loop holds the writes of the tasks its parent
// scheduled, and the history returns those writes as `tasks[].result` on the parent snapshot.
// A checkpoint made by `update_state` (source `update`) names its writer in `metadata.writes`
// (LangGraph) or, when the studio made the fork itself, in the `forks` map it remembers.
import type { StateSnapshot } from "./client";

/** One changed key. */
export interface DiffEntry {
  key: string;
  change: "added" | "removed" | "changed";
  before: unknown;
  after: unknown;
  /** Nodes whose writes touched this key in that step (empty when unknown, e.g. the input). */
  writers: string[];
  /** The reducer that merged the writes (`last value` when the key has none). */
  reducer: string;
  /** What the writers wrote (one entry per writer, same order). */
  written: unknown[];
}

/** Deep equality for JSON values. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}

function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Writes per node that produced `cur` from `prev`: `[node, writes][]`. */
export function writesOf(prev: StateSnapshot | null, cur: StateSnapshot, forks: Record<string, string> = {}): [string, Record<string, unknown>][] {
  const meta = cur.metadata ?? {};
  const id = cur.checkpoint?.checkpoint_id ?? cur.checkpoint_id ?? "";
  if (meta.source === "update" || meta.source === "input" || meta.source === "fork") {
    const w = asRecord(meta.writes);
    const named = Object.entries(w).filter(([, v]) => v && typeof v === "object");
    if (named.length) return named.map(([n, v]) => [n, asRecord(v)]);
    if (id && forks[id]) {
      // Which keys: the ones that differ.
      const after = asRecord(cur.values);
      const before = asRecord(prev?.values);
      const keys: Record<string, unknown> = {};
      for (const k of Object.keys(after)) if (!jsonEqual(after[k], before[k])) keys[k] = after[k];
      return [[forks[id], keys]];
    }
    if (meta.source === "input") return [["(input)", asRecord(cur.values)]];
    return [];
  }
  if (!prev) return [];
  const out: [string, Record<string, unknown>][] = [];
  for (const t of prev.tasks ?? []) {
    if (t.result === null || t.result === undefined) continue;
    const r = t.result;
    // A node may return a list of updates (several writes of one task) or one object.
    if (Array.isArray(r)) {
      const merged: Record<string, unknown> = {};
      for (const part of r) for (const [k, v] of Object.entries(asRecord(part))) merged[k] = v;
      out.push([t.name, merged]);
    } else out.push([t.name, asRecord(r)]);
  }
  return out;
}

/**
 * The keys that differ between `prev` and `cur`, each with the nodes that wrote it and the
 * reducer (from `reducers`, keyed by state key). Keys are in `cur`'s order, removed keys last.
 */
export function diffStates(
  prev: StateSnapshot | null,
  cur: StateSnapshot,
  reducers: Record<string, string | null | undefined> = {},
  forks: Record<string, string> = {},
): DiffEntry[] {
  const before = asRecord(prev?.values);
  const after = asRecord(cur.values);
  const writes = writesOf(prev, cur, forks);
  const out: DiffEntry[] = [];
  const entry = (key: string, change: DiffEntry["change"]): DiffEntry => {
    const ws = writes.filter(([, w]) => Object.prototype.hasOwnProperty.call(w, key));
    return {
      key,
      change,
      before: before[key],
      after: after[key],
      writers: ws.map(([n]) => n),
      written: ws.map(([, w]) => w[key]),
      reducer: reducers[key] || "last value",
    };
  };
  for (const k of Object.keys(after)) {
    if (!(k in before)) out.push(entry(k, "added"));
    else if (!jsonEqual(before[k], after[k])) out.push(entry(k, "changed"));
  }
  for (const k of Object.keys(before)) if (!(k in after)) out.push(entry(k, "removed"));
  return out;
}

/** Reducers per key from a spec's `state` section (`{key: {reducer}}`). */
export function reducersFromSpec(state: Record<string, unknown> | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(state ?? {})) {
    const r = asRecord(v).reducer;
    if (typeof r === "string" && r) out[k] = r;
  }
  return out;
}

/** Reducers per key from `GET /assistants/{id}/schemas` (`state_schema.properties[k]["x-reducer"]`). */
export function reducersFromSchema(stateSchema: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const props = asRecord(asRecord(stateSchema).properties);
  for (const [k, v] of Object.entries(props)) {
    const r = asRecord(v)["x-reducer"];
    if (typeof r === "string" && r) out[k] = r;
  }
  return out;
}
