// Browser-side persistence: recent files and the autosave slot (the desktop app has native
// commands for both; see src/desktop). Works on any Storage-like object, so tests use a Map.
import type { GraphSpec } from "./spec-types";

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Where a document lives. */
export type DocSource =
  | { kind: "new" }
  | { kind: "server"; name: string }
  | { kind: "file"; name: string }
  | { kind: "native"; path: string }
  | { kind: "assistant"; assistantId: string; graphId: string };

/** A recent-files entry. */
export interface RecentEntry {
  source: DocSource;
  title: string;
  openedAt: number;
}

export const RECENT_KEY = "stategraph.recent";
export const AUTOSAVE_KEY = "stategraph.autosave";
export const RECENT_LIMIT = 10;

function sameSource(a: DocSource, b: DocSource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function readRecent(storage: StorageLike): RecentEntry[] {
  try {
    const v = JSON.parse(storage.getItem(RECENT_KEY) ?? "[]") as RecentEntry[];
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** Puts an entry first (dropping an older entry for the same source) and keeps the newest ten. */
export function addRecent(storage: StorageLike, entry: RecentEntry): RecentEntry[] {
  const list = [entry, ...readRecent(storage).filter((e) => !sameSource(e.source, entry.source))].slice(0, RECENT_LIMIT);
  storage.setItem(RECENT_KEY, JSON.stringify(list));
  return list;
}

/** What the autosave slot holds. */
export interface AutosaveRecord {
  spec: GraphSpec;
  source: DocSource;
  savedAt: number;
}

export function writeAutosave(storage: StorageLike, rec: AutosaveRecord): void {
  storage.setItem(AUTOSAVE_KEY, JSON.stringify(rec));
}

export function readAutosave(storage: StorageLike): AutosaveRecord | null {
  const raw = storage.getItem(AUTOSAVE_KEY);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as AutosaveRecord;
    return v && typeof v === "object" && v.spec && typeof v.spec === "object" ? v : null;
  } catch {
    return null;
  }
}

export function clearAutosave(storage: StorageLike): void {
  storage.removeItem(AUTOSAVE_KEY);
}

/** A title for a document source. */
export function sourceTitle(source: DocSource, spec: GraphSpec): string {
  switch (source.kind) {
    case "server":
      return `${source.name} (server)`;
    case "file":
      return source.name;
    case "native":
      return source.path.split(/[\\/]/).pop() ?? source.path;
    case "assistant":
      return `${source.graphId} (read-only)`;
    default:
      return spec.name || "untitled";
  }
}
