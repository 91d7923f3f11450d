// Modal dialogs: connect, shortcuts help, export preview, open from server, save to server,
// recent files.
import { useEffect, useState } from "react";
import { useEditor, describeError } from "./store";
import * as A from "./actions";
import type { Assistant, ExportFormat, SpecEntry } from "../core/api";
import { ApiError, trimSlash } from "../core/api";
import { readRecent, type RecentEntry } from "../core/storage";
import { CodeEditor } from "./CodeEditor";
import { isDesktop, native } from "../desktop/native";
import { checkServer } from "./server";

function Modal({ title, onClose, children, wide, testId }: { title: string; onClose: () => void; children: React.ReactNode; wide?: boolean; testId: string }) {
  useEffect(() => {
    const k = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", k);
    return () => window.removeEventListener("keydown", k);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`modal${wide ? " wide" : ""}`} role="dialog" aria-label={title} data-testid={testId}>
        <header>
          <h2>{title}</h2>
          <button className="icon" data-testid="dialog-close" onClick={onClose} title="Close (Esc)">
            ×
          </button>
        </header>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  );
}

export function Dialogs() {
  const dialog = useEditor((s) => s.dialog);
  const close = () => useEditor.getState().openDialog(null);
  if (!dialog) return null;
  if (dialog === "help") return <HelpDialog onClose={close} />;
  if (dialog === "connect") return <ConnectDialog onClose={close} />;
  if (dialog === "open-server") return <OpenServerDialog onClose={close} />;
  if (dialog === "save-server") return <SaveServerDialog onClose={close} />;
  if (dialog === "recent") return <RecentDialog onClose={close} />;
  if (dialog.startsWith("export:")) return <ExportDialog format={dialog.slice(7) as ExportFormat} onClose={close} />;
  return null;
}

export const SHORTCUTS: [string, string][] = [
  ["Ctrl+Z", "Undo"],
  ["Ctrl+Shift+Z / Ctrl+Y", "Redo"],
  ["Ctrl+C / Ctrl+X / Ctrl+V", "Copy, cut, paste nodes (JSON on the system clipboard, works across files)"],
  ["Ctrl+D", "Duplicate the selection"],
  ["Ctrl+A", "Select all nodes"],
  ["Delete / Backspace", "Delete the selection"],
  ["Shift+drag", "Box-select"],
  ["Ctrl+click", "Add to the selection"],
  ["Ctrl+S", "Save"],
  ["Ctrl+O", "Open a file"],
  ["Ctrl+Alt+N", "New graph"],
  ["Ctrl+L", "Auto-layout"],
  ["F", "Zoom to fit"],
  ["Escape", "Clear the selection / close a dialog"],
  ["?", "This help"],
];

function HelpDialog({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} testId="help-dialog">
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map(([k, v]) => (
            <tr key={k}>
              <td>
                <kbd>{k}</kbd>
              </td>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">Edges: drag from a node's round handle for a plain edge, from its diamond handle to add a labelled branch of its conditional edge. Select an edge to change its kind (plain, conditional, join).</p>
    </Modal>
  );
}

function ConnectDialog({ onClose }: { onClose: () => void }) {
  const conn = useEditor((s) => s.connection);
  const server = useEditor((s) => s.server);
  const [url, setUrl] = useState(conn.apiUrl);
  const [token, setToken] = useState(conn.token ?? "");
  const apply = async () => {
    useEditor.getState().setConnection({ apiUrl: trimSlash(url.trim()), token: token.trim() || null }, true);
    await checkServer();
  };
  return (
    <Modal title="Connect to a server" onClose={onClose} testId="connect-dialog">
      <p className="muted small">A Stategraph server (`stategraph dev` / `serve`) or a Python `langgraph dev`. The studio endpoints (validation, export, spec files) exist only on Stategraph; the editor works without them.</p>
      <div className="field">
        <label className="field-label">Server URL</label>
        <input data-testid="connect-url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="http://127.0.0.1:2024" />
      </div>
      <div className="field">
        <label className="field-label">Token (x-api-key)</label>
        <input data-testid="connect-token" type="password" value={token} onChange={(e) => setToken(e.target.value)} placeholder="none" />
      </div>
      <div className="row">
        <button className="primary" data-testid="connect-apply" onClick={() => void apply()}>
          Connect
        </button>
        <button
          onClick={() => {
            localStorage.removeItem("stategraph.connection");
            window.location.reload();
          }}
        >
          Reset to default
        </button>
      </div>
      <p data-testid="connect-status" className={`conn-status conn-${server.state}`}>
        {server.state}: {server.message}
      </p>
      {server.specsDir && <p className="muted small">Spec directory: {server.specsDir}{server.writable ? "" : " (read-only)"}</p>}
    </Modal>
  );
}

function ExportDialog({ format, onClose }: { format: ExportFormat; onClose: () => void }) {
  const [state, setState] = useState<{ content?: string; warnings?: string[]; error?: string }>({});
  useEffect(() => {
    let live = true;
    A.exportText(format).then(
      (r) => live && setState(r),
      (e: unknown) => live && setState({ error: describeError(`Export to ${format} failed`, e) }),
    );
    return () => {
      live = false;
    };
  }, [format]);
  const spec = useEditor.getState().history.present;
  const name = `${(spec.name || "graph").replace(/[^A-Za-z0-9_.-]+/g, "_")}.${A.EXPORT_EXT[format]}`;
  return (
    <Modal title={`Export: ${format}`} onClose={onClose} wide testId="export-dialog">
      {state.error && <p className="error" data-testid="export-error">{state.error}</p>}
      {state.warnings?.length ? (
        <ul className="warnings">
          {state.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      ) : null}
      {state.content === undefined && !state.error && <p className="muted">Exporting…</p>}
      {state.content !== undefined && (
        <>
          <pre className="export-content" data-testid="export-content" hidden>
            {state.content}
          </pre>
          <CodeEditor value={state.content} readOnly language={format === "python" ? "python" : format === "json" ? "json" : format === "yaml" ? "yaml" : undefined} maxHeight="60vh" />
          <div className="row">
            <button className="primary" data-testid="export-download" onClick={() => A.download(name, state.content ?? "", "text/plain")}>
              Download {name}
            </button>
            <button onClick={() => navigator.clipboard.writeText(state.content ?? "").catch(() => undefined)}>Copy</button>
          </div>
        </>
      )}
    </Modal>
  );
}

function OpenServerDialog({ onClose }: { onClose: () => void }) {
  const api = useEditor((s) => s.api);
  const [specs, setSpecs] = useState<SpecEntry[] | null>(null);
  const [assistants, setAssistants] = useState<Assistant[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.listSpecs().then(setSpecs, (e: unknown) =>
      e instanceof ApiError && e.unavailable ? setSpecs([]) : setError(describeError("Spec list", e)),
    );
    api.searchAssistants().then(setAssistants, () => setAssistants([]));
  }, [api]);
  const specGraphs = new Set((specs ?? []).map((s) => s.graph_id));
  const codeGraphs = (assistants ?? []).filter((a) => !specGraphs.has(a.graph_id));
  return (
    <Modal title="Open from server" onClose={onClose} testId="open-server-dialog">
      {error && <p className="error">{error}</p>}
      <h3>Specs</h3>
      {specs === null && !error && <p className="muted">Loading…</p>}
      {specs?.length === 0 && <p className="muted small">No specs in the server's directory.</p>}
      <ul className="list">
        {specs?.map((s) => (
          <li key={s.name}>
            <button
              className="link"
              data-testid={`open-spec-${s.name}`}
              onClick={() => {
                onClose();
                void A.openServerSpec(s.name);
              }}
            >
              {s.name}
            </button>{" "}
            <span className="muted small">{s.file}</span>
          </li>
        ))}
      </ul>
      <h3>Code-defined graphs</h3>
      {codeGraphs.length === 0 && <p className="muted small">None.</p>}
      <ul className="list">
        {codeGraphs.map((a) => (
          <li key={a.assistant_id}>
            <button
              className="link"
              onClick={() => {
                onClose();
                void A.openAssistantGraph(a.assistant_id, a.graph_id);
              }}
            >
              {a.graph_id}
            </button>{" "}
            <span className="muted small">read-only</span>
          </li>
        ))}
      </ul>
    </Modal>
  );
}

function SaveServerDialog({ onClose }: { onClose: () => void }) {
  const spec = useEditor((s) => s.history.present);
  const source = useEditor((s) => s.source);
  const [name, setName] = useState(source.kind === "server" ? source.name : (spec.name || "graph").replace(/[^A-Za-z0-9_-]+/g, "_"));
  const submit = async () => {
    if (await A.saveToServer(name.trim())) onClose();
  };
  return (
    <Modal title="Save to the server's spec directory" onClose={onClose} testId="save-server-dialog">
      <div className="field">
        <label className="field-label">Name (file stem)</label>
        <input data-testid="save-server-name" value={name} onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.key === "Enter" && void submit()} />
      </div>
      <button className="primary" data-testid="save-server-submit" onClick={() => void submit()}>
        Save
      </button>
    </Modal>
  );
}

function RecentDialog({ onClose }: { onClose: () => void }) {
  const [items, setItems] = useState<RecentEntry[]>(() => readRecent(localStorage));
  useEffect(() => {
    if (!isDesktop()) return;
    native
      .recentFiles()
      .then((paths) => {
        const known = new Set(items.map((i) => (i.source.kind === "native" ? i.source.path : "")));
        const extra = paths.filter((p) => !known.has(p)).map((p): RecentEntry => ({ source: { kind: "native", path: p }, title: p, openedAt: 0 }));
        setItems((cur) => [...cur, ...extra]);
      })
      .catch(() => undefined);
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  const open = (e: RecentEntry) => {
    onClose();
    const s = e.source;
    if (s.kind === "server") void A.openServerSpec(s.name);
    else if (s.kind === "native") void A.openNativePath(s.path);
    else useEditor.getState().toast(`Browsers cannot reopen ${e.title} by itself: use File → Open file.`, "error");
  };
  return (
    <Modal title="Recent files" onClose={onClose} testId="recent-dialog">
      {items.length === 0 && <p className="muted">Nothing opened yet.</p>}
      <ul className="list">
        {items.map((e, i) => (
          <li key={i}>
            <button className="link" data-testid={`recent-${i}`} onClick={() => open(e)}>
              {e.title}
            </button>{" "}
            <span className="muted small">{e.source.kind}{e.openedAt ? ` · ${new Date(e.openedAt).toLocaleString()}` : ""}</span>
          </li>
        ))}
      </ul>
    </Modal>
  );
}
