// The checkpoint history as a tree: every checkpoint hangs under its parent checkpoint, so a fork
// (update_state on an old checkpoint, or a run from one) starts a branch. Laid out in rows (depth)
// and lanes (branches): a checkpoint's first child stays in its lane, later children open new ones.
import type { StateSnapshot } from "./client";

/** One checkpoint in the tree. */
export interface TreeNode {
  id: string;
  parent: string | null;
  children: string[];
  /** Distance from the root. */
  row: number;
  /** Branch column. */
  lane: number;
  snapshot: StateSnapshot;
}

/** The laid-out tree. */
export interface ForkTree {
  nodes: Map<string, TreeNode>;
  /** Roots (normally one: the thread's first checkpoint). */
  roots: string[];
  /** Leaves, one per branch, in lane order. */
  leaves: string[];
  lanes: number;
  rows: number;
}

/** The checkpoint id of a snapshot. */
export function checkpointId(s: StateSnapshot): string {
  return s.checkpoint?.checkpoint_id ?? s.checkpoint_id ?? "";
}

/** The parent checkpoint id of a snapshot. */
export function parentId(s: StateSnapshot): string | null {
  return s.parent_checkpoint?.checkpoint_id ?? s.parent_checkpoint_id ?? null;
}

function order(a: StateSnapshot, b: StateSnapshot): number {
  const ta = a.created_at ?? "";
  const tb = b.created_at ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ia = checkpointId(a);
  const ib = checkpointId(b);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/** Builds the tree from history snapshots (any order; the API returns newest first). */
export function buildForkTree(history: StateSnapshot[]): ForkTree {
  const nodes = new Map<string, TreeNode>();
  const sorted = [...history].sort(order);
  for (const s of sorted) {
    const id = checkpointId(s);
    if (!id || nodes.has(id)) continue;
    nodes.set(id, { id, parent: parentId(s), children: [], row: 0, lane: 0, snapshot: s });
  }
  const roots: string[] = [];
  for (const n of nodes.values()) {
    const p = n.parent ? nodes.get(n.parent) : undefined;
    if (p) p.children.push(n.id);
    else {
      n.parent = n.parent && nodes.has(n.parent) ? n.parent : null;
      roots.push(n.id);
    }
  }
  let nextLane = 0;
  let rows = 0;
  const leaves: string[] = [];
  // Iterative DFS (a 1,000-step history must not blow the stack).
  const stack: { id: string; row: number; lane: number }[] = [];
  for (const r of [...roots].reverse()) stack.push({ id: r, row: 0, lane: -1 });
  while (stack.length) {
    const item = stack.pop()!;
    const n = nodes.get(item.id)!;
    n.row = item.row;
    n.lane = item.lane < 0 ? nextLane++ : item.lane;
    rows = Math.max(rows, n.row + 1);
    if (!n.children.length) leaves.push(n.id);
    // Push in reverse so the first child is visited first and keeps the lane.
    for (let i = n.children.length - 1; i >= 0; i--) stack.push({ id: n.children[i]!, row: n.row + 1, lane: i === 0 ? n.lane : -1 });
  }
  // Depth first, first child first: a later sibling's lane opens only after the older sibling's
  // whole subtree is placed, so lanes grow left to right in branch order.
  return { nodes, roots, leaves: leaves.sort((a, b) => nodes.get(a)!.lane - nodes.get(b)!.lane), lanes: nextLane, rows };
}

/** The checkpoints from the root down to `id` (inclusive). */
export function pathTo(tree: ForkTree, id: string): TreeNode[] {
  const out: TreeNode[] = [];
  let cur = tree.nodes.get(id);
  const seen = new Set<string>();
  while (cur && !seen.has(cur.id)) {
    seen.add(cur.id);
    out.push(cur);
    cur = cur.parent ? tree.nodes.get(cur.parent) : undefined;
  }
  return out.reverse();
}

/** Where two branches part: the last checkpoint both paths share, or null. */
export function divergence(tree: ForkTree, a: string, b: string): string | null {
  const pa = pathTo(tree, a);
  const pb = new Set(pathTo(tree, b).map((n) => n.id));
  let last: string | null = null;
  for (const n of pa) if (pb.has(n.id)) last = n.id;
  return last;
}
