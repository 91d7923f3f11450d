// Undo/redo over immutable snapshots. Snapshots share structure (see changes.ts), so keeping a
// few hundred of them costs little. `group` coalesces a burst of edits (typing in one field,
// dragging a node) into one undo step.

/** The undo/redo state around a present value. */
export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  /** The group of the last recorded edit; an edit with the same group replaces it. */
  lastGroup: string | null;
}

/** How many undo steps are kept. */
export const HISTORY_LIMIT = 200;

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastGroup: null };
}

/**
 * Records `next` as the new present. When `group` equals the previous edit's group, the previous
 * present is not kept as a separate step. Recording the same value (by identity) changes nothing.
 */
export function record<T>(h: History<T>, next: T, group: string | null = null): History<T> {
  if (next === h.present) return h;
  if (group !== null && group === h.lastGroup && h.past.length > 0) {
    return { past: h.past, present: next, future: [], lastGroup: group };
  }
  const past = [...h.past, h.present];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, present: next, future: [], lastGroup: group };
}

export function canUndo<T>(h: History<T>): boolean {
  return h.past.length > 0;
}

export function canRedo<T>(h: History<T>): boolean {
  return h.future.length > 0;
}

export function undo<T>(h: History<T>): History<T> {
  if (h.past.length === 0) return h;
  const past = h.past.slice(0, -1);
  const present = h.past[h.past.length - 1] as T;
  return { past, present, future: [h.present, ...h.future], lastGroup: null };
}

export function redo<T>(h: History<T>): History<T> {
  if (h.future.length === 0) return h;
  const [present, ...future] = h.future as [T, ...T[]];
  return { past: [...h.past, h.present], present, future, lastGroup: null };
}

/** Ends the current group, so the next edit is its own undo step. */
export function seal<T>(h: History<T>): History<T> {
  return h.lastGroup === null ? h : { ...h, lastGroup: null };
}
