// A read-only window hook for end-to-end tests: the run store's visible facts.
import { eventLog, useRun } from "./store";

declare global {
  interface Window {
    __stategraphRun?: {
      outcome: () => string;
      threadId: () => string | null;
      events: () => number;
      values: () => unknown;
      next: () => string[];
      history: () => number;
      lastRunMs: () => number | null;
    };
  }
}

export function installRunHooks() {
  window.__stategraphRun = {
    outcome: () => useRun.getState().outcome,
    threadId: () => useRun.getState().threadId,
    events: () => eventLog.length,
    values: () => useRun.getState().state?.values ?? null,
    next: () => useRun.getState().state?.next ?? [],
    history: () => useRun.getState().history.length,
    lastRunMs: () => useRun.getState().lastRunMs,
  };
}
