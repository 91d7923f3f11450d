// The studio shell: toolbar, palette, canvas, inspector, problems; plus the effects that connect
// to the server, validate, autosave and handle keyboard shortcuts.
import { useEffect, useState } from "react";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { Toolbar } from "./editor/Toolbar";
import { Palette } from "./editor/Palette";
import { Canvas } from "./editor/Canvas";
import { Inspector, deleteSelection } from "./editor/Inspector";
import { ProblemsPanel } from "./editor/ProblemsPanel";
import { Dialogs } from "./editor/Dialogs";
import { useEditor } from "./editor/store";
import * as A from "./editor/actions";
import { checkServer, scheduleValidation } from "./editor/server";
import { setCenterFn } from "./editor/focus";
import { readAutosave, writeAutosave, clearAutosave, type AutosaveRecord } from "./core/storage";
import { isDesktop, native } from "./desktop/native";
import { installTestHooks } from "./editor/test-hooks";
import { RunPanel } from "./run/RunPanel";
import { CanvasOverlay } from "./run/CanvasOverlay";
import { useRun } from "./run/store";
import { installRunHooks } from "./run/test-hooks";

const AUTOSAVE_MS = 3000;

function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (!t) return false;
  return t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable || !!t.closest(".cm-editor");
}

function useShortcuts() {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const st = useEditor.getState();
      const mod = e.ctrlKey || e.metaKey;
      const k = e.key.toLowerCase();
      // Save and open work everywhere, even while typing.
      if (mod && k === "s") {
        e.preventDefault();
        void A.save();
        return;
      }
      if (mod && k === "o") {
        e.preventDefault();
        if (isDesktop()) void A.openNative();
        else document.querySelector<HTMLInputElement>('[data-testid="open-file-input"]')?.click();
        return;
      }
      if (isTyping(e) || st.dialog) return;
      if (mod && k === "z" && !e.shiftKey) {
        e.preventDefault();
        st.undo();
      } else if (mod && ((k === "z" && e.shiftKey) || k === "y")) {
        e.preventDefault();
        st.redo();
      } else if (mod && k === "c") {
        e.preventDefault();
        void A.copy();
      } else if (mod && k === "x") {
        e.preventDefault();
        void A.copy(true);
      } else if (mod && k === "v") {
        e.preventDefault();
        void A.paste();
      } else if (mod && k === "d") {
        e.preventDefault();
        void A.copy().then(() => A.paste());
      } else if (mod && k === "a") {
        e.preventDefault();
        A.selectAll();
      } else if (mod && k === "l") {
        e.preventDefault();
        void A.autoLayout();
      } else if (mod && e.altKey && k === "n") {
        e.preventDefault();
        A.newSpec();
      } else if (!mod && (e.key === "Delete" || e.key === "Backspace")) {
        e.preventDefault();
        deleteSelection();
      } else if (!mod && e.key === "?") {
        st.openDialog("help");
      } else if (!mod && k === "f") {
        A.fitView();
      } else if (e.key === "Escape") {
        st.select([]);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

/** Validates on every change (debounced) and when the server comes up. */
function useValidation() {
  const spec = useEditor((s) => s.history.present);
  const server = useEditor((s) => s.server.state);
  useEffect(() => {
    if (server !== "unknown") scheduleValidation(spec);
  }, [spec, server]);
}

/** Writes unsaved work every few seconds (localStorage; the desktop app's data folder too). */
function useAutosave() {
  useEffect(() => {
    let last: unknown = null;
    const id = setInterval(() => {
      const s = useEditor.getState();
      const spec = s.history.present;
      if (spec === s.saved || spec === last || s.readOnly) return;
      last = spec;
      const rec: AutosaveRecord = { spec, source: s.source, savedAt: Date.now() };
      try {
        writeAutosave(localStorage, rec);
      } catch {
        // Storage full: the desktop copy below may still work.
      }
      if (isDesktop()) native.autosaveWrite("current", JSON.stringify(rec)).catch(() => undefined);
    }, AUTOSAVE_MS);
    return () => clearInterval(id);
  }, []);
}

function RestoreBanner() {
  const [rec, setRec] = useState<AutosaveRecord | null>(null);
  useEffect(() => {
    const local = readAutosave(localStorage);
    if (local) setRec(local);
    else if (isDesktop()) {
      native
        .autosaveRead("current")
        .then((t) => t && setRec(JSON.parse(t) as AutosaveRecord))
        .catch(() => undefined);
    }
  }, []);
  if (!rec) return null;
  const discard = () => {
    clearAutosave(localStorage);
    if (isDesktop()) native.autosaveClear("current").catch(() => undefined);
    setRec(null);
  };
  return (
    <div className="banner" data-testid="restore-banner">
      Unsaved work of “{rec.spec.name}” from {new Date(rec.savedAt).toLocaleString()} was found.
      <button
        className="primary"
        data-testid="restore-accept"
        onClick={() => {
          useEditor.getState().load(rec.spec, rec.source, { dirty: true });
          setRec(null);
        }}
      >
        Restore
      </button>
      <button data-testid="restore-discard" onClick={discard}>
        Discard
      </button>
    </div>
  );
}

function Toasts() {
  const toasts = useEditor((s) => s.toasts);
  return (
    <div className="toasts" data-testid="toasts">
      {toasts.map((t) => (
        <div key={t.id} className={`toast ${t.kind}`} onClick={() => useEditor.getState().dismissToast(t.id)}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

function FlowBridge() {
  const flow = useReactFlow();
  useEffect(() => {
    A.setFlowInstance(flow as never);
    setCenterFn((x, y) => void flow.setCenter(x, y, { zoom: Math.max(flow.getZoom(), 0.8), duration: 200 }));
    return () => {
      A.setFlowInstance(null);
      setCenterFn(null);
    };
  }, [flow]);
  return null;
}

export function App() {
  const theme = useEditor((s) => s.theme);
  const mode = useRun((s) => s.mode);
  useShortcuts();
  useValidation();
  useAutosave();
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  useEffect(() => {
    installTestHooks();
    installRunHooks();
    void checkServer().then(() => {
      // The desktop app passes a file to open at launch; a `#spec=<name>` link opens a server spec.
      const launch = window.__STATEGRAPH__?.open;
      if (launch) return void A.openLaunchFile(launch.path, launch.content);
      const m = /[#&]spec=([^&]+)/.exec(window.location.hash);
      if (m?.[1]) void A.openServerSpec(decodeURIComponent(m[1]));
    });
  }, []);
  return (
    <ReactFlowProvider>
      <FlowBridge />
      <CanvasOverlay />
      <div className="app">
        <Toolbar />
        <RestoreBanner />
        <div className={mode === "run" ? "main run-mode" : "main"}>
          {mode === "design" && <Palette />}
          <Canvas />
          {mode === "run" ? <RunPanel /> : <Inspector />}
        </div>
        <ProblemsPanel />
      </div>
      <Dialogs />
      <Toasts />
    </ReactFlowProvider>
  );
}
