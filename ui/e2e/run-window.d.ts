// The run store's page hook (src/run/test-hooks.ts), as the e2e tests see it.
export {};
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
