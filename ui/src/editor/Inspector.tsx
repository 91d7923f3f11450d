// The right panel: the selected node (id, kind, config form from the kind's schema, comment),
// the selected edge (kind, condition, branches, join sources), or the graph (name, entry, state).
import { useEffect, useState } from "react";
import { useEditor, useSpec } from "./store";
import { SchemaForm, JsonInput } from "./SchemaForm";
import { CodeEditor } from "./CodeEditor";
import { StateEditor } from "./StateEditor";
import type { ConditionalEdge, GraphSpec, JoinEdge, NodeSpec } from "../core/spec-types";
import { END, START } from "../core/spec-types";
import { edgeKind, edgeSources, edgeTargets, edgesOf, isConditional, isJoin, nodesOf, parseCanvasEdgeId, type EdgeKind } from "../core/model";
import type { MappedProblem } from "../core/validation";

export function Inspector() {
  const spec = useSpec();
  const nodes = useEditor((s) => s.selectedNodes);
  const edges = useEditor((s) => s.selectedEdges);
  let body: React.ReactNode;
  if (nodes.size + edges.size > 1) body = <MultiInspector count={nodes.size + edges.size} />;
  else if (nodes.size === 1) {
    const id = [...nodes][0] as string;
    const node = nodesOf(spec).find((n) => n.id === id);
    body = node ? <NodeInspector key={id} node={node} spec={spec} /> : <TerminalInspector id={id} />;
  } else if (edges.size === 1) body = <EdgeInspector id={[...edges][0] as string} spec={spec} />;
  else body = <GraphInspector spec={spec} />;
  return (
    <aside className="inspector" data-testid="inspector">
      {body}
    </aside>
  );
}

function ProblemList({ problems }: { problems: MappedProblem[] | undefined }) {
  if (!problems?.length) return null;
  return (
    <ul className="inline-problems" data-testid="inline-problems">
      {problems.map((p, i) => (
        <li key={i}>
          <code>{p.code}</code> {p.message}
        </li>
      ))}
    </ul>
  );
}

function MultiInspector({ count }: { count: number }) {
  return (
    <section>
      <h2>{count} elements selected</h2>
      <p className="muted">Delete removes them; Ctrl+C copies the nodes and the edges between them.</p>
      <button onClick={() => deleteSelection()}>Delete selection</button>
    </section>
  );
}

function TerminalInspector({ id }: { id: string }) {
  return (
    <section>
      <h2>{id === START ? "START" : "END"}</h2>
      <p className="muted">
        {id === START
          ? "Where every run begins. Connect it to the first node, or pick the entry in the graph settings."
          : "Where a run ends. Connect the last nodes (or branches) to it."}
      </p>
    </section>
  );
}

/** An id input applied on Enter or blur (renaming updates every reference). */
function IdInput({ id, readOnly }: { id: string; readOnly: boolean }) {
  const [text, setText] = useState(id);
  useEffect(() => setText(id), [id]);
  const commit = () => {
    if (text === id) return;
    const st = useEditor.getState();
    if (st.apply({ type: "renameNode", from: id, to: text })) st.select([text]);
    else setText(id);
  };
  return (
    <input
      data-testid="node-id-input"
      value={text}
      disabled={readOnly}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === "Enter") commit();
        if (e.key === "Escape") setText(id);
      }}
    />
  );
}

function NodeInspector({ node, spec }: { node: NodeSpec; spec: GraphSpec }) {
  const kinds = useEditor((s) => s.kinds);
  const readOnly = useEditor((s) => s.readOnly);
  const problems = useEditor((s) => s.problems.byNode.get(node.id));
  const apply = useEditor((s) => s.apply);
  const info = kinds.find((k) => k.kind === node.kind);
  const stateKeys = Object.keys(spec.state ?? {});
  const config = node.config ?? {};
  return (
    <section data-testid="node-inspector">
      <h2>
        Node <span className="muted">· {info?.title ?? node.kind}</span>
      </h2>
      {info?.description && <p className="muted small">{info.description}</p>}
      <div className="field">
        <label className="field-label">id</label>
        <IdInput id={node.id} readOnly={readOnly} />
      </div>
      <div className="row">
        <button className="small" disabled={readOnly || spec.entry === node.id} onClick={() => apply({ type: "setEntry", id: node.id })}>
          {spec.entry === node.id ? "Entry node" : "Make entry"}
        </button>
      </div>
      <ProblemList problems={problems} />
      <h3>Config</h3>
      {info?.config_schema ? (
        <SchemaForm
          schema={info.config_schema}
          value={config}
          stateKeys={stateKeys}
          readOnly={readOnly}
          onChange={(next, field) => apply({ type: "updateNodeConfig", id: node.id, config: next }, `config:${node.id}:${field}`)}
        />
      ) : (
        <>
          <p className="muted small">No schema for `{node.kind}` from the server: edit the config as JSON.</p>
          <JsonInput
            testId="config-json"
            value={config}
            readOnly={readOnly}
            onChange={(v) =>
              apply({ type: "updateNodeConfig", id: node.id, config: v && typeof v === "object" ? (v as Record<string, unknown>) : {} }, `config:${node.id}:json`)
            }
          />
        </>
      )}
      <h3>Comment</h3>
      <textarea
        data-testid="node-comment"
        placeholder="A note for people reading the graph"
        value={node.comment ?? ""}
        disabled={readOnly}
        onChange={(e) => apply({ type: "setComment", target: { node: node.id }, comment: e.target.value || null }, `comment:${node.id}`)}
      />
    </section>
  );
}

function EdgeInspector({ id, spec }: { id: string; spec: GraphSpec }) {
  const apply = useEditor((s) => s.apply);
  const readOnly = useEditor((s) => s.readOnly);
  const problems = useEditor((s) => s.problems.byEdge.get(id));
  const parsed = parseCanvasEdgeId(id);
  if (parsed === "entry") {
    return (
      <section>
        <h2>Entry</h2>
        <p className="muted">The graph starts at `{spec.entry}` (the spec's `entry` field).</p>
        <button disabled={readOnly} onClick={() => apply({ type: "removeElements", nodes: [], edges: ["entry"] })}>
          Clear entry
        </button>
      </section>
    );
  }
  const index = parsed?.edgeIndex ?? -1;
  const edge = edgesOf(spec)[index];
  if (!edge) return <GraphInspector spec={spec} />;
  const kind = edgeKind(edge);
  const targets = [...nodesOf(spec).map((n) => n.id), END];
  return (
    <section data-testid="edge-inspector">
      <h2>Edge</h2>
      <div className="field">
        <label className="field-label">kind</label>
        <select
          data-testid="edge-kind"
          value={kind}
          disabled={readOnly}
          onChange={(e) => {
            if (apply({ type: "setEdgeKind", edge: index, kind: e.target.value as EdgeKind })) useEditor.getState().select([], []);
          }}
        >
          <option value="plain">plain</option>
          <option value="conditional">conditional (branches)</option>
          <option value="join">join (waits for all sources)</option>
          <option value="send">send (fan-out, map-reduce)</option>
        </select>
      </div>
      <ProblemList problems={problems} />
      {kind === "plain" && "target" in edge && "source" in edge && (
        <p>
          <code>{edge.source}</code> → <code>{edge.target}</code>
        </p>
      )}
      {kind === "conditional" && isConditional(edge) && <ConditionalForm edge={edge} index={index} spec={spec} targets={targets} readOnly={readOnly} />}
      {kind === "join" && isJoin(edge) && <JoinForm edge={edge} index={index} spec={spec} readOnly={readOnly} />}
      {kind === "send" && (
        <>
          <p className="muted small">
            After <code>{edgeSources(edge)[0]}</code> runs, sends run <code>{edgeTargets(edge).join(", ")}</code> once per item, each with its own input:{" "}
            <code>{"{target, foreach, as, with}"}</code> or <code>{"{expr, targets}"}</code>.
          </p>
          <JsonInput
            testId="send-json"
            value={(edge as { send?: unknown }).send}
            readOnly={readOnly}
            onChange={(v) => v && typeof v === "object" && apply({ type: "setSend", edge: index, send: v as Record<string, unknown> }, `send:${index}`)}
          />
        </>
      )}
      <h3>Comment</h3>
      <textarea
        value={edge.comment ?? ""}
        disabled={readOnly}
        onChange={(e) => apply({ type: "setComment", target: { edge: index }, comment: e.target.value || null }, `edge-comment:${index}`)}
      />
    </section>
  );
}

function ConditionalForm({ edge, index, spec, targets, readOnly }: { edge: ConditionalEdge; index: number; spec: GraphSpec; targets: string[]; readOnly: boolean }) {
  const apply = useEditor((s) => s.apply);
  const byKey = "key" in edge.condition;
  const stateKeys = Object.keys(spec.state ?? {});
  return (
    <>
      <p>
        from <code>{edge.source}</code>
      </p>
      <h3>Condition</h3>
      <div className="row">
        <label>
          <input type="radio" checked={!byKey} disabled={readOnly} onChange={() => apply({ type: "setCondition", edge: index, condition: { expr: "" } })} /> expression
        </label>
        <label>
          <input type="radio" checked={byKey} disabled={readOnly} onChange={() => apply({ type: "setCondition", edge: index, condition: { key: stateKeys[0] ?? "" } })} /> state key
        </label>
      </div>
      {"key" in edge.condition ? (
        <select data-testid="condition-key" value={edge.condition.key} disabled={readOnly} onChange={(e) => apply({ type: "setCondition", edge: index, condition: { key: e.target.value } })}>
          <option value="">(choose a state key)</option>
          {stateKeys.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
      ) : (
        <>
          <CodeEditor
            testId="condition-expr"
            language="rhai"
            value={edge.condition.expr}
            readOnly={readOnly}
            onChange={(v) => apply({ type: "setCondition", edge: index, condition: { expr: v } }, `cond:${index}`)}
          />
          <div className="field-help">A Rhai expression over `state` that yields one of the branch labels.</div>
        </>
      )}
      <h3>Branches</h3>
      <table className="branches" data-testid="branches">
        <tbody>
          {edge.branches.map((b, j) => (
            <tr key={j}>
              <td>
                <input
                  data-testid={`branch-label-${j}`}
                  value={b.label}
                  disabled={readOnly}
                  onChange={(e) => apply({ type: "updateBranch", edge: index, branch: j, label: e.target.value }, `branch:${index}:${j}`)}
                />
              </td>
              <td>→</td>
              <td>
                <select value={b.target} disabled={readOnly} onChange={(e) => apply({ type: "updateBranch", edge: index, branch: j, target: e.target.value })}>
                  {targets.map((t) => (
                    <option key={t}>{t}</option>
                  ))}
                </select>
              </td>
              <td>
                <button className="icon" disabled={readOnly} title="Remove branch" onClick={() => apply({ type: "removeBranch", edge: index, branch: j })}>
                  ×
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button className="small" disabled={readOnly} onClick={() => apply({ type: "addBranch", edge: index, label: "branch", target: END })}>
        + branch
      </button>
    </>
  );
}

function JoinForm({ edge, index, spec, readOnly }: { edge: JoinEdge; index: number; spec: GraphSpec; readOnly: boolean }) {
  const apply = useEditor((s) => s.apply);
  const ids = nodesOf(spec).map((n) => n.id).filter((id) => id !== edge.target);
  return (
    <>
      <p>
        into <code>{edge.target}</code> after all of:
      </p>
      <div className="join-sources">
        {ids.map((id) => (
          <label key={id}>
            <input
              type="checkbox"
              disabled={readOnly}
              checked={edge.sources.includes(id)}
              onChange={(e) =>
                apply({ type: "setJoinSources", edge: index, sources: e.target.checked ? [...edge.sources, id] : edge.sources.filter((s) => s !== id) })
              }
            />{" "}
            {id}
          </label>
        ))}
      </div>
    </>
  );
}

function GraphInspector({ spec }: { spec: GraphSpec }) {
  const apply = useEditor((s) => s.apply);
  const readOnly = useEditor((s) => s.readOnly);
  const specProblems = useEditor((s) => s.problems.spec);
  return (
    <section data-testid="graph-inspector">
      <h2>Graph</h2>
      <div className="field">
        <label className="field-label">name</label>
        <input data-testid="graph-name" value={spec.name} disabled={readOnly} onChange={(e) => apply({ type: "setGraphInfo", name: e.target.value }, "graph-name")} />
      </div>
      <div className="field">
        <label className="field-label">description</label>
        <textarea value={spec.description ?? ""} disabled={readOnly} onChange={(e) => apply({ type: "setGraphInfo", description: e.target.value || null }, "graph-desc")} />
      </div>
      <div className="field">
        <label className="field-label">entry</label>
        <select data-testid="graph-entry" value={spec.entry ?? ""} disabled={readOnly} onChange={(e) => apply({ type: "setEntry", id: e.target.value || null })}>
          <option value="">(edges from START)</option>
          {nodesOf(spec).map((n) => (
            <option key={n.id}>{n.id}</option>
          ))}
        </select>
      </div>
      <ProblemList problems={specProblems} />
      <StateEditor spec={spec} readOnly={readOnly} />
    </section>
  );
}

/** Removes the selected nodes and edges (one undo step). */
export function deleteSelection() {
  const st = useEditor.getState();
  if (!st.selectedNodes.size && !st.selectedEdges.size) return;
  if (st.apply({ type: "removeElements", nodes: [...st.selectedNodes], edges: [...st.selectedEdges] })) st.select([], []);
}
