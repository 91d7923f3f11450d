// The page's test hook (src/editor/test-hooks.ts), as the e2e tests see it.
export {};
declare global {
  interface Window {
    __stategraphStudio?: {
      spec: () => unknown;
      dirty: () => boolean;
      measures: () => Record<string, number>;
    };
  }
}
