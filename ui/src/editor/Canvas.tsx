// The canvas: React Flow over the store. Edits become changes; selection lives in the store.
import { useCallback, useRef, type DragEvent } from "react";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type IsValidConnection,
  type NodeChange,
} from "@xyflow/react";
import { useEditor, useSpec } from "./store";
import { useFlowEdges, useFlowNodes, type FlowNode } from "./flow";
import { nodeTypes } from "./nodes";
import { END, START, type Position } from "../core/spec-types";
import { nodesOf, uniqueNodeId } from "../core/model";
import { defaultConfig } from "../core/schema-form";

/** The drag-and-drop payload type of the palette. */
export const DND_KIND = "application/x-stategraph-kind";

export function Canvas() {
  const spec = useSpec();
  const selectedNodes = useEditor((s) => s.selectedNodes);
  const selectedEdges = useEditor((s) => s.selectedEdges);
  const problems = useEditor((s) => s.problems);
  const theme = useEditor((s) => s.theme);
  const readOnly = useEditor((s) => s.readOnly);
  const measured = useRef(new Map<string, { width?: number; height?: number }>());
  const nodes = useFlowNodes(spec, selectedNodes, problems, measured.current);
  const edges = useFlowEdges(spec, selectedEdges, problems);
  const flow = useReactFlow();
  const large = nodesOf(spec).length > 150;

  const onNodesChange = useCallback((changes: NodeChange<FlowNode>[]) => {
    const positions: Record<string, Position> = {};
    let moved = false;
    let dragEnded = false;
    for (const c of changes) {
      if (c.type === "dimensions" && c.dimensions) measured.current.set(c.id, c.dimensions);
      else if (c.type === "position" && c.position) {
        positions[c.id] = { x: Math.round(c.position.x), y: Math.round(c.position.y) };
        moved = true;
        if (c.dragging === false) dragEnded = true;
      } else if (c.type === "position" && c.dragging === false) dragEnded = true;
    }
    const st = useEditor.getState();
    applySelection(changes, "nodes");
    if (moved) st.apply({ type: "moveNodes", positions }, "drag");
    if (dragEnded) st.sealHistory();
  }, []);

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    // Removal goes through our own Delete handling; only selection is taken from here.
    applySelection(changes, "edges");
  }, []);

  const onConnect = useCallback((c: Connection) => {
    if (!c.source || !c.target) return;
    useEditor.getState().apply({
      type: "connect",
      source: c.source,
      target: c.target,
      mode: c.sourceHandle === "branch" ? "branch" : "plain",
    });
  }, []);

  const isValidConnection: IsValidConnection = useCallback(
    (c) => c.target !== START && c.source !== END && c.targetHandle === "in",
    [],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DND_KIND) || e.dataTransfer.types.includes("text/plain")) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const kind = e.dataTransfer.getData(DND_KIND) || e.dataTransfer.getData("text/plain");
      if (!kind) return;
      e.preventDefault();
      const pos = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      addNodeOfKind(kind, { x: Math.round(pos.x - 110), y: Math.round(pos.y - 32) });
    },
    [flow],
  );

  return (
    <div className="canvas" onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas">
      <ReactFlow<FlowNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={["Meta", "Control"]}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        onlyRenderVisibleElements={large}
        minZoom={0.05}
        maxZoom={2}
        colorMode={theme}
        defaultViewport={{ x: 240, y: 40, zoom: 0.8 }}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={20} />
        <MiniMap pannable zoomable className="minimap" />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

/** Applies React Flow's `select` changes to the store's selection. */
function applySelection(changes: (NodeChange<FlowNode> | EdgeChange)[], which: "nodes" | "edges") {
  const sel = changes.filter((c): c is { type: "select"; id: string; selected: boolean } => c.type === "select");
  if (!sel.length) return;
  const st = useEditor.getState();
  const nodes = new Set(st.selectedNodes);
  const edges = new Set(st.selectedEdges);
  const target = which === "nodes" ? nodes : edges;
  for (const c of sel) {
    if (c.selected) target.add(c.id);
    else target.delete(c.id);
  }
  st.select(nodes, edges);
}

/** Adds a node of `kind` at `position` with a fresh id and the kind's default config. */
export function addNodeOfKind(kind: string, position: Position): string | null {
  const st = useEditor.getState();
  const spec = st.history.present;
  const info = st.kinds.find((k) => k.kind === kind);
  const id = uniqueNodeId(kind, nodesOf(spec).map((n) => n.id));
  const config = defaultConfig(info?.config_schema ?? null);
  const ok = st.apply({
    type: "addNode",
    node: { id, kind, position, ...(Object.keys(config).length ? { config } : {}) },
  });
  if (!ok) return null;
  st.select([id]);
  return id;
}
