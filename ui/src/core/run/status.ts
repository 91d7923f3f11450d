// Live node status on the canvas, from the run stream: `debug` (checkpoint → queued, task →
// running, task_result → done / error / interrupted), `tasks` (same without checkpoints) and
// `updates` (a node's update → done; `__interrupt__` → the paused node is interrupted).
import type { Interrupt } from "./client";

/** A node's status in the current run. */
export type NodeStatus = "queued" | "running" | "done" | "error" | "interrupted" | "paused";

/** Status per node name. */
export type StatusMap = Map<string, NodeStatus>;

function rec(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const HIDDEN = new Set(["__start__", "__end__", "__interrupt__"]);

/**
 * Applies one stream event (mode without namespace, data) to `map`. Returns true when something
 * changed. `taskNames` maps task ids to node names (task results name the node, but keep it).
 */
export function applyStatusEvent(map: StatusMap, mode: string, data: unknown, taskNames: Map<string, string> = new Map()): boolean {
  const d = rec(data);
  const set = (node: string, s: NodeStatus) => {
    if (!node || HIDDEN.has(node) || map.get(node) === s) return false;
    map.set(node, s);
    return true;
  };
  if (mode === "debug") {
    const p = rec(d.payload);
    if (d.type === "checkpoint") {
      let changed = false;
      for (const t of (p.tasks as { name?: string; interrupts?: Interrupt[] }[] | undefined) ?? []) {
        if (!t.name) continue;
        const cur = map.get(t.name);
        if (cur === "running") continue;
        changed = set(t.name, t.interrupts?.length ? "interrupted" : "queued") || changed;
      }
      return changed;
    }
    return taskEvent(p, set, taskNames);
  }
  if (mode === "tasks") return taskEvent(d, set, taskNames);
  if (mode === "updates") {
    let changed = false;
    for (const [k, v] of Object.entries(d)) {
      if (k === "__interrupt__") continue;
      if (map.get(k) !== "error" && map.get(k) !== "interrupted") changed = set(k, "done") || changed;
      void v;
    }
    return changed;
  }
  return false;
}

function taskEvent(p: Record<string, unknown>, set: (n: string, s: NodeStatus) => boolean, names: Map<string, string>): boolean {
  const id = typeof p.id === "string" ? p.id : "";
  const name = typeof p.name === "string" ? p.name : names.get(id) ?? "";
  if (id && name) names.set(id, name);
  if ("input" in p || "triggers" in p) return set(name, "running");
  if ("result" in p || "error" in p || "interrupts" in p) {
    if (p.error) return set(name, "error");
    if (Array.isArray(p.interrupts) && p.interrupts.length) return set(name, "interrupted");
    return set(name, "done");
  }
  return false;
}

/** When the run ends: nodes still running failed (on error) or stopped; `next` nodes are paused. */
export function finishStatus(map: StatusMap, outcome: "success" | "error" | "interrupted" | "cancelled", next: string[]): void {
  for (const [k, v] of map) {
    if (v === "running") map.set(k, outcome === "error" ? "error" : "queued");
    if (v === "queued" && outcome !== "interrupted") map.delete(k);
  }
  if (outcome === "interrupted") for (const n of next) if (map.get(n) !== "interrupted") map.set(n, "paused");
}
