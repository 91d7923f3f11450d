// The state at the shown checkpoint: a searchable tree, the diff against the previous step (who
// wrote each key, which reducer merged it), copy as JSON; and the subgraph view when stepping
// inside one (its namespace, next nodes and state).
import { useMemo, useState } from "react";
import { useRun, shownSnapshot } from "./store";
import { JsonTree } from "./JsonTree";
import { diffStates } from "../core/run/diff";
import { checkpointId, parentId } from "../core/run/tree";
import type { StateSnapshot } from "../core/run/client";
import { useEditor } from "../editor/store";

function short(v: unknown): string {
  const t = JSON.stringify(v);
  return t === undefined ? "—" : t.length > 80 ? `${t.slice(0, 77)}…` : t;
}

export function StateInspector() {
  const selected = useRun((s) => s.selected);
  const history = useRun((s) => s.history);
  const state = useRun((s) => s.state);
  const live = useRun((s) => s.liveValues);
  const outcome = useRun((s) => s.outcome);
  const reducers = useRun((s) => s.reducers);
  const forks = useRun((s) => s.forks);
  const [query, setQuery] = useState("");
  const snap = shownSnapshot({ selected, history, state });
  const values = outcome === "running" && !selected ? live : snap?.values;
  const prev = useMemo(() => {
    if (!snap) return null;
    const pid = parentId(snap);
    return pid ? (history.find((h) => checkpointId(h) === pid) ?? null) : null;
  }, [snap, history]);
  const diff = useMemo(() => (snap ? diffStates(prev, snap, reducers, forks) : []), [snap, prev, reducers, forks]);
  const step = snap?.metadata?.step;
  const subStates = (state?.tasks ?? []).filter((t) => t.state && "values" in (t.state as object));

  const copy = () => {
    const text = JSON.stringify(values ?? null, null, 2);
    void navigator.clipboard.writeText(text).then(
      () => useEditor.getState().toast("State copied as JSON"),
      () => useEditor.getState().toast("Copy failed (clipboard not allowed)", "error"),
    );
  };

  return (
    <div className="run-section" data-testid="state-inspector">
      <div className="run-row">
        <strong>State</strong>
        <span className="muted" data-testid="state-where">
          {selected ? `checkpoint ${selected.slice(0, 8)}` : "latest"}
          {step !== undefined ? ` · step ${step}` : ""}
          {snap?.metadata?.source ? ` · ${snap.metadata.source}` : ""}
          {snap?.next?.length ? ` · next: ${snap.next.join(", ")}` : ""}
        </span>
        <div className="grow" />
        <button className="small" data-testid="state-copy" onClick={copy}>
          Copy JSON
        </button>
      </div>
      <input data-testid="state-search" placeholder="Search keys and values…" value={query} onChange={(e) => setQuery(e.target.value)} />
      <div data-testid="state-tree">
        <JsonTree value={values ?? null} query={query} />
      </div>
      <div className="run-sub">
        <strong>Changes in this step</strong> <span className="muted">(against the parent checkpoint)</span>
        {diff.length === 0 ? (
          <div className="muted">No keys changed.</div>
        ) : (
          <table className="diff" data-testid="state-diff">
            <thead>
              <tr>
                <th>key</th>
                <th>before → after</th>
                <th>written by</th>
                <th>reducer</th>
              </tr>
            </thead>
            <tbody>
              {diff.map((d) => (
                <tr key={d.key} data-testid={`diff-${d.key}`} className={`diff-${d.change}`}>
                  <td>{d.key}</td>
                  <td>
                    <span className="diff-before">{short(d.before)}</span> → <span className="diff-after">{short(d.after)}</span>
                  </td>
                  <td data-testid={`diff-writer-${d.key}`}>{d.writers.length ? d.writers.join(", ") : <span className="muted">?</span>}</td>
                  <td data-testid={`diff-reducer-${d.key}`}>{d.reducer}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {!selected && subStates.length > 0 && <SubgraphStates tasks={subStates} />}
    </div>
  );
}

function SubgraphStates({ tasks }: { tasks: StateSnapshot["tasks"] }) {
  const scope = useRun((s) => s.scope);
  const xray = useRun((s) => s.xrayNodes);
  const status = useRun((s) => s.status);
  useRun((s) => s.statusVersion);
  return (
    <div className="run-sub" data-testid="subgraph-view">
      <strong>Inside subgraphs</strong>
      {tasks.map((t) => {
        const sub = t.state as StateSnapshot;
        const ns = sub.checkpoint?.checkpoint_ns ?? t.name;
        return (
          <div key={t.id} className="subgraph-box">
            <div>
              <span className="sg-badge">{t.name}</span> <span className="muted" data-testid="subgraph-ns">ns {ns}</span>
              {scope.join("/") === t.name ? <span className="sg-badge entry">stepping here</span> : null}
            </div>
            <div className="run-row wrap" data-testid="subgraph-nodes">
              {xray
                .filter((id) => id.startsWith(`${t.name}:`))
                .map((id) => {
                  const name = id.slice(t.name.length + 1);
                  const st = sub.next?.includes(name) ? "paused" : scope.join("/") === t.name ? status.get(name) : undefined;
                  return (
                    <span key={id} className={`chip subnode run-${st ?? "none"}`} data-testid={`subnode-${name}`} data-status={st ?? "none"}>
                      {name}
                      {st ? ` · ${st}` : ""}
                    </span>
                  );
                })}
            </div>
            <div data-testid="subgraph-next">next: {sub.next?.length ? sub.next.join(", ") : "(done)"}</div>
            <div data-testid="subgraph-state">
              <JsonTree value={sub.values} />
            </div>
          </div>
        );
      })}
    </div>
  );
}
