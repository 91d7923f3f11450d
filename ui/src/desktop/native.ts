// The desktop app's native commands (studio-contract.md), called through Tauri's `invoke`.
// Used only when `window.__TAURI_INTERNALS__` exists. The desktop helper generates typed
// bindings in ./bindings.ts with tauri-specta; this wrapper keeps the UI independent of when that
// file lands (the command names and argument names are the contract's).
import { invoke } from "@tauri-apps/api/core";

declare global {
  interface Window {
    __TAURI_INTERNALS__?: unknown;
    /** Injected by the desktop app; `open` is a file to show at launch (contract "Changes"). */
    __STATEGRAPH__?: { apiUrl?: string; token?: string | null; open?: { path: string; content: string } | null };
  }
}

/** Is the page running inside the desktop app? */
export function isDesktop(): boolean {
  return typeof window !== "undefined" && window.__TAURI_INTERNALS__ !== undefined;
}

/** The contract's commands; argument names are Tauri's camelCase of the Rust parameters. */
export const native = {
  openSpecDialog: () => invoke<{ path: string; content: string } | null>("open_spec_dialog"),
  saveSpecDialog: (content: string, suggestedName: string) =>
    invoke<string | null>("save_spec_dialog", { content, suggestedName }),
  saveSpec: (path: string, content: string) => invoke<void>("save_spec", { path, content }),
  readFile: (path: string) => invoke<string>("read_file", { path }),
  recentFiles: () => invoke<string[]>("recent_files"),
  addRecent: (path: string) => invoke<void>("add_recent", { path }),
  autosaveWrite: (key: string, content: string) => invoke<void>("autosave_write", { key, content }),
  autosaveRead: (key: string) => invoke<string | null>("autosave_read", { key }),
  autosaveClear: (key: string) => invoke<void>("autosave_clear", { key }),
  revealInFolder: (path: string) => invoke<void>("reveal_in_folder", { path }),
  openExternal: (url: string) => invoke<void>("open_external", { url }),
};
