// The run/debug store: threads, the live run (stream, node status, event log), breakpoints,
// the thread's history (time travel and forks) and pending interrupts. The event log lives in a
// plain array outside React state and the view is told about it at most once per frame, so a
// 1,000-step run streams without re-rendering per event.
import { create } from "zustand";
import { useEditor, describeError } from "../editor/store";
import { ApiError } from "../core/api";
import { RunApi, type AssistantInfo, type Interrupt, type RunBody, type StateSnapshot, type Thread } from "../core/run/client";
import { splitEventName, type SseEvent } from "../core/run/sse";
import { applyStatusEvent, finishStatus, type NodeStatus } from "../core/run/status";
import {
  type Breakpoint,
  type RunAction,
  breakpointOfError,
  breakpointsFor,
  cycleNodeBreakpoint,
  makeBreakpoint,
  staticInterrupts,
  toggleBreakpoint,
  updateBreakpoint,
} from "../core/run/breakpoints";
import { readInterrupt as readOne, schemasInEvent, type InterruptModel } from "../core/run/interrupt";
import { reducersFromSchema, reducersFromSpec } from "../core/run/diff";
import { checkpointId } from "../core/run/tree";
import { specFromGraphJson } from "../core/run/graph-json";

/** One line of the event log. */
export interface LogEvent {
  seq: number;
  /** Milliseconds since the run started. */
  t: number;
  mode: string;
  ns: string[];
  data: unknown;
  raw: string;
}

/** The event log (outside React state; `logVersion` tells the view it grew). */
export const eventLog: LogEvent[] = [];
/** Most events kept (older ones are dropped from the front). */
export const LOG_LIMIT = 100_000;

const FORKS_KEY = "stategraph.forks";
const BP_KEY = "stategraph.breakpoints";

function loadJson<T>(key: string, fallback: T): T {
  try {
    const t = localStorage.getItem(key);
    return t ? (JSON.parse(t) as T) : fallback;
  } catch {
    return fallback;
  }
}

/** The outcome of the last run. */
export type RunOutcome = "idle" | "running" | "success" | "error" | "interrupted" | "cancelled";

export interface RunState {
  mode: "design" | "run";
  assistants: AssistantInfo[];
  assistantId: string | null;
  threads: Thread[];
  threadId: string | null;
  outcome: RunOutcome;
  runId: string | null;
  error: string | null;
  /** Latest `values` seen (live during a run). */
  liveValues: unknown;
  status: Map<string, NodeStatus>;
  statusVersion: number;
  logVersion: number;
  breakpoints: Breakpoint[];
  /** The thread's current state (with subgraph states). */
  state: StateSnapshot | null;
  /** Newest first, as the API returns it. */
  history: StateSnapshot[];
  /** Checkpoint picked on the timeline (null = the live state). */
  selected: string | null;
  interrupts: InterruptModel[];
  reducers: Record<string, string>;
  /** Checkpoints the studio made by update_state → the node it wrote as. */
  forks: Record<string, string>;
  /** Stream modes asked for. */
  streamModes: string[];
  recursionLimit: number | null;
  /** The subgraph path being debugged (empty = root). */
  scope: string[];
  /** Two checkpoints to compare side by side. */
  compare: [string, string] | null;
  /** Node ids of the assistant's drawing with subgraphs expanded (`xray`): `child:s1`... */
  xrayNodes: string[];
  /** The assistant's input schema, else its state schema (`GET /assistants/{id}/schemas`), for graphs without a spec. */
  inputSchema: unknown;
  /** The run's wall time, per performance marks (ms), for the 1,000-step measure. */
  lastRunMs: number | null;

  api(): RunApi;
  setMode(m: "design" | "run"): void;
  init(): Promise<void>;
  selectAssistant(id: string): void;
  refreshThreads(): Promise<void>;
  newThread(): Promise<string | null>;
  openThread(id: string): Promise<void>;
  copyThread(id: string): Promise<void>;
  deleteThread(id: string): Promise<void>;
  refreshState(): Promise<void>;
  start(action: RunAction, opts?: { input?: unknown; resume?: unknown; checkpointId?: string }): Promise<void>;
  cancel(): Promise<void>;
  toggleNodeBreakpoint(node: string): void;
  addBreakpoint(b: Breakpoint): void;
  removeBreakpoint(id: string): void;
  editBreakpoint(id: string, patch: Partial<Omit<Breakpoint, "id">>): void;
  select(checkpoint: string | null): void;
  fork(checkpoint: string, values: unknown, asNode: string | null): Promise<string | null>;
  setScope(path: string[]): void;
  setCompare(c: [string, string] | null): void;
  setStreamModes(m: string[]): void;
  setRecursionLimit(n: number | null): void;
  loadGraphFromServer(): Promise<void>;
}

let abort: AbortController | null = null;
/** Interrupt response schemas seen in the stream (the thread state does not repeat them), by id. */
const interruptSchemas = new Map<string, unknown>();
let flushScheduled = false;
let pendingStatus = false;
let pendingLog = false;

/** Batches view updates to one per animation frame (or 16 ms where there is none). */
function scheduleFlush() {
  if (flushScheduled) return;
  flushScheduled = true;
  const run = () => {
    flushScheduled = false;
    const patch: Partial<RunState> = {};
    const s = useRun.getState();
    if (pendingLog) patch.logVersion = s.logVersion + 1;
    if (pendingStatus) patch.statusVersion = s.statusVersion + 1;
    pendingLog = pendingStatus = false;
    useRun.setState(patch);
  };
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(run);
  else setTimeout(run, 16);
}

function toast(text: string, kind: "info" | "error" = "info") {
  useEditor.getState().toast(text, kind);
}

/** Nodes of the current document (for the as-node picker, run-to-here...). */
export function specNodeIds(): string[] {
  return (useEditor.getState().history.present.nodes ?? []).map((n) => n.id);
}

/** The assistant that runs the document on the canvas: same graph id as the spec name or server file. */
function matchAssistant(list: AssistantInfo[]): string | null {
  const ed = useEditor.getState();
  const names = [ed.history.present.name];
  if (ed.source.kind === "server") names.push(ed.source.name);
  if (ed.source.kind === "assistant") return ed.source.assistantId;
  const hit = list.find((a) => names.includes(a.graph_id) || names.includes(a.name ?? ""));
  return hit?.assistant_id ?? list[0]?.assistant_id ?? null;
}

export const useRun = create<RunState>()((set, get) => ({
  mode: "design",
  assistants: [],
  assistantId: null,
  threads: [],
  threadId: null,
  outcome: "idle",
  runId: null,
  error: null,
  liveValues: null,
  status: new Map(),
  statusVersion: 0,
  logVersion: 0,
  breakpoints: loadJson<Breakpoint[]>(BP_KEY, []),
  state: null,
  history: [],
  selected: null,
  interrupts: [],
  reducers: {},
  forks: loadJson<Record<string, string>>(FORKS_KEY, {}),
  streamModes: ["values", "updates", "debug", "custom"],
  recursionLimit: null,
  scope: [],
  compare: null,
  lastRunMs: null,
  xrayNodes: [],
  inputSchema: null,

  api() {
    return new RunApi(useEditor.getState().connection);
  },
  setMode(m) {
    set({ mode: m });
    if (m === "run") void get().init();
  },
  async init() {
    try {
      const list = await get().api().assistants();
      const assistantId = get().assistantId && list.some((a) => a.assistant_id === get().assistantId) ? get().assistantId : matchAssistant(list);
      set({ assistants: list, assistantId });
      await loadReducers(assistantId);
      void loadXray(assistantId);
      await get().refreshThreads();
    } catch (e) {
      set({ error: describeError("Cannot list the server's graphs", e) });
    }
  },
  selectAssistant(id) {
    set({ assistantId: id });
    void loadReducers(id);
    void loadXray(id);
    void get().refreshThreads();
  },
  async refreshThreads() {
    const a = get().assistants.find((x) => x.assistant_id === get().assistantId);
    try {
      const all = await get().api().searchThreads(a ? { graph_id: a.graph_id } : undefined);
      set({ threads: all });
    } catch (e) {
      set({ error: describeError("Cannot list threads", e) });
    }
  },
  async newThread() {
    const a = get().assistants.find((x) => x.assistant_id === get().assistantId);
    try {
      const t = await get().api().createThread(a ? { graph_id: a.graph_id } : {});
      set({ threadId: t.thread_id, state: null, history: [], selected: null, interrupts: [], status: new Map(), statusVersion: get().statusVersion + 1, outcome: "idle", error: null, compare: null, scope: [] });
      eventLog.length = 0;
      set({ logVersion: get().logVersion + 1 });
      await get().refreshThreads();
      return t.thread_id;
    } catch (e) {
      toast(describeError("Cannot create a thread", e), "error");
      return null;
    }
  },
  async openThread(id) {
    set({ threadId: id, selected: null, status: new Map(), statusVersion: get().statusVersion + 1, outcome: "idle", error: null, compare: null, scope: [] });
    eventLog.length = 0;
    set({ logVersion: get().logVersion + 1 });
    await get().refreshState();
  },
  async copyThread(id) {
    try {
      const t = await get().api().copyThread(id);
      await get().refreshThreads();
      await get().openThread(t.thread_id);
      toast(`Copied to thread ${t.thread_id.slice(0, 8)}`);
    } catch (e) {
      toast(describeError("Cannot copy the thread", e), "error");
    }
  },
  async deleteThread(id) {
    try {
      await get().api().deleteThread(id);
      if (get().threadId === id) set({ threadId: null, state: null, history: [], interrupts: [], selected: null });
      await get().refreshThreads();
    } catch (e) {
      toast(describeError("Cannot delete the thread", e), "error");
    }
  },
  async refreshState() {
    const id = get().threadId;
    if (!id) return;
    const api = get().api();
    try {
      const [state, history] = await Promise.all([
        api.state(id, { subgraphs: true }).catch(() => api.state(id)),
        api.history(id, 1000),
      ]);
      const interrupts: InterruptModel[] = [];
      const seen = new Set<string>();
      const readInterrupt = (i: Interrupt, node: string | null) =>
        readOne(i.response_schema || !interruptSchemas.has(i.id) ? i : { ...i, response_schema: interruptSchemas.get(i.id) }, node);
      for (const t of state.tasks ?? []) {
        for (const i of t.interrupts ?? []) {
          if (seen.has(i.id)) continue;
          seen.add(i.id);
          interrupts.push(readInterrupt(i, t.name));
        }
        // Interrupts raised inside a subgraph (the task's own state).
        const sub = t.state as StateSnapshot | null | undefined;
        for (const st of sub?.tasks ?? []) {
          for (const i of st.interrupts ?? []) {
            if (seen.has(i.id)) continue;
            seen.add(i.id);
            interrupts.push(readInterrupt(i, `${t.name}/${st.name}`));
          }
        }
      }
      for (const i of state.interrupts ?? []) if (!seen.has(i.id)) interrupts.push(readInterrupt(i, null));
      set({ state, history, interrupts, liveValues: state.values });
    } catch (e) {
      set({ error: describeError("Cannot read the thread's state", e) });
    }
  },

  async start(action, opts = {}) {
    const s = get();
    if (!s.assistantId) {
      toast("No graph to run: the server serves none (save the spec to the server first)", "error");
      return;
    }
    let threadId = s.threadId;
    if (!threadId) {
      threadId = await get().newThread();
      set({ scope: s.scope });
    }
    if (!threadId) return;
    const paused = (get().state?.next?.length ?? 0) > 0;
    const body: RunBody = {
      assistant_id: s.assistantId,
      stream_mode: s.streamModes,
      stream_subgraphs: true,
      multitask_strategy: "reject",
    };
    if (opts.resume !== undefined) body.command = { resume: opts.resume };
    else if (opts.checkpointId) body.input = null;
    else if (action.kind === "run" && opts.input !== undefined) body.input = opts.input;
    else if (paused || action.kind === "continue") body.input = null;
    else body.input = opts.input ?? {};
    if (opts.checkpointId) body.checkpoint_id = opts.checkpointId;
    if (useEditor.getState().server.studio) {
      const bps = breakpointsFor(s.breakpoints, action);
      if (bps.length) body.breakpoints = bps;
    } else {
      // Not our server: LangGraph's static interrupts do what they can.
      const st = staticInterrupts(s.breakpoints, action);
      if (st.interrupt_before.length) body.interrupt_before = st.interrupt_before;
      if (st.interrupt_after === "*" || st.interrupt_after.length) body.interrupt_after = st.interrupt_after;
      if (st.unsupported.length)
        toast(`This server has no conditional, edge or subgraph breakpoints (a Stategraph server does): ${st.unsupported.map((b) => (b.from ? `${b.from}→${b.node}` : b.node)).join(", ")} not applied`, "error");
    }
    if (s.recursionLimit) body.config = { recursion_limit: s.recursionLimit };

    abort?.abort();
    abort = new AbortController();
    const status = opts.resume !== undefined || paused ? new Map(s.status) : new Map<string, NodeStatus>();
    for (const [k, v] of status) if (v === "paused" || v === "interrupted") status.delete(k);
    const taskNames = new Map<string, string>();
    const t0 = performance.now();
    performance.mark("sg-run-start");
    let failed: string | null = null;
    let seq = eventLog.length ? eventLog[eventLog.length - 1]!.seq + 1 : 0;
    set({ outcome: "running", error: null, runId: null, status, statusVersion: get().statusVersion + 1, selected: null, interrupts: [] });
    const rootScope = get().scope.join("/");
    const onEvent = (e: SseEvent) => {
      const { mode, ns } = splitEventName(e.event);
      eventLog.push({ seq: seq++, t: Math.round(performance.now() - t0), mode, ns, data: e.data, raw: e.raw });
      // Trim in chunks: one splice per 10,000 events, not one per event.
      if (eventLog.length > LOG_LIMIT + 10_000) eventLog.splice(0, eventLog.length - LOG_LIMIT);
      pendingLog = true;
      if (mode === "metadata") {
        const runId = (e.data as { run_id?: string } | null)?.run_id ?? null;
        set({ runId });
      } else if (mode === "error") {
        const d = e.data as { message?: string; error?: string } | string | null;
        failed = typeof d === "string" ? d : (d?.message ?? d?.error ?? JSON.stringify(d));
      } else {
        // The canvas shows the scope being debugged: the root graph, or a subgraph's nodes.
        const nsNames = ns.map((x) => x.split(":")[0]).join("/");
        if (nsNames === rootScope) {
          if (applyStatusEvent(status, mode, e.data, taskNames)) pendingStatus = true;
          if (mode === "values" && ns.length === 0) useRun.setState({ liveValues: e.data });
        }
        if (mode === "updates" || mode === "values") schemasInEvent(e.data, interruptSchemas);
      }
      scheduleFlush();
    };
    try {
      await get().api().stream(threadId, body, onEvent, abort.signal);
    } catch (e) {
      const msg = describeError("Run failed", e);
      const bp = e instanceof ApiError ? breakpointOfError(s.breakpoints, e.message) : null;
      failed = bp ? `${msg} (breakpoint on ${bp.from ? `${bp.from} → ` : ""}${bp.node})` : msg;
    }
    performance.mark("sg-run-end");
    performance.measure("sg-run", "sg-run-start", "sg-run-end");
    const cancelled = abort?.signal.aborted ?? false;
    abort = null;
    await get().refreshState();
    const st = get().state;
    const next = st?.next ?? [];
    const outcome: "success" | "error" | "interrupted" | "cancelled" = failed ? "error" : cancelled ? "cancelled" : next.length ? "interrupted" : "success";
    finishStatus(status, outcome, get().scope.length ? [] : next);
    set({ outcome, error: failed, status, statusVersion: get().statusVersion + 1, logVersion: get().logVersion + 1, lastRunMs: Math.round(performance.now() - t0) });
    void get().refreshThreads();
    if (outcome === "interrupted") {
      const what = get().interrupts.length ? `${get().interrupts.length} interrupt(s) waiting` : `paused before ${next.join(", ")}`;
      toast(`Run paused: ${what}`);
    } else if (outcome === "error") toast(failed ?? "Run failed", "error");
  },
  async cancel() {
    const { threadId, runId } = get();
    if (threadId && runId) await get().api().cancel(threadId, runId).catch(() => undefined);
    abort?.abort();
  },

  toggleNodeBreakpoint(node) {
    saveBps(set, cycleNodeBreakpoint(get().breakpoints, node, get().scope));
  },
  addBreakpoint(b) {
    const list = get().breakpoints;
    saveBps(set, list.some((x) => x.id === b.id) ? list : toggleBreakpoint(list, b));
  },
  removeBreakpoint(id) {
    saveBps(set, get().breakpoints.filter((b) => b.id !== id));
  },
  editBreakpoint(id, patch) {
    saveBps(set, updateBreakpoint(get().breakpoints, id, patch));
  },
  select(checkpoint) {
    set({ selected: checkpoint });
  },
  async fork(checkpoint, values, asNode) {
    const id = get().threadId;
    if (!id) return null;
    try {
      const r = await get().api().updateState(id, values, asNode, checkpoint);
      const newId = r.checkpoint?.checkpoint_id ?? (r as unknown as { checkpoint_id?: string }).checkpoint_id ?? null;
      if (newId && asNode) {
        const forks = { ...get().forks, [newId]: asNode };
        localStorage.setItem(FORKS_KEY, JSON.stringify(forks));
        set({ forks });
      }
      await get().refreshState();
      set({ selected: newId });
      toast(`Forked: new checkpoint ${newId?.slice(0, 8) ?? ""}${asNode ? ` written as ${asNode}` : ""}`);
      return newId;
    } catch (e) {
      toast(describeError("Cannot fork", e), "error");
      return null;
    }
  },
  setScope(path) {
    set({ scope: path, status: new Map(), statusVersion: get().statusVersion + 1 });
  },
  setCompare(c) {
    set({ compare: c });
  },
  setStreamModes(m) {
    set({ streamModes: m });
  },
  setRecursionLimit(n) {
    set({ recursionLimit: n });
  },
  async loadGraphFromServer() {
    const id = get().assistantId;
    const a = get().assistants.find((x) => x.assistant_id === id);
    if (!id || !a) return;
    try {
      const json = await get().api().graph(id);
      const spec = specFromGraphJson(json, a.graph_id);
      useEditor.getState().load(spec, { kind: "assistant", assistantId: id, graphId: a.graph_id }, { readOnly: true });
    } catch (e) {
      toast(describeError(`Cannot load graph ${a.graph_id}`, e), "error");
    }
  },
}));

function saveBps(set: (p: Partial<RunState>) => void, list: Breakpoint[]) {
  localStorage.setItem(BP_KEY, JSON.stringify(list));
  set({ breakpoints: list });
}

/** The subgraph nodes, from the xray drawing (for the subgraph view); none when unavailable. */
async function loadXray(assistantId: string | null) {
  useRun.setState({ xrayNodes: [] });
  if (!assistantId) return;
  try {
    const g = (await useRun.getState().api().graph(assistantId)) as { nodes?: { id: unknown }[] };
    useRun.setState({ xrayNodes: (g.nodes ?? []).map((n) => String(n.id)).filter((id) => id.includes(":")) });
  } catch {
    // The drawing is optional.
  }
}

/** Reducers per key: the spec's, overlaid with the server schema's `x-reducer` when it has them. */
async function loadReducers(assistantId: string | null) {
  const fromSpec = reducersFromSpec(useEditor.getState().history.present.state as Record<string, unknown> | undefined);
  useRun.setState({ reducers: fromSpec, inputSchema: null });
  if (!assistantId) return;
  try {
    const schemas = await useRun.getState().api().schemas(assistantId);
    useRun.setState({ reducers: { ...reducersFromSchema(schemas.state_schema), ...fromSpec }, inputSchema: schemas.input_schema ?? schemas.state_schema ?? null });
  } catch {
    // Schemas are optional: the spec's reducers stay.
  }
}

/** The snapshot shown: the picked checkpoint, else the thread's current state. */
export function shownSnapshot(s: Pick<RunState, "selected" | "history" | "state">): StateSnapshot | null {
  if (s.selected) return s.history.find((h) => checkpointId(h) === s.selected) ?? null;
  return s.state;
}

/** Adds an edge breakpoint (break when `from → to` is taken). */
export function addEdgeBreakpoint(from: string, to: string, when = "") {
  useRun.getState().addBreakpoint(makeBreakpoint(to, "before", { from, when, subgraph: useRun.getState().scope }));
}
