// Editor commands used by the toolbar, menus and shortcuts: files, export/import, clipboard,
// layout. They read and write the store; the core does the document work.
import { toPng, toSvg } from "html-to-image";
import { getNodesBounds, getViewportForBounds, type ReactFlowInstance } from "@xyflow/react";
import { useEditor, describeError } from "./store";
import { computeLayout } from "./layout-runner";
import { applyChange } from "../core/changes";
import type { GraphSpec } from "../core/spec-types";
import { emptySpec, nodesOf } from "../core/model";
import { copySelection, parseClipboard, preparePaste, serializeClipboard } from "../core/clipboard";
import { addRecent, clearAutosave, sourceTitle, type DocSource } from "../core/storage";
import { ApiError, type ExportFormat } from "../core/api";
import { specFromGraphJson } from "../core/run/graph-json";
import { isDesktop, native } from "../desktop/native";

let flowInstance: ReactFlowInstance | null = null;
/** The canvas registers its React Flow instance here (for fit view and image export). */
export function setFlowInstance(f: ReactFlowInstance | null) {
  flowInstance = f;
}

function st() {
  return useEditor.getState();
}

/** Confirms dropping unsaved changes. */
function confirmDiscard(): boolean {
  const s = st();
  if (s.history.present === s.saved) return true;
  return window.confirm("The graph has unsaved changes. Discard them?");
}

function remember(source: DocSource, spec: GraphSpec) {
  if (source.kind === "new" || source.kind === "assistant") return;
  addRecent(localStorage, { source, title: sourceTitle(source, spec), openedAt: Date.now() });
  if (source.kind === "native" && isDesktop()) native.addRecent(source.path).catch(() => undefined);
}

/** Does every node have a position? Otherwise the graph is laid out when opened. */
function needsLayout(spec: GraphSpec): boolean {
  return nodesOf(spec).some((n) => !n.position);
}

/** Opens a spec in the editor; lays it out when it has no positions. Marks `sg-open-*`. */
export async function openSpec(spec: GraphSpec, source: DocSource, opts: { readOnly?: boolean } = {}) {
  performance.mark("sg-open-start");
  let doc = spec;
  if (needsLayout(spec)) {
    try {
      const positions = await computeLayout(spec, { quick: true });
      doc = applyChange(spec, { type: "moveNodes", positions });
    } catch (e) {
      st().toast(describeError("Auto-layout failed", e), "error");
    }
  }
  st().load(doc, source, { readOnly: opts.readOnly });
  // Positions added by the layout are not unsaved user work.
  remember(source, doc);
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      flowInstance?.fitView({ duration: 0 });
      performance.mark("sg-open-end");
      performance.measure("sg-open", "sg-open-start", "sg-open-end");
      if (performance.getEntriesByName("sg-file-read").length) {
        performance.measure("sg-file-open", "sg-file-read", "sg-open-end");
        performance.clearMarks("sg-file-read");
      }
    }),
  );
}

export function newSpec() {
  if (!confirmDiscard()) return;
  st().load(emptySpec(), { kind: "new" });
  clearAutosave(localStorage);
}

/** Parses file text (JSON locally, YAML through the server). */
export async function parseSpecText(text: string, fileName: string): Promise<GraphSpec> {
  const yaml = /\.ya?ml$/i.test(fileName);
  if (!yaml) {
    try {
      return JSON.parse(text) as GraphSpec;
    } catch (e) {
      if (/\.json$/i.test(fileName)) throw new Error(`${fileName} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const r = await st().api.parse(text, yaml ? "yaml" : null);
  if (!r.spec) throw new Error(`${fileName}: ${r.problems.map((p) => p.message).join("; ") || "not a spec"}`);
  return r.spec;
}

/** Opens a file the user picked in the browser. */
export async function openFile(file: File) {
  if (!confirmDiscard()) return;
  try {
    performance.mark("sg-file-read");
    const spec = await parseSpecText(await file.text(), file.name);
    await openSpec(spec, { kind: "file", name: file.name });
  } catch (e) {
    st().toast(describeError(`Cannot open ${file.name}`, e), "error");
  }
}

/** Desktop: the native open dialog. */
export async function openNative() {
  if (!confirmDiscard()) return;
  try {
    const r = await native.openSpecDialog();
    if (!r) return;
    await openSpec(await parseSpecText(r.content, r.path), { kind: "native", path: r.path });
  } catch (e) {
    st().toast(describeError("Cannot open the file", e), "error");
  }
}

export async function openNativePath(path: string) {
  if (!confirmDiscard()) return;
  try {
    await openSpec(await parseSpecText(await native.readFile(path), path), { kind: "native", path });
  } catch (e) {
    st().toast(describeError(`Cannot open ${path}`, e), "error");
  }
}

/** Opens the file the desktop app was launched with (`window.__STATEGRAPH__.open`). */
export async function openLaunchFile(path: string, content: string) {
  try {
    await openSpec(await parseSpecText(content, path), { kind: "native", path });
  } catch (e) {
    st().toast(describeError(`Cannot open ${path}`, e), "error");
  }
}

/** Opens a spec from the server's spec directory. */
export async function openServerSpec(name: string) {
  if (!confirmDiscard()) return;
  try {
    await openSpec(await st().api.getSpec(name), { kind: "server", name });
  } catch (e) {
    st().toast(describeError(`Cannot open ${name} from the server`, e), "error");
  }
}

/** Opens a graph the server serves: its spec when there is one, else read-only from its drawing. */
export async function openAssistantGraph(assistantId: string, graphId: string) {
  if (!confirmDiscard()) return;
  const api = st().api;
  try {
    const specs = await api.listSpecs().catch(() => []);
    const match = specs.find((s) => s.graph_id === graphId || s.assistant_id === assistantId);
    if (match) return await openServerSpec(match.name);
    const graph = await api.assistantGraph(assistantId);
    let spec: GraphSpec;
    try {
      const r = await api.importLangGraph(JSON.stringify(graph));
      spec = { ...r.spec, name: r.spec.name || graphId };
    } catch (e) {
      // A server without our import endpoint (a Python `langgraph dev`): convert here, for viewing.
      if (!(e instanceof ApiError && e.unavailable)) throw e;
      spec = specFromGraphJson(graph, graphId);
    }
    await openSpec(spec, { kind: "assistant", assistantId, graphId }, { readOnly: true });
    st().toast(`${graphId} is defined in code: shown read-only.`);
  } catch (e) {
    st().toast(describeError(`Cannot open graph ${graphId}`, e), "error");
  }
}

function specText(spec: GraphSpec): string {
  return JSON.stringify(spec, null, 2) + "\n";
}

/** Triggers a browser download. */
export function download(name: string, content: string | Blob, type = "application/json") {
  const blob = typeof content === "string" ? new Blob([content], { type }) : content;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function fileStem(spec: GraphSpec): string {
  return (spec.name || "graph").replace(/[^A-Za-z0-9_.-]+/g, "_");
}

/** Saves to where the document came from; asks where when it is new. */
export async function save() {
  const s = st();
  const spec = s.history.present;
  const src = s.source;
  if (s.readOnly) return s.toast("A code-defined graph cannot be saved; use Save as to keep a copy.", "error");
  if (src.kind === "server") return saveToServer(src.name);
  if (src.kind === "native") {
    try {
      await native.saveSpec(src.path, specText(spec));
      afterSave(src);
    } catch (e) {
      s.toast(describeError("Save failed", e), "error");
    }
    return;
  }
  if (s.server.writable) return s.openDialog("save-server");
  return saveAsDownload();
}

function afterSave(source: DocSource) {
  const s = st();
  s.markSaved(source);
  clearAutosave(localStorage);
  if (isDesktop()) native.autosaveClear("current").catch(() => undefined);
  remember(source, s.history.present);
  s.toast(`Saved ${sourceTitle(source, s.history.present)}`);
}

/** Browser: download as JSON; desktop: the native save dialog. */
export async function saveAsDownload() {
  const s = st();
  const spec = s.history.present;
  if (isDesktop()) {
    try {
      const path = await native.saveSpecDialog(specText(spec), `${fileStem(spec)}.json`);
      if (path) afterSave({ kind: "native", path });
    } catch (e) {
      s.toast(describeError("Save failed", e), "error");
    }
    return;
  }
  const name = s.source.kind === "file" ? s.source.name.replace(/\.ya?ml$/i, ".json") : `${fileStem(spec)}.json`;
  download(name, specText(spec));
  afterSave({ kind: "file", name });
}

/** Writes the spec into the server's spec directory as `<name>.json` (the server validates it). */
export async function saveToServer(name: string) {
  const s = st();
  try {
    const r = await s.api.putSpec(name, s.history.present);
    if (r.ok === false) {
      s.setProblems(r.problems, "problems");
      s.toast(`Not saved: the server found ${r.problems.length} problem(s).`, "error");
      return false;
    }
    afterSave({ kind: "server", name });
    return true;
  } catch (e) {
    const err = e as { problems?: unknown[] };
    if (Array.isArray(err.problems) && err.problems.length) s.setProblems(err.problems as never, "problems");
    s.toast(describeError("Save to the server failed", e), "error");
    return false;
  }
}

/** Exports through the server (YAML, Mermaid, Python) or locally (JSON). */
export async function exportText(format: ExportFormat): Promise<{ content: string; warnings: string[] }> {
  const spec = st().history.present;
  if (format === "json") return { content: specText(spec), warnings: [] };
  return st().api.exportSpec(spec, format);
}

export const EXPORT_EXT: Record<ExportFormat, string> = { json: "json", yaml: "yaml", mermaid: "mmd", python: "py" };

/** PNG or SVG of the whole graph (not just the visible part). */
export async function exportImage(format: "png" | "svg") {
  const s = st();
  const el = document.querySelector<HTMLElement>(".react-flow__viewport");
  if (!el || !flowInstance) return s.toast("The canvas is not ready.", "error");
  const nodes = flowInstance.getNodes();
  const bounds = getNodesBounds(nodes);
  const pad = 40;
  const width = Math.min(8000, Math.max(200, Math.ceil(bounds.width + pad * 2)));
  const height = Math.min(8000, Math.max(200, Math.ceil(bounds.height + pad * 2)));
  const vp = getViewportForBounds(bounds, width, height, 0.05, 2, 0.05);
  const bg = getComputedStyle(document.documentElement).getPropertyValue("--canvas-bg").trim() || "#ffffff";
  const opts = {
    backgroundColor: bg,
    width,
    height,
    style: { width: `${width}px`, height: `${height}px`, transform: `translate(${vp.x}px, ${vp.y}px) scale(${vp.zoom})` },
  };
  try {
    const url = format === "png" ? await toPng(el, opts) : await toSvg(el, opts);
    const blob = await (await fetch(url)).blob();
    download(`${fileStem(s.history.present)}.${format}`, blob, format === "png" ? "image/png" : "image/svg+xml");
  } catch (e) {
    s.toast(describeError(`${format.toUpperCase()} export failed`, e), "error");
  }
}

/** Imports LangGraph's `get_graph().to_json()` through the server. */
export async function importLangGraph(file: File) {
  if (!confirmDiscard()) return;
  const s = st();
  try {
    const r = await s.api.importLangGraph(await file.text());
    await openSpec(r.spec, { kind: "new" });
    useEditor.setState({ saved: emptySpec() }); // imported = unsaved work
    if (r.warnings.length) s.toast(`Imported with warnings: ${r.warnings.join("; ")}`);
  } catch (e) {
    s.toast(describeError("Import failed", e), "error");
  }
}

/** Auto-layout (one undo step). */
export async function autoLayout() {
  const s = st();
  try {
    const positions = await computeLayout(s.history.present);
    s.apply({ type: "moveNodes", positions });
    // Two frames: React renders the new positions, then React Flow has measured them.
    requestAnimationFrame(() => requestAnimationFrame(() => flowInstance?.fitView({ duration: 200 })));
  } catch (e) {
    s.toast(describeError("Auto-layout failed", e), "error");
  }
}

export function fitView() {
  flowInstance?.fitView({ duration: 200 });
}

/** The clipboard text of the selection (also kept in memory when the system clipboard is denied). */
let memoryClipboard = "";

export async function copy(cut = false) {
  const s = st();
  if (!s.selectedNodes.size) return;
  const text = serializeClipboard(copySelection(s.history.present, s.selectedNodes));
  memoryClipboard = text;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // The in-memory copy still pastes within this window.
  }
  if (cut) s.apply({ type: "removeElements", nodes: [...s.selectedNodes], edges: [...s.selectedEdges] });
  s.toast(`${cut ? "Cut" : "Copied"} ${s.selectedNodes.size} node(s)`);
}

export async function paste(text?: string) {
  const s = st();
  let t = text;
  if (t === undefined) {
    try {
      t = await navigator.clipboard.readText();
    } catch {
      t = memoryClipboard;
    }
  }
  const data = parseClipboard(t || memoryClipboard);
  if (!data) return s.toast("The clipboard holds no Stategraph nodes.", "error");
  const p = preparePaste(s.history.present, data);
  if (s.apply({ type: "paste", nodes: p.nodes, edges: p.edges })) s.select(p.nodes.map((n) => n.id));
}

export function selectAll() {
  const s = st();
  s.select(nodesOf(s.history.present).map((n) => n.id));
}
