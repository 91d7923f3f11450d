// Spec → React Flow nodes and edges, cached per element so that an edit re-creates only the
// objects that changed (React Flow then re-renders only those; 500 nodes stay smooth).
import { useMemo, useRef } from "react";
import { MarkerType, type Edge, type Node } from "@xyflow/react";
import type { GraphSpec, NodeSpec } from "../core/spec-types";
import { END, START } from "../core/spec-types";
import { canvasEdges, nodesOf, terminalPosition, type CanvasEdge } from "../core/model";
import type { MappedProblem, ProblemIndex } from "../core/validation";

export interface StepData extends Record<string, unknown> {
  spec: NodeSpec;
  problems: MappedProblem[] | undefined;
  isEntry: boolean;
}
export interface TerminalData extends Record<string, unknown> {
  terminal: typeof START | typeof END;
}

export type StepNode = Node<StepData, "step">;
export type TerminalNode = Node<TerminalData, "terminal">;
export type FlowNode = StepNode | TerminalNode;

type Measured = { width?: number; height?: number };

interface NodeCacheEntry {
  spec: NodeSpec;
  selected: boolean;
  problems: MappedProblem[] | undefined;
  isEntry: boolean;
  node: StepNode;
}

/** React Flow nodes for the spec, reusing unchanged node objects. */
export function useFlowNodes(
  spec: GraphSpec,
  selected: ReadonlySet<string>,
  problems: ProblemIndex,
  measured: Map<string, Measured>,
): FlowNode[] {
  const cache = useRef(new Map<string, NodeCacheEntry>());
  const terminals = useRef(new Map<string, TerminalNode>());
  return useMemo(() => {
    const next = new Map<string, NodeCacheEntry>();
    const out: FlowNode[] = [];
    for (const t of [START, END] as const) {
      const pos = terminalPosition(spec, t);
      const sel = selected.has(t);
      const prev = terminals.current.get(t);
      const node: TerminalNode =
        prev && prev.position.x === pos.x && prev.position.y === pos.y && !!prev.selected === sel
          ? prev
          : {
              id: t,
              type: "terminal",
              position: pos,
              data: { terminal: t },
              selected: sel,
              deletable: false,
              measured: measured.get(t),
            };
      terminals.current.set(t, node);
      out.push(node);
    }
    for (const n of nodesOf(spec)) {
      const sel = selected.has(n.id);
      const probs = problems.byNode.get(n.id);
      const isEntry = spec.entry === n.id;
      const prev = cache.current.get(n.id);
      let entry: NodeCacheEntry;
      if (prev && prev.spec === n && prev.selected === sel && prev.problems === probs && prev.isEntry === isEntry) entry = prev;
      else {
        entry = {
          spec: n,
          selected: sel,
          problems: probs,
          isEntry,
          node: {
            id: n.id,
            type: "step",
            position: n.position ?? { x: 0, y: 0 },
            data: { spec: n, problems: probs, isEntry },
            selected: sel,
            measured: measured.get(n.id),
            className: probs ? "has-problems" : undefined,
          },
        };
      }
      next.set(n.id, entry);
      out.push(entry.node);
    }
    cache.current = next;
    return out;
  }, [spec, selected, problems, measured]);
}

interface EdgeCacheEntry {
  key: string;
  edge: Edge;
}

function edgeKey(c: CanvasEdge, selected: boolean, invalid: boolean): string {
  return `${c.source}|${c.target}|${c.kind}|${c.label ?? ""}|${selected}|${invalid}`;
}

/** React Flow edges: one per canvas line, styled by kind, red when a problem points at it. */
export function useFlowEdges(spec: GraphSpec, selected: ReadonlySet<string>, problems: ProblemIndex): Edge[] {
  const cache = useRef(new Map<string, EdgeCacheEntry>());
  const lines = useMemo(() => canvasEdges(spec), [spec.edges, spec.entry]); // eslint-disable-line react-hooks/exhaustive-deps
  return useMemo(() => {
    const next = new Map<string, EdgeCacheEntry>();
    const out: Edge[] = [];
    for (const c of lines) {
      const sel = selected.has(c.id);
      const invalid = problems.byEdge.has(c.id);
      const key = edgeKey(c, sel, invalid);
      const prev = cache.current.get(c.id);
      let entry: EdgeCacheEntry;
      if (prev && prev.key === key) entry = prev;
      else {
        const classes = [`edge-${c.kind}`];
        if (invalid) classes.push("edge-invalid");
        entry = {
          key,
          edge: {
            id: c.id,
            source: c.source,
            target: c.target,
            sourceHandle: c.kind === "conditional" ? "branch" : "out",
            targetHandle: "in",
            label: c.label,
            selected: sel,
            className: classes.join(" "),
            markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
            data: { kind: c.kind },
          },
        };
      }
      next.set(c.id, entry);
      out.push(entry.edge);
    }
    cache.current = next;
    return out;
  }, [lines, selected, problems]);
}
