// The run's event log, virtualised: only the rows in view are rendered (fixed row height), so a
// run with tens of thousands of events scrolls and streams smoothly. Filters per stream mode; a
// click on a row shows its full payload.
import { useEffect, useMemo, useRef, useState } from "react";
import { eventLog, useRun, type LogEvent } from "./store";

const ROW = 22;
const OVERSCAN = 10;

function summary(e: LogEvent): string {
  const d = e.data as Record<string, unknown> | null;
  if (e.mode === "debug" && d && typeof d === "object") {
    const p = (d.payload ?? {}) as Record<string, unknown>;
    return `${String(d.type)} step ${String(d.step)} ${p.name ? String(p.name) : ""}${Array.isArray(p.next) ? ` next=[${(p.next as string[]).join(",")}]` : ""}`;
  }
  if (e.mode === "updates" && d && typeof d === "object") return Object.keys(d).join(", ");
  const t = e.raw;
  return t.length > 160 ? `${t.slice(0, 157)}…` : t;
}

export function EventLog() {
  const version = useRun((s) => s.logVersion);
  const [hidden, setHidden] = useState<Set<string>>(new Set());
  const [follow, setFollow] = useState(true);
  const [open, setOpen] = useState<LogEvent | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(300);

  // Modes seen so far (for the filter chips) and the visible rows, recomputed per flush.
  const { modes, rows } = useMemo(() => {
    const modes = new Map<string, number>();
    const rows: number[] = [];
    for (let i = 0; i < eventLog.length; i++) {
      const m = eventLog[i]!.mode;
      modes.set(m, (modes.get(m) ?? 0) + 1);
      if (!hidden.has(m)) rows.push(i);
    }
    return { modes, rows };
  }, [version, hidden]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 300));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const el = box.current;
    if (follow && el) {
      el.scrollTop = rows.length * ROW;
      setScroll(el.scrollTop);
    }
  }, [rows.length, follow]);

  const first = Math.max(0, Math.floor(scroll / ROW) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scroll + height) / ROW) + OVERSCAN);
  const view = [];
  for (let r = first; r < last; r++) {
    const e = eventLog[rows[r]!];
    if (!e) continue;
    view.push(
      <div key={e.seq} className={`log-row log-${e.mode}`} style={{ top: r * ROW, height: ROW }} onClick={() => setOpen(e)} data-testid="log-row">
        <span className="log-t">{e.t}ms</span>
        <span className="log-mode">{e.mode}</span>
        {e.ns.length > 0 && <span className="log-ns">{e.ns.map((n) => n.split(":")[0]).join("/")}</span>}
        <span className="log-sum">{summary(e)}</span>
      </div>,
    );
  }

  return (
    <div className="run-section event-log" data-testid="event-log">
      <div className="run-row wrap">
        <strong>Events</strong>
        <span className="muted" data-testid="event-count">
          {rows.length} / {eventLog.length}
        </span>
        {[...modes.entries()].map(([m, n]) => (
          <label key={m} className="chip">
            <input
              type="checkbox"
              data-testid={`log-filter-${m}`}
              checked={!hidden.has(m)}
              onChange={(ev) => {
                const next = new Set(hidden);
                if (ev.target.checked) next.delete(m);
                else next.add(m);
                setHidden(next);
              }}
            />
            {m} <span className="muted">{n}</span>
          </label>
        ))}
        <label className="chip">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} data-testid="log-follow" /> follow
        </label>
      </div>
      <div
        className="log-box"
        ref={box}
        data-testid="log-box"
        onScroll={(e) => {
          const el = e.currentTarget;
          setScroll(el.scrollTop);
          if (follow && el.scrollTop + el.clientHeight < el.scrollHeight - ROW * 2) setFollow(false);
        }}
      >
        <div style={{ height: rows.length * ROW, position: "relative" }}>{view}</div>
      </div>
      {open && (
        <div className="log-detail" data-testid="log-detail">
          <div className="run-row">
            <strong>
              #{open.seq} {open.mode}
              {open.ns.length ? ` | ${open.ns.join("|")}` : ""}
            </strong>
            <div className="grow" />
            <button className="small" onClick={() => setOpen(null)}>
              ×
            </button>
          </div>
          <pre>{JSON.stringify(open.data, null, 2)}</pre>
        </div>
      )}
    </div>
  );
}
