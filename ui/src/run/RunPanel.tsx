// The run panel (Run mode): graph and thread pickers, the input form, run controls (run, step,
// continue, run to here, step into, cancel), breakpoints, and tabs for state, timeline, interrupts
// and the event log.
import { useEffect, useMemo, useState } from "react";
import "./run.css";
import { useRun, addEdgeBreakpoint } from "./store";
import { useEditor } from "../editor/store";
import { SchemaForm } from "../editor/SchemaForm";
import type { JsonSchema } from "../core/schema-form";
import { canvasEdges } from "../core/model";
import { StateInspector } from "./StateInspector";
import { Timeline } from "./Timeline";
import { InterruptPane } from "./InterruptPane";
import { EventLog } from "./EventLog";
import { makeBreakpoint } from "../core/run/breakpoints";

/** Design | Run switch (in the app bar). */
export function ModeSwitch() {
  const mode = useRun((s) => s.mode);
  return (
    <div className="mode-switch" role="tablist">
      <button data-testid="mode-design" className={mode === "design" ? "active" : ""} onClick={() => useRun.getState().setMode("design")}>
        Design
      </button>
      <button data-testid="mode-run" className={mode === "run" ? "active" : ""} onClick={() => useRun.getState().setMode("run")}>
        ▶ Run
      </button>
    </div>
  );
}

/** The input schema: the spec's state keys (typed), for the form. */
function inputSchema(state: Record<string, { type?: unknown }> | undefined): JsonSchema | null {
  if (!state || !Object.keys(state).length) return null;
  const properties: Record<string, JsonSchema> = {};
  for (const [k, v] of Object.entries(state)) properties[k] = typeof v?.type === "string" ? { type: v.type } : {};
  return { type: "object", properties };
}

function InputForm({ value, onChange }: { value: Record<string, unknown>; onChange: (v: Record<string, unknown>) => void }) {
  const spec = useEditor((s) => s.history.present);
  const serverSchema = useRun((s) => s.inputSchema) as JsonSchema | null;
  // The spec's state keys; for a graph defined in code, the server's input schema when it has fields.
  const schema = useMemo(
    () => inputSchema(spec.state as Record<string, { type?: unknown }> | undefined) ?? (serverSchema?.properties && Object.keys(serverSchema.properties).length ? serverSchema : null),
    [spec.state, serverSchema],
  );
  // Form when there is a schema (it may arrive after the panel opened), unless the user chose JSON.
  const [jsonChoice, setJson] = useState<boolean | null>(null);
  const json = jsonChoice ?? !schema;
  const [text, setText] = useState(JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="run-sub" data-testid="run-input">
      <div className="run-row">
        <strong>Input</strong>
        <div className="grow" />
        {schema && (
          <button
            className="small"
            data-testid="input-json-toggle"
            onClick={() => {
              setJson(!json);
              setText(JSON.stringify(value, null, 2));
            }}
          >
            {json ? "Form" : "JSON"}
          </button>
        )}
      </div>
      {json || !schema ? (
        <>
          <textarea
            className="json-area"
            rows={4}
            data-testid="input-json"
            spellCheck={false}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              try {
                const v = e.target.value.trim() ? JSON.parse(e.target.value) : {};
                if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("the input must be a JSON object");
                onChange(v as Record<string, unknown>);
                setError(null);
              } catch (err) {
                setError((err as Error).message);
              }
            }}
          />
          {error && <div className="field-error">{error}</div>}
        </>
      ) : (
        <SchemaForm schema={schema} value={value} onChange={(v) => onChange(v)} stateKeys={[]} />
      )}
    </div>
  );
}

function Threads() {
  const threads = useRun((s) => s.threads);
  const threadId = useRun((s) => s.threadId);
  const r = useRun.getState();
  return (
    <div className="run-row wrap" data-testid="threads">
      <span>Thread</span>
      <select data-testid="thread-select" value={threadId ?? ""} onChange={(e) => e.target.value && void r.openThread(e.target.value)}>
        <option value="">(new on run)</option>
        {threads.map((t) => (
          <option key={t.thread_id} value={t.thread_id}>
            {t.thread_id.slice(0, 8)} · {t.status ?? ""} · {t.updated_at?.slice(11, 19) ?? ""}
          </option>
        ))}
      </select>
      <button className="small" data-testid="thread-new" onClick={() => void r.newThread()}>
        New
      </button>
      <button className="small" data-testid="thread-copy" disabled={!threadId} onClick={() => threadId && void r.copyThread(threadId)}>
        Copy
      </button>
      <button
        className="small"
        data-testid="thread-delete"
        disabled={!threadId}
        onClick={() => threadId && window.confirm(`Delete thread ${threadId}?`) && void r.deleteThread(threadId)}
      >
        Delete
      </button>
    </div>
  );
}

function Breakpoints() {
  const list = useRun((s) => s.breakpoints);
  const spec = useEditor((s) => s.history.present);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const edges = useMemo(() => canvasEdges(spec), [spec]);
  const picked = edges.find((e) => selectedEdges.has(e.id));
  const [from, setFrom] = useState("");
  const r = useRun.getState();
  const pairs = edges.filter((e) => e.source !== "__start__" && e.target !== "__end__");
  return (
    <div className="run-sub" data-testid="breakpoints">
      <div className="run-row">
        <strong>Breakpoints</strong>
        <span className="muted">click a node's dot on the canvas</span>
      </div>
      {list.map((b) => (
        <div key={b.id} className="bp-row" data-testid={`bp-row-${b.from ? `${b.from}-${b.node}` : b.node}`}>
          <input type="checkbox" checked={b.enabled} onChange={(e) => r.editBreakpoint(b.id, { enabled: e.target.checked })} title="enabled" />
          <span className="bp-where">
            {b.subgraph.length ? `${b.subgraph.join("/")}/` : ""}
            {b.from ? `${b.from} → ${b.node}` : b.node}
          </span>
          {!b.from && (
            <select value={b.position} data-testid="bp-position" onChange={(e) => r.editBreakpoint(b.id, { position: e.target.value as "before" | "after" })}>
              <option value="before">before</option>
              <option value="after">after</option>
            </select>
          )}
          <input
            className="bp-when"
            placeholder="when (e.g. state.count > 3)"
            defaultValue={b.when}
            data-testid="bp-when"
            onBlur={(e) => r.editBreakpoint(b.id, { when: e.target.value })}
            onKeyDown={(e) => e.key === "Enter" && (e.target as HTMLInputElement).blur()}
          />
          <button className="icon" title="Remove" onClick={() => r.removeBreakpoint(b.id)}>
            ×
          </button>
        </div>
      ))}
      <div className="run-row wrap">
        {picked && picked.source !== "__start__" ? (
          <button className="small" data-testid="bp-edge-selected" onClick={() => addEdgeBreakpoint(picked.source, picked.target)}>
            Break when {picked.source} → {picked.target} is taken
          </button>
        ) : null}
        <select value={from} onChange={(e) => setFrom(e.target.value)} data-testid="bp-edge-pick">
          <option value="">edge breakpoint…</option>
          {pairs.map((e) => (
            <option key={e.id} value={`${e.source}\u0000${e.target}`}>
              {e.source} → {e.target}
              {e.label ? ` (${e.label})` : ""}
            </option>
          ))}
        </select>
        <button
          className="small"
          disabled={!from}
          data-testid="bp-edge-add"
          onClick={() => {
            const [s, t] = from.split("\u0000");
            if (s && t) addEdgeBreakpoint(s, t);
            setFrom("");
          }}
        >
          Add
        </button>
      </div>
    </div>
  );
}

function Controls({ input }: { input: Record<string, unknown> }) {
  const outcome = useRun((s) => s.outcome);
  const state = useRun((s) => s.state);
  const scope = useRun((s) => s.scope);
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const spec = useEditor((s) => s.history.present);
  const recursionLimit = useRun((s) => s.recursionLimit);
  const running = outcome === "running";
  const paused = (state?.next?.length ?? 0) > 0;
  const target = [...selectedNodes].find((id) => id !== "__start__" && id !== "__end__");
  const targetKind = spec.nodes?.find((n) => n.id === target)?.kind;
  const r = useRun.getState();
  return (
    <div className="run-controls">
      <button className="primary" data-testid="run-start" disabled={running} onClick={() => void r.start({ kind: "run" }, { input })} title="Run with this input (new run on the thread)">
        ▶ Run
      </button>
      <button data-testid="run-step" disabled={running} onClick={() => void r.start({ kind: "step", subgraph: scope }, { input })} title="Run one superstep and pause">
        ⤼ Step
      </button>
      <button data-testid="run-continue" disabled={running || !paused} onClick={() => void r.start({ kind: "continue" })} title="Resume to the next breakpoint">
        » Continue
      </button>
      <button
        data-testid="run-to-here"
        disabled={running || !target}
        onClick={() => target && void r.start({ kind: "run-to", node: target, subgraph: scope }, { input })}
        title={target ? `Run until just before ${target}` : "Select a node first"}
      >
        ⇥ Run to {target ?? "here"}
      </button>
      <button
        data-testid="run-step-into"
        disabled={running || !target || targetKind !== "subgraph"}
        onClick={() => {
          if (!target) return;
          r.setScope([...scope, target]);
          void r.start({ kind: "step", subgraph: [...scope, target] }, { input });
        }}
        title="Step inside the selected subgraph node"
      >
        ↧ Step into
      </button>
      {scope.length > 0 && (
        <button data-testid="run-step-out" onClick={() => r.setScope(scope.slice(0, -1))} title="Back to the parent graph">
          ↥ {scope.join("/")}
        </button>
      )}
      <button data-testid="run-cancel" disabled={!running} onClick={() => void r.cancel()}>
        ■ Cancel
      </button>
      <label className="muted small-label">
        limit
        <input
          type="number"
          min={1}
          className="num"
          data-testid="run-recursion"
          value={recursionLimit ?? ""}
          placeholder="25"
          onChange={(e) => r.setRecursionLimit(e.target.value ? Number(e.target.value) : null)}
        />
      </label>
    </div>
  );
}

const TABS = ["input", "breakpoints", "state", "timeline", "interrupts", "events"] as const;

export function RunPanel() {
  const assistants = useRun((s) => s.assistants);
  const assistantId = useRun((s) => s.assistantId);
  const outcome = useRun((s) => s.outcome);
  const error = useRun((s) => s.error);
  const state = useRun((s) => s.state);
  const interrupts = useRun((s) => s.interrupts);
  const threadId = useRun((s) => s.threadId);
  const lastRunMs = useRun((s) => s.lastRunMs);
  const studio = useEditor((s) => s.server.studio);
  const [tab, setTab] = useState<(typeof TABS)[number]>("input");
  const breakpoints = useRun((s) => s.breakpoints);
  const [input, setInput] = useState<Record<string, unknown>>(() => {
    const ex = (useEditor.getState().history.present.metadata as { example_input?: unknown } | undefined)?.example_input;
    return ex && typeof ex === "object" ? (ex as Record<string, unknown>) : {};
  });

  // A pause shows the interrupts tab and marks the window title until the run goes on.
  useEffect(() => {
    if (outcome === "interrupted" && interrupts.length) setTab("interrupts");
    else if (outcome === "running") setTab((t) => (t === "input" ? "state" : t));
    const base = document.title.replace(/^⏸ Paused · /, "");
    document.title = outcome === "interrupted" ? `⏸ Paused · ${base}` : base;
  }, [outcome, interrupts.length]);

  return (
    <aside className="run-panel" data-testid="run-panel">
      <div className="run-row wrap">
        <span>Graph</span>
        <select data-testid="assistant-select" value={assistantId ?? ""} onChange={(e) => useRun.getState().selectAssistant(e.target.value)}>
          {assistants.map((a) => (
            <option key={a.assistant_id} value={a.assistant_id}>
              {a.graph_id}
              {a.name && a.name !== a.graph_id ? ` (${a.name})` : ""}
            </option>
          ))}
        </select>
        <button className="small" data-testid="load-graph" title="Show the server's drawing of this graph on the canvas" onClick={() => void useRun.getState().loadGraphFromServer()}>
          {studio ? "Show" : "Show graph"}
        </button>
      </div>
      <Threads />
      <Controls input={input} />
      <div className={`run-status run-status-${outcome}`} data-testid="run-status" data-outcome={outcome}>
        {outcome === "idle" && (threadId ? "Ready" : "No run yet")}
        {outcome === "running" && "Running…"}
        {outcome === "success" && `Done${lastRunMs !== null ? ` in ${lastRunMs} ms` : ""}`}
        {outcome === "interrupted" && `Paused${state?.next?.length ? ` before ${state.next.join(", ")}` : ""}${interrupts.length ? ` · ${interrupts.length} interrupt(s)` : ""}`}
        {outcome === "cancelled" && "Cancelled"}
        {outcome === "error" && "Failed"}
        {error && (
          <div className="field-error" data-testid="run-error">
            {error}
          </div>
        )}
      </div>
      <div className="run-tabs" role="tablist">
        {TABS.map((t) => (
          <button key={t} className={tab === t ? "active" : ""} data-testid={`tab-${t}`} onClick={() => setTab(t)}>
            {t}
            {t === "interrupts" && interrupts.length ? ` (${interrupts.length})` : ""}
            {t === "breakpoints" && breakpoints.length ? ` (${breakpoints.length})` : ""}
          </button>
        ))}
      </div>
      <div className="run-tab-body">
        {tab === "input" && <InputForm value={input} onChange={setInput} />}
        {tab === "breakpoints" && <Breakpoints />}
        {tab === "state" && <StateInspector />}
        {tab === "timeline" && <Timeline />}
        {tab === "interrupts" && <InterruptPane />}
        {tab === "events" && <EventLog />}
      </div>
    </aside>
  );
}

/** Adds a conditional before-breakpoint on a node (used by tests and the inspector). */
export function addConditional(node: string, when: string) {
  useRun.getState().addBreakpoint(makeBreakpoint(node, "before", { when, subgraph: useRun.getState().scope }));
}
