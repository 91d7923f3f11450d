// The desktop app's native commands (studio-contract.md), through the typed bindings that
// tauri-specta generates into ./bindings.ts. Used only when `window.__TAURI_INTERNALS__` exists.
// The bindings answer `{status, data | error}`; this wrapper turns errors into exceptions that
// name the command and say what went wrong.
import { commands, type CommandError } from "./bindings";

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

/** A native command that failed. */
export class NativeError extends Error {
  constructor(
    readonly command: string,
    readonly error: CommandError,
  ) {
    super(`${command}: ${error.message} (${error.kind})`);
    this.name = "NativeError";
  }
}

type Res<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

async function unwrap<T>(command: string, r: Promise<Res<T>>): Promise<T> {
  const v = await r;
  if (v.status === "error") throw new NativeError(command, v.error);
  return v.data;
}

export const native = {
  openSpecDialog: () => unwrap("open_spec_dialog", commands.openSpecDialog()),
  saveSpecDialog: (content: string, suggestedName: string) => unwrap("save_spec_dialog", commands.saveSpecDialog(content, suggestedName)),
  saveSpec: (path: string, content: string) => unwrap("save_spec", commands.saveSpec(path, content)),
  readFile: (path: string) => unwrap("read_file", commands.readFile(path)),
  recentFiles: () => unwrap("recent_files", commands.recentFiles()),
  addRecent: (path: string) => unwrap("add_recent", commands.addRecent(path)),
  autosaveWrite: (key: string, content: string) => unwrap("autosave_write", commands.autosaveWrite(key, content)),
  autosaveRead: (key: string) => unwrap("autosave_read", commands.autosaveRead(key)),
  autosaveClear: (key: string) => unwrap("autosave_clear", commands.autosaveClear(key)),
  revealInFolder: (path: string) => unwrap("reveal_in_folder", commands.revealInFolder(path)),
  openExternal: (url: string) => unwrap("open_external", commands.openExternal(url)),
};
