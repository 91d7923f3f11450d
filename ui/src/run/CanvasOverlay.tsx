// Run-mode layer over the canvas, drawn in React Flow's viewport (so it pans and zooms with the
// nodes) without touching the editor's node components: a status frame around each node (queued,
// running, done, error, interrupted, paused) and a breakpoint gutter dot (click: none → before →
// after → none; a conditional or edge breakpoint shows as ◆).
import { useMemo } from "react";
import { ViewportPortal, useNodes } from "@xyflow/react";
import { useRun, shownSnapshot } from "./store";
import { markerFor } from "../core/run/breakpoints";
import { diffStates } from "../core/run/diff";
import { checkpointId, parentId } from "../core/run/tree";
import type { NodeStatus } from "../core/run/status";

export function CanvasOverlay() {
  const mode = useRun((s) => s.mode);
  const nodes = useNodes();
  const statusVersion = useRun((s) => s.statusVersion);
  const live = useRun((s) => s.status);
  const breakpoints = useRun((s) => s.breakpoints);
  const selected = useRun((s) => s.selected);
  const history = useRun((s) => s.history);
  const state = useRun((s) => s.state);
  const scope = useRun((s) => s.scope);

  // At a picked checkpoint: the nodes that wrote it are done, the ones it would run are queued.
  const status = useMemo(() => {
    if (!selected) return new Map(live);
    const snap = shownSnapshot({ selected, history, state });
    const m = new Map<string, NodeStatus>();
    if (!snap) return m;
    const pid = parentId(snap);
    const prev = pid ? (history.find((h) => checkpointId(h) === pid) ?? null) : null;
    for (const d of diffStates(prev, snap)) for (const w of d.writers) m.set(w, "done");
    for (const t of snap.tasks ?? []) m.set(t.name, t.interrupts?.length ? "interrupted" : "queued");
    return m;
  }, [selected, history, state, live, statusVersion]); // eslint-disable-line react-hooks/exhaustive-deps

  if (mode !== "run") return null;
  return (
    <ViewportPortal>
      {nodes.map((n) => {
        if (n.id === "__start__" || n.id === "__end__") return null;
        const w = n.measured?.width ?? 200;
        const h = n.measured?.height ?? 60;
        const st = status.get(n.id);
        const bp = markerFor(breakpoints, n.id, scope);
        const has = bp.before || bp.after || bp.edge;
        return (
          <div key={n.id} className="run-overlay" style={{ transform: `translate(${n.position.x}px, ${n.position.y}px)` }}>
            {st && <div className={`run-frame run-${st}`} style={{ width: w + 8, height: h + 8 }} data-testid={`status-${n.id}`} data-status={st} />}
            {st && (
              <div className={`run-status-badge run-${st}`} style={{ left: w - 60 }}>
                {st}
              </div>
            )}
            <button
              className={`bp-dot${has ? " on" : ""}${bp.conditional || bp.edge ? " cond" : ""}`}
              data-testid={`bp-${n.id}`}
              data-bp={bp.before ? "before" : bp.after ? "after" : bp.edge ? "edge" : "none"}
              title={has ? `Breakpoint ${bp.before ? "before" : ""}${bp.after ? "after" : ""}${bp.edge ? " on an edge in" : ""} ${n.id} (click: ${bp.before ? "after" : "remove"})` : `Click: pause before ${n.id}`}
              onClick={(e) => {
                e.stopPropagation();
                useRun.getState().toggleNodeBreakpoint(n.id);
              }}
            >
              {bp.conditional || bp.edge ? "◆" : bp.after ? "▼" : bp.before ? "●" : ""}
            </button>
          </div>
        );
      })}
    </ViewportPortal>
  );
}
