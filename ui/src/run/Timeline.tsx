// The checkpoint history drawn as a tree (a fork opens a new lane), with what can be done at the
// picked checkpoint: show it (state, canvas), edit state as a node and fork, re-run from it, and
// compare two branches side by side.
import { useMemo, useState } from "react";
import { useRun, specNodeIds } from "./store";
import { buildForkTree, checkpointId, pathTo, divergence, type TreeNode } from "../core/run/tree";
import { diffStates } from "../core/run/diff";
import { JsonTree } from "./JsonTree";

const DX = 26;
const DY = 26;

function label(n: TreeNode): string {
  const m = n.snapshot.metadata;
  const next = n.snapshot.next?.length ? ` → ${n.snapshot.next.join(",")}` : "";
  return `step ${m?.step ?? "?"} ${m?.source ?? ""}${next}`;
}

export function Timeline() {
  const history = useRun((s) => s.history);
  const selected = useRun((s) => s.selected);
  const compare = useRun((s) => s.compare);
  const tree = useMemo(() => buildForkTree(history), [history]);
  const nodes = [...tree.nodes.values()];
  const width = Math.max(1, tree.lanes) * DX + 20;
  // Draw at most the last 400 rows (long runs): older ones are summarised.
  const minRow = Math.max(0, tree.rows - 400);
  // One line per checkpoint (git-log style): by depth, then lane, so forks never share a line.
  const shown = nodes.filter((n) => n.row >= minRow).sort((a, b) => a.row - b.row || a.lane - b.lane);
  const line = new Map(shown.map((n, i) => [n.id, i]));
  const y = (id: string) => 10 + (line.get(id) ?? 0) * DY;
  const height = shown.length * DY + 10;
  const current = useRun((s) => s.state);
  const currentId = current ? checkpointId(current) : null;

  return (
    <div className="run-section" data-testid="timeline">
      <div className="run-row">
        <strong>Timeline</strong>
        <span className="muted" data-testid="timeline-summary">
          {tree.nodes.size} checkpoints · {tree.leaves.length} branch{tree.leaves.length === 1 ? "" : "es"}
        </span>
        <div className="grow" />
        {selected && (
          <button className="small" data-testid="timeline-latest" onClick={() => useRun.getState().select(null)}>
            Back to latest
          </button>
        )}
      </div>
      {minRow > 0 && <div className="muted">… {minRow} earlier steps not drawn</div>}
      <div className="tree-box">
        <svg width={width} height={height} className="fork-tree" data-testid="fork-tree">
          {shown.map((n) => {
            const p = n.parent ? tree.nodes.get(n.parent) : undefined;
            if (!p || p.row < minRow) return null;
            const x1 = 10 + p.lane * DX;
            const y1 = y(p.id);
            const x2 = 10 + n.lane * DX;
            const y2 = y(n.id);
            return <path key={`e-${n.id}`} d={x1 === x2 ? `M${x1},${y1} L${x2},${y2}` : `M${x1},${y1} C${x1},${y2} ${x1},${y2} ${x2},${y2}`} className="tree-edge" />;
          })}
          {shown.map((n) => (
            <circle
              key={n.id}
              cx={10 + n.lane * DX}
              cy={y(n.id)}
              r={n.id === selected ? 7 : 5}
              className={`tree-node src-${n.snapshot.metadata?.source ?? "loop"}${n.id === selected ? " picked" : ""}${n.id === currentId ? " current" : ""}`}
              data-testid={`cp-${n.id}`}
              data-step={n.snapshot.metadata?.step}
              data-lane={n.lane}
              onClick={() => useRun.getState().select(n.id)}
            >
              <title>{label(n)}</title>
            </circle>
          ))}
        </svg>
        <div className="tree-labels" style={{ height }}>
          {shown.map((n) => (
            <div
              key={n.id}
              className={`tree-label${n.id === selected ? " picked" : ""}`}
              style={{ top: y(n.id) - 9, left: 0 }}
              onClick={() => useRun.getState().select(n.id)}
              data-testid="cp-label"
              data-lane={n.lane}
              data-step={n.snapshot.metadata?.step}
            >
              {n.lane > 0 ? `[fork ${n.lane}] ` : ""}
              {label(n)}
            </div>
          ))}
        </div>
      </div>
      {selected && tree.nodes.has(selected) && <CheckpointActions id={selected} leaves={tree.leaves} />}
      {compare && <Compare a={compare[0]} b={compare[1]} tree={tree} />}
    </div>
  );
}

function CheckpointActions({ id, leaves }: { id: string; leaves: string[] }) {
  const [asNode, setAsNode] = useState("");
  const [text, setText] = useState("{}");
  const [error, setError] = useState<string | null>(null);
  const [other, setOther] = useState("");
  const nodes = specNodeIds();
  const doFork = async () => {
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch (e) {
      setError(`The values are not JSON: ${(e as Error).message}`);
      return;
    }
    setError(null);
    await useRun.getState().fork(id, values, asNode || null);
  };
  return (
    <div className="run-sub" data-testid="checkpoint-actions">
      <div className="run-row wrap">
        <strong>At {id.slice(0, 8)}</strong>
        <button className="small primary" data-testid="cp-rerun" onClick={() => void useRun.getState().start({ kind: "continue" }, { checkpointId: id })}>
          Re-run from here
        </button>
        <select value={other} onChange={(e) => setOther(e.target.value)} data-testid="compare-with">
          <option value="">compare with branch…</option>
          {leaves
            .filter((l) => l !== id)
            .map((l) => (
              <option key={l} value={l}>
                {l.slice(0, 8)}
              </option>
            ))}
        </select>
        <button className="small" disabled={!other} data-testid="compare-go" onClick={() => useRun.getState().setCompare([id, other])}>
          Compare
        </button>
      </div>
      <div className="run-row wrap">
        <span>Edit state as</span>
        <select value={asNode} onChange={(e) => setAsNode(e.target.value)} data-testid="fork-as-node">
          <option value="">(last writer)</option>
          {nodes.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <button className="small primary" data-testid="fork-go" onClick={() => void doFork()}>
          Fork
        </button>
      </div>
      <textarea className="json-area" rows={3} value={text} onChange={(e) => setText(e.target.value)} data-testid="fork-values" spellCheck={false} />
      {error && <div className="field-error">{error}</div>}
    </div>
  );
}

function Compare({ a, b, tree }: { a: string; b: string; tree: ReturnType<typeof buildForkTree> }) {
  const na = tree.nodes.get(a);
  const nb = tree.nodes.get(b);
  if (!na || !nb) return null;
  const split = divergence(tree, a, b);
  const diff = diffStates(na.snapshot, nb.snapshot);
  const len = (id: string) => pathTo(tree, id).length;
  return (
    <div className="run-sub" data-testid="compare">
      <div className="run-row">
        <strong>Compare</strong>
        <span className="muted">
          split at {split?.slice(0, 8) ?? "?"} · {len(a)} vs {len(b)} checkpoints
        </span>
        <div className="grow" />
        <button className="small" onClick={() => useRun.getState().setCompare(null)}>
          ×
        </button>
      </div>
      <div className="compare-cols">
        <div data-testid="compare-a">
          <div className="muted">{a.slice(0, 8)}</div>
          <JsonTree value={na.snapshot.values} />
        </div>
        <div data-testid="compare-b">
          <div className="muted">{b.slice(0, 8)}</div>
          <JsonTree value={nb.snapshot.values} />
        </div>
      </div>
      <div data-testid="compare-diff">
        {diff.length ? diff.map((d) => <div key={d.key}>{d.key}: {JSON.stringify(d.before)} ≠ {JSON.stringify(d.after)}</div>) : <span className="muted">Same values.</span>}
      </div>
    </div>
  );
}
