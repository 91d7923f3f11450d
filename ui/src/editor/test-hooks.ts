// A read-only window hook for end-to-end tests and debugging: the current spec and timings.
import { useEditor } from "./store";

declare global {
  interface Window {
    __stategraphStudio?: {
      spec: () => unknown;
      dirty: () => boolean;
      measures: () => Record<string, number>;
    };
  }
}

export function installTestHooks() {
  window.__stategraphStudio = {
    spec: () => useEditor.getState().history.present,
    dirty: () => {
      const s = useEditor.getState();
      return s.history.present !== s.saved;
    },
    measures: () => {
      const out: Record<string, number> = {};
      for (const m of performance.getEntriesByType("measure")) if (m.name.startsWith("sg-")) out[m.name] = Math.round(m.duration);
      return out;
    },
  };
}
