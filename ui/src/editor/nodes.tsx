// The two node components. Memoised: React Flow passes a new props object only when the node
// object changed (see flow.ts), so an edit elsewhere does not re-render them.
import { memo } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import type { StepNode, TerminalNode } from "./flow";
import { kindGlyph } from "./kinds";
import { START } from "../core/spec-types";

// Both source handles sit on the right (the layout runs left to right): plain edges leave from the
// round handle, conditional branches from the diamond below it.
const OUT_STYLE = { top: "34%" };
const BRANCH_STYLE = { top: "74%" };

function summary(config: Record<string, unknown> | undefined): string {
  if (!config) return "";
  const first = Object.entries(config)[0];
  if (!first) return "";
  const [k, v] = first;
  const text = typeof v === "string" ? v : JSON.stringify(v);
  return `${k}: ${text.replace(/\s+/g, " ").slice(0, 40)}`;
}

export const StepNodeView = memo(function StepNodeView({ data, selected }: NodeProps<StepNode>) {
  const n = data.spec;
  const problems = data.problems;
  return (
    <div className={`sg-node kind-${n.kind}${selected ? " selected" : ""}${problems ? " invalid" : ""}`} data-testid={`node-${n.id}`}>
      <Handle type="target" position={Position.Left} id="in" className="handle-in" />
      <div className="sg-node-head">
        <span className="sg-node-glyph" aria-hidden>
          {kindGlyph(n.kind)}
        </span>
        <span className="sg-node-id">{n.id}</span>
        {data.isEntry && <span className="sg-badge entry">entry</span>}
        {problems && (
          <span className="sg-badge problem" title={problems.map((p) => `${p.code}: ${p.message}`).join("\n")}>
            {problems.length}
          </span>
        )}
      </div>
      <div className="sg-node-sub">
        <span className="sg-node-kind">{n.kind}</span>
        <span className="sg-node-summary">{summary(n.config)}</span>
      </div>
      {n.comment && (
        <div className="sg-node-comment" title={n.comment}>
          ✎ {n.comment}
        </div>
      )}
      <Handle type="source" position={Position.Right} id="out" className="handle-out" style={OUT_STYLE} title="Drag to connect (plain edge)" />
      <Handle type="source" position={Position.Right} id="branch" className="handle-branch" style={BRANCH_STYLE} title="Drag to add a conditional branch" />
    </div>
  );
});

export const TerminalNodeView = memo(function TerminalNodeView({ data, selected }: NodeProps<TerminalNode>) {
  const start = data.terminal === START;
  return (
    <div className={`sg-terminal ${start ? "start" : "end"}${selected ? " selected" : ""}`} data-testid={start ? "node-__start__" : "node-__end__"}>
      {!start && <Handle type="target" position={Position.Left} id="in" className="handle-in" />}
      {start ? "START" : "END"}
      {start && <Handle type="source" position={Position.Right} id="out" className="handle-out" style={OUT_STYLE} />}
      {start && <Handle type="source" position={Position.Right} id="branch" className="handle-branch" style={BRANCH_STYLE} />}
    </div>
  );
});

export const nodeTypes = { step: StepNodeView, terminal: TerminalNodeView };
