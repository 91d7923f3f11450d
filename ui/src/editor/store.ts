// The editor store: the document (with undo history), selection, problems, connection and UI
// state. React components read slices of it; every edit goes through `apply(change)`, so the
// core's pure functions do the work.
import { create } from "zustand";
import type { GraphSpec } from "../core/spec-types";
import { type Change, applyChange, applyChanges } from "../core/changes";
import { type History, canRedo, canUndo, createHistory, record, redo, seal, undo } from "../core/history";
import { emptySpec } from "../core/model";
import { type ProblemIndex, NO_PROBLEMS, type Problem, mapProblems } from "../core/validation";
import { ApiError, CONNECTION_KEY, type Connection, type NodeKindInfo, StudioApi, resolveConnection } from "../core/api";
import type { DocSource } from "../core/storage";
import { FALLBACK_KINDS } from "./kinds";

/** Validation status shown in the problems panel. */
export type ValidationStatus = "idle" | "pending" | "ok" | "problems" | "unavailable" | "error";

/** Server status shown in the toolbar. */
export interface ServerStatus {
  state: "unknown" | "connected" | "partial" | "down";
  message: string;
  studio: boolean;
  writable: boolean;
  specsDir: string | null;
}

export interface Toast {
  id: number;
  kind: "info" | "error";
  text: string;
}

export interface EditorState {
  history: History<GraphSpec>;
  /** The spec as last saved or opened (dirty = present !== saved). */
  saved: GraphSpec;
  source: DocSource;
  readOnly: boolean;
  selectedNodes: ReadonlySet<string>;
  selectedEdges: ReadonlySet<string>;
  problems: ProblemIndex;
  validation: ValidationStatus;
  validationMessage: string;
  kinds: NodeKindInfo[];
  kindsFromServer: boolean;
  connection: Connection;
  api: StudioApi;
  server: ServerStatus;
  theme: "light" | "dark";
  dialog: string | null;
  toasts: Toast[];

  apply(change: Change, group?: string | null): boolean;
  applyMany(changes: Change[], group?: string | null): boolean;
  undo(): void;
  redo(): void;
  sealHistory(): void;
  load(spec: GraphSpec, source: DocSource, opts?: { readOnly?: boolean; dirty?: boolean }): void;
  markSaved(source?: DocSource): void;
  select(nodes: Iterable<string>, edges?: Iterable<string>): void;
  setProblems(problems: Problem[], status: ValidationStatus, message?: string): void;
  setValidation(status: ValidationStatus, message?: string): void;
  setConnection(c: Connection, persist: boolean): void;
  setServer(s: Partial<ServerStatus>): void;
  setKinds(kinds: NodeKindInfo[], fromServer: boolean): void;
  setTheme(t: "light" | "dark"): void;
  openDialog(name: string | null): void;
  toast(text: string, kind?: Toast["kind"]): void;
  dismissToast(id: number): void;
}

function initialConnection(): Connection {
  const injected = typeof window !== "undefined" ? window.__STATEGRAPH__ : undefined;
  const origin = typeof window !== "undefined" ? window.location.origin : "http://127.0.0.1:2024";
  const storage = typeof localStorage !== "undefined" ? localStorage : null;
  return resolveConnection(injected, origin, storage);
}

function initialTheme(): "light" | "dark" {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem("stategraph.theme") : null;
  if (saved === "light" || saved === "dark") return saved;
  return typeof window !== "undefined" && window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

let toastId = 0;
const conn = initialConnection();
const first = emptySpec();

export const useEditor = create<EditorState>()((set, get) => ({
  history: createHistory(first),
  saved: first,
  source: { kind: "new" },
  readOnly: false,
  selectedNodes: new Set(),
  selectedEdges: new Set(),
  problems: NO_PROBLEMS,
  validation: "idle",
  validationMessage: "",
  kinds: FALLBACK_KINDS,
  kindsFromServer: false,
  connection: conn,
  api: new StudioApi(conn),
  server: { state: "unknown", message: "", studio: false, writable: false, specsDir: null },
  theme: initialTheme(),
  dialog: null,
  toasts: [],

  apply(change, group = null) {
    return get().applyMany([change], group);
  },
  applyMany(changes, group = null) {
    const s = get();
    if (s.readOnly) {
      s.toast("This graph is read-only (defined in code on the server).", "error");
      return false;
    }
    try {
      const next = changes.length === 1 ? applyChange(s.history.present, changes[0] as Change) : applyChanges(s.history.present, changes);
      if (next === s.history.present) return true;
      set({ history: record(s.history, next, group) });
      return true;
    } catch (e) {
      s.toast((e as Error).message, "error");
      return false;
    }
  },
  undo() {
    const h = get().history;
    if (canUndo(h)) set({ history: undo(h), selectedNodes: new Set(), selectedEdges: new Set() });
  },
  redo() {
    const h = get().history;
    if (canRedo(h)) set({ history: redo(h), selectedNodes: new Set(), selectedEdges: new Set() });
  },
  sealHistory() {
    set({ history: seal(get().history) });
  },
  load(spec, source, opts = {}) {
    set({
      history: createHistory(spec),
      saved: opts.dirty ? emptySpec() : spec,
      source,
      readOnly: !!opts.readOnly,
      selectedNodes: new Set(),
      selectedEdges: new Set(),
      problems: NO_PROBLEMS,
      validation: "idle",
    });
  },
  markSaved(source) {
    set({ saved: get().history.present, ...(source ? { source } : {}) });
  },
  select(nodes, edges = []) {
    set({ selectedNodes: new Set(nodes), selectedEdges: new Set(edges) });
  },
  setProblems(problems, status, message = "") {
    set({ problems: mapProblems(get().history.present, problems), validation: status, validationMessage: message });
  },
  setValidation(status, message = "") {
    set({ validation: status, validationMessage: message });
  },
  setConnection(c, persist) {
    if (persist) localStorage.setItem(CONNECTION_KEY, JSON.stringify(c));
    set({ connection: c, api: new StudioApi(c), server: { ...get().server, state: "unknown", message: "" } });
  },
  setServer(s) {
    set({ server: { ...get().server, ...s } });
  },
  setKinds(kinds, fromServer) {
    set({ kinds, kindsFromServer: fromServer });
  },
  setTheme(t) {
    localStorage.setItem("stategraph.theme", t);
    set({ theme: t });
  },
  openDialog(name) {
    set({ dialog: name });
  },
  toast(text, kind = "info") {
    const id = ++toastId;
    set({ toasts: [...get().toasts, { id, kind, text }] });
    setTimeout(() => get().dismissToast(id), kind === "error" ? 6000 : 3000);
  },
  dismissToast(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
}));

/** The current spec. */
export const useSpec = () => useEditor((s) => s.history.present);
/** Is the document changed since it was saved or opened? */
export const useDirty = () => useEditor((s) => s.history.present !== s.saved);

/** A message for a failed request, naming what was attempted. */
export function describeError(what: string, e: unknown): string {
  if (e instanceof ApiError) return `${what}: ${e.message}`;
  return `${what}: ${(e as Error)?.message ?? String(e)}`;
}
