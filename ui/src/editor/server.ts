// Talks to the connected server: status, node kinds, debounced validation.
import { useEditor, describeError } from "./store";
import { ApiError } from "../core/api";
import { FALLBACK_KINDS } from "./kinds";
import type { GraphSpec } from "../core/spec-types";

/** Checks the server and loads its node kinds (falls back to the built-in list). */
export async function checkServer(): Promise<void> {
  const st = useEditor.getState();
  const api = st.api;
  try {
    await api.ok();
  } catch (e) {
    st.setServer({ state: "down", message: describeError(`No server at ${api.connection.apiUrl}`, e), studio: false, writable: false });
    st.setKinds(FALLBACK_KINDS, false);
    st.setValidation("unavailable", "(no server)");
    return;
  }
  try {
    const info = await api.studioInfo();
    st.setServer({
      state: "connected",
      message: `Stategraph ${info.version} at ${api.connection.apiUrl}`,
      studio: true,
      writable: info.writable,
      specsDir: info.specs_dir,
    });
  } catch (e) {
    const missing = e instanceof ApiError && e.unavailable;
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      st.setServer({ state: "partial", message: `${api.connection.apiUrl} needs a token: enter it here`, studio: false, writable: false, specsDir: null });
      st.setKinds(FALLBACK_KINDS, false);
      st.openDialog("connect");
      return;
    }
    st.setServer({
      state: "partial",
      message: missing ? `${api.connection.apiUrl} has no studio API (a langgraph dev server?)` : describeError("Studio info", e),
      studio: false,
      writable: false,
      specsDir: null,
    });
  }
  try {
    const kinds = await api.nodeKinds();
    st.setKinds(kinds.length ? kinds : FALLBACK_KINDS, kinds.length > 0);
  } catch {
    st.setKinds(FALLBACK_KINDS, false);
  }
}

let timer: ReturnType<typeof setTimeout> | null = null;
let seq = 0;

/** Validates `spec` on the server after `delay` ms of quiet; stale answers are dropped. */
export function scheduleValidation(spec: GraphSpec, delay = 400) {
  if (timer) clearTimeout(timer);
  const st = useEditor.getState();
  if (st.server.state === "down" || (st.server.state === "partial" && !st.server.studio)) {
    st.setProblems([], "unavailable", st.server.state === "down" ? "(no server)" : "(the server has no /stategraph endpoints)");
    return;
  }
  st.setValidation("pending");
  const mine = ++seq;
  timer = setTimeout(async () => {
    try {
      const r = await useEditor.getState().api.validate(spec);
      if (mine !== seq || useEditor.getState().history.present !== spec) return;
      useEditor.getState().setProblems(r.problems, r.problems.length ? "problems" : "ok");
    } catch (e) {
      if (mine !== seq) return;
      const unavailable = e instanceof ApiError && e.unavailable;
      useEditor.getState().setProblems([], unavailable ? "unavailable" : "error", unavailable ? "" : describeError("", e));
    }
  }, delay);
}
