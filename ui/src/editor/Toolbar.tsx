// The top bar: file, edit, view and export commands, connection status and the document title.
import { useEffect, useRef, useState } from "react";
import { useDirty, useEditor } from "./store";
import * as A from "./actions";
import { isDesktop } from "../desktop/native";
import { sourceTitle } from "../core/storage";
import { canRedo, canUndo } from "../core/history";
import { ModeSwitch } from "../run/RunPanel";

function Menu({ label, testId, children }: { label: string; testId: string; children: React.ReactNode }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) setOpen(false);
    };
    window.addEventListener("mousedown", close);
    return () => window.removeEventListener("mousedown", close);
  }, [open]);
  return (
    <div className="menu" ref={ref}>
      <button data-testid={testId} className={open ? "active" : ""} onClick={() => setOpen(!open)}>
        {label} ▾
      </button>
      {open && (
        <div className="menu-items" onClick={() => setOpen(false)}>
          {children}
        </div>
      )}
    </div>
  );
}

export function Toolbar() {
  const spec = useEditor((s) => s.history.present);
  const source = useEditor((s) => s.source);
  const dirty = useDirty();
  const readOnly = useEditor((s) => s.readOnly);
  const history = useEditor((s) => s.history);
  const server = useEditor((s) => s.server);
  const theme = useEditor((s) => s.theme);
  const openDialog = useEditor((s) => s.openDialog);
  const fileInput = useRef<HTMLInputElement>(null);
  const importInput = useRef<HTMLInputElement>(null);
  const title = sourceTitle(source, spec);

  useEffect(() => {
    document.title = `${dirty ? "● " : ""}${title} — Stategraph Studio`;
  }, [dirty, title]);

  const openExport = (format: string) => openDialog(`export:${format}`);

  return (
    <header className="toolbar">
      <div className="brand">
        <span className="logo">◆</span> Stategraph Studio
      </div>
      <Menu label="File" testId="menu-file">
        <button data-testid="cmd-new" onClick={() => A.newSpec()}>
          New <kbd>Ctrl+Alt+N</kbd>
        </button>
        <button data-testid="cmd-open-file" onClick={() => (isDesktop() ? A.openNative() : fileInput.current?.click())}>
          Open file… <kbd>Ctrl+O</kbd>
        </button>
        <button data-testid="cmd-open-server" disabled={server.state !== "connected" && server.state !== "partial"} onClick={() => openDialog("open-server")}>
          Open from server…
        </button>
        <button data-testid="cmd-recent" onClick={() => openDialog("recent")}>
          Recent files…
        </button>
        <hr />
        <button data-testid="cmd-save" disabled={readOnly} onClick={() => A.save()}>
          Save <kbd>Ctrl+S</kbd>
        </button>
        <button data-testid="cmd-save-server" disabled={!server.writable} onClick={() => openDialog("save-server")}>
          Save to server as…
        </button>
        <button data-testid="cmd-save-download" onClick={() => A.saveAsDownload()}>
          {isDesktop() ? "Save as…" : "Download JSON"}
        </button>
        <hr />
        <button data-testid="cmd-import" onClick={() => importInput.current?.click()}>
          Import LangGraph JSON…
        </button>
      </Menu>
      <Menu label="Export" testId="menu-export">
        <button data-testid="export-json" onClick={() => openExport("json")}>JSON</button>
        <button data-testid="export-yaml" onClick={() => openExport("yaml")}>YAML</button>
        <button data-testid="export-mermaid" onClick={() => openExport("mermaid")}>Mermaid</button>
        <button data-testid="export-python" onClick={() => openExport("python")}>Python (LangGraph)</button>
        <hr />
        <button data-testid="export-png" onClick={() => A.exportImage("png")}>PNG image</button>
        <button data-testid="export-svg" onClick={() => A.exportImage("svg")}>SVG image</button>
      </Menu>
      <div className="sep" />
      <button data-testid="cmd-undo" title="Undo (Ctrl+Z)" disabled={!canUndo(history)} onClick={() => useEditor.getState().undo()}>
        ↶
      </button>
      <button data-testid="cmd-redo" title="Redo (Ctrl+Shift+Z)" disabled={!canRedo(history)} onClick={() => useEditor.getState().redo()}>
        ↷
      </button>
      <button data-testid="cmd-layout" title="Auto-layout (Ctrl+L)" disabled={readOnly} onClick={() => A.autoLayout()}>
        ⇶ Layout
      </button>
      <button data-testid="cmd-fit" title="Zoom to fit (F)" onClick={() => A.fitView()}>
        ⤢ Fit
      </button>
      <ModeSwitch />
      <div className="title" data-testid="doc-title">
        {dirty && <span className="dirty" data-testid="dirty-marker" title="Unsaved changes">●</span>}
        {title}
        {readOnly && <span className="sg-badge">read-only</span>}
      </div>
      <button data-testid="cmd-theme" title="Light / dark theme" onClick={() => useEditor.getState().setTheme(theme === "dark" ? "light" : "dark")}>
        {theme === "dark" ? "☀" : "☾"}
      </button>
      <button data-testid="cmd-help" title="Keyboard shortcuts (?)" onClick={() => openDialog("help")}>
        ?
      </button>
      <button data-testid="cmd-connect" className={`conn conn-${server.state}`} title={server.message} onClick={() => openDialog("connect")}>
        <span className="dot" /> {server.state === "connected" ? "Connected" : server.state === "partial" ? "Connected (no studio API)" : server.state === "down" ? "Offline" : "Connecting…"}
      </button>
      <input
        ref={fileInput}
        type="file"
        accept=".json,.yaml,.yml,application/json"
        hidden
        data-testid="open-file-input"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = "";
          if (f) void A.openFile(f);
        }}
      />
      <input
        ref={importInput}
        type="file"
        accept=".json,application/json"
        hidden
        data-testid="import-file-input"
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = "";
          if (f) void A.importLangGraph(f);
        }}
      />
    </header>
  );
}
