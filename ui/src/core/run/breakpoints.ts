// The studio's breakpoints and how runs use them. Stored as a list (the UI shows markers on nodes
// and edges); turned into our server's `breakpoints` run option. "Step" is one superstep per run
// (`{"node": "*", "position": "after"}`); "run to here" is a one-shot breakpoint before a node.
import type { BreakpointBody } from "./client";

/** A breakpoint the user set. */
export interface Breakpoint {
  /** Stable id: position, node, edge source and subgraph path. */
  id: string;
  node: string;
  position: "before" | "after";
  /** Rhai over `state` (e.g. `state.count > 3`); empty = always. */
  when: string;
  /** Break when the edge `from → node` is taken (position before only). */
  from?: string;
  /** Path of subgraph nodes from the root graph (empty = the root graph). */
  subgraph: string[];
  enabled: boolean;
}

/** The id of a breakpoint at this place. */
export function breakpointId(b: Pick<Breakpoint, "node" | "position" | "from" | "subgraph">): string {
  return `${b.subgraph.join("/")}|${b.from ? `${b.from}->` : ""}${b.node}|${b.position}`;
}

/** Makes a breakpoint (enabled, no condition). */
export function makeBreakpoint(node: string, position: "before" | "after" = "before", opts: { from?: string; subgraph?: string[]; when?: string } = {}): Breakpoint {
  const b = { node, position, from: opts.from, subgraph: opts.subgraph ?? [], when: opts.when ?? "", enabled: true };
  if (b.from && position !== "before") throw new Error(`an edge breakpoint (${b.from} → ${node}) can only pause before ${node}`);
  return { ...b, id: breakpointId(b) };
}

/**
 * Toggles the node breakpoint at `position`: adds it when absent, removes it when present. A
 * click on a node cycles none → before → after → none (`cycleNodeBreakpoint`).
 */
export function toggleBreakpoint(list: Breakpoint[], b: Breakpoint): Breakpoint[] {
  return list.some((x) => x.id === b.id) ? list.filter((x) => x.id !== b.id) : [...list, b];
}

/** none → before → after → none for a node (conditions of a removed breakpoint are lost). */
export function cycleNodeBreakpoint(list: Breakpoint[], node: string, subgraph: string[] = []): Breakpoint[] {
  const before = breakpointId({ node, position: "before", subgraph });
  const after = breakpointId({ node, position: "after", subgraph });
  if (list.some((x) => x.id === before)) return [...list.filter((x) => x.id !== before), makeBreakpoint(node, "after", { subgraph })];
  if (list.some((x) => x.id === after)) return list.filter((x) => x.id !== after);
  return [...list, makeBreakpoint(node, "before", { subgraph })];
}

/** Replaces one breakpoint's fields (the id follows the place). */
export function updateBreakpoint(list: Breakpoint[], id: string, patch: Partial<Omit<Breakpoint, "id">>): Breakpoint[] {
  return list.map((b) => {
    if (b.id !== id) return b;
    const next = { ...b, ...patch };
    return { ...next, id: breakpointId(next) };
  });
}

/** The breakpoints on a node (root graph unless `subgraph` given), for the canvas marker. */
export function markerFor(list: Breakpoint[], node: string, subgraph: string[] = []): { before: boolean; after: boolean; conditional: boolean; edge: boolean } {
  const path = subgraph.join("/");
  const mine = list.filter((b) => b.enabled && b.node === node && b.subgraph.join("/") === path);
  return {
    before: mine.some((b) => b.position === "before" && !b.from),
    after: mine.some((b) => b.position === "after"),
    conditional: mine.some((b) => !!b.when.trim()),
    edge: mine.some((b) => !!b.from),
  };
}

/** The body of one breakpoint for the server. */
export function toBody(b: Breakpoint): BreakpointBody {
  return {
    node: b.node,
    position: b.position,
    ...(b.when.trim() ? { when: b.when.trim() } : {}),
    ...(b.from ? { from: b.from } : {}),
    ...(b.subgraph.length ? { subgraph: b.subgraph } : {}),
  };
}

/** How a run is started from the debugger. */
export type RunAction =
  | { kind: "run" }
  | { kind: "continue" }
  | { kind: "step"; subgraph?: string[] }
  | { kind: "run-to"; node: string; subgraph?: string[] };

/** The `breakpoints` to send for an action: the user's enabled ones plus the action's own. */
export function breakpointsFor(list: Breakpoint[], action: RunAction): BreakpointBody[] {
  const user = list.filter((b) => b.enabled).map(toBody);
  switch (action.kind) {
    case "run":
    case "continue":
      return user;
    case "step":
      return [...user, { node: "*", position: "after", ...(action.subgraph?.length ? { subgraph: action.subgraph } : {}) }];
    case "run-to":
      return [...user, { node: action.node, position: "before", ...(action.subgraph?.length ? { subgraph: action.subgraph } : {}) }];
  }
}

/** Maps a server 422 (`breakpoints[i]: ...`) back to the breakpoint it names. */
export function breakpointOfError(list: Breakpoint[], message: string): Breakpoint | null {
  const m = /breakpoints\[(\d+)\]/.exec(message);
  if (!m) return null;
  return list.filter((b) => b.enabled)[Number(m[1])] ?? null;
}

/**
 * For servers without our `breakpoints` option (a Python `langgraph dev`): the same pauses as
 * LangGraph's static `interrupt_before` / `interrupt_after` where they can be expressed (plain
 * node breakpoints, step = after every node, run to here). Conditional, edge and subgraph
 * breakpoints cannot: they come back in `unsupported` so the UI can say they were not sent.
 */
export function staticInterrupts(
  list: Breakpoint[],
  action: RunAction,
): { interrupt_before: string[]; interrupt_after: string[] | "*"; unsupported: Breakpoint[] } {
  const before = new Set<string>();
  const after = new Set<string>();
  const unsupported: Breakpoint[] = [];
  for (const b of list.filter((x) => x.enabled)) {
    if (b.when.trim() || b.from || b.subgraph.length) unsupported.push(b);
    else (b.position === "before" ? before : after).add(b.node);
  }
  if (action.kind === "run-to") before.add(action.node);
  return {
    interrupt_before: [...before],
    interrupt_after: action.kind === "step" ? "*" : [...after],
    unsupported,
  };
}
